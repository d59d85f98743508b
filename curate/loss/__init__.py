"""Step 5 of the curation recipe: the translation-loss filter (scorer, FLORES calibration, datatrove block)."""

from xplus.curate.loss.calibration import Calibrator, Flores, FloresNotFoundError, Threshold
from xplus.curate.loss.filter import STEP, LossFilter
from xplus.curate.loss.scorer import DEFAULT_MODEL, PairScorer, plan_batches, reference_losses

__all__ = [
    "DEFAULT_MODEL", "STEP", "Calibrator", "Flores", "FloresNotFoundError", "LossFilter", "PairScorer", "Threshold",
    "plan_batches", "reference_losses",
]
