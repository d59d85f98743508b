"""Step 5 of the curation recipe: the translation-loss filter (scorer, FLORES calibration, datatrove block).

The scorer needs torch, so it is loaded on first use of its names: the block, its defaults and the
calibration import without torch (`xplus curate run` of a recipe without a loss step never loads it)."""

from xplus.curate.flores import Flores, FloresNotFoundError
from xplus.curate.loss.calibration import Calibrator, Threshold
from xplus.curate.loss.defaults import DEFAULT_MODEL, DIRECTIONS
from xplus.curate.loss.filter import STEP, LossFilter

_SCORER_NAMES = ("PairScorer", "plan_batches", "reference_losses")

__all__ = [
    "DEFAULT_MODEL", "DIRECTIONS", "STEP", "Calibrator", "Flores", "FloresNotFoundError", "LossFilter", "PairScorer",
    "Threshold", "plan_batches", "reference_losses",
]


def __getattr__(name: str):
    if name in _SCORER_NAMES:
        from xplus.curate.loss import scorer

        return getattr(scorer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
