"""Step 5 of the curation recipe: drop pairs a translation model finds unlikely.

`LossFilter` scores every pair with a seq2seq translation model (NLLB-200 distilled 600M by default): the mean
token NLL of the target given the source (`xplus.curate.loss.scorer`). Misaligned pairs, wrong-language
targets, truncated or machine-garbled translations all score high. The threshold is per direction, the 90th
percentile of the same loss on FLORES dev (`xplus.curate.loss.calibration`), computed on the first batch of
each direction the worker meets, or given explicitly. Every pair keeps its `loss` in metadata, kept or not.

The model loads lazily in the worker (datatrove pickles blocks to ship them), on `cuda:{rank % GPUs}` when
there is a GPU: run one task per GPU.
"""

from __future__ import annotations

import os

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import BatchFilter
from xplus.curate.flores import FLORES_PLUS, Flores, parse_direction
from xplus.curate.languages import get_language
from xplus.curate.loss.calibration import DEFAULT_CACHE_DIR, Calibrator, Threshold
from xplus.curate.loss.defaults import DEFAULT_MODEL, DIRECTIONS
from xplus.curate.record import languages, mark_rejected, sides

STEP = "loss"
LOSS = "loss"


class LossFilter(BatchFilter):
    """Drop pairs whose translation loss is above their direction's FLORES-calibrated threshold.

    Args:
        model: Hub id or local folder of an NLLB/M2M100-compatible seq2seq model
        revision: Hub revision of the model (pin it for reproducible runs)
        percentile: FLORES loss percentile that becomes the threshold (paper: 90)
        directions: "forward" scores the target given the source; "both" averages both directions
        thresholds: explicit thresholds by direction (`{"eng_Latn-swh_Latn": 3.9}`); others are calibrated
        flores_dir: local FLORES folder (FLORES-200, FLORES-101 or `<split>/<code>.txt` layout); None: the Hub
        flores_split: FLORES split to calibrate on
        flores_hub_dataset, flores_hub_revision: the Hub dataset when there is no `flores_dir`
        cache_dir: threshold cache; None caches nothing
        thresholds_folder: where each task writes the thresholds it used (`<rank>.json`), e.g. `<run>/loss`
        device: torch device; None: the task's GPU, else the CPU
        max_tokens: padded tokens per model batch
        window: pairs sorted by length together (at most a datatrove batch)
        exclusion_writer: where dropped pairs go (step `loss`)
        batch_size: pairs per datatrove batch
    """

    name = "📉 Translation loss"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        revision: str | None = None,
        percentile: float = 90.0,
        directions: str = "forward",
        thresholds: dict[str, float] | None = None,
        flores_dir: str | os.PathLike | None = None,
        flores_split: str = "dev",
        flores_hub_dataset: str = FLORES_PLUS,
        flores_hub_revision: str | None = None,
        cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
        thresholds_folder: DataFolderLike | os.PathLike | None = None,
        device: str | None = None,
        max_tokens: int = 16_384,
        window: int = 10_000,
        exclusion_writer: DiskWriter | None = None,
        batch_size: int = 2048,
    ):
        super().__init__(exclusion_writer, batch_size)
        if not 0 < percentile <= 100:
            raise ValueError(f"percentile must be in (0, 100], got {percentile}")
        if directions not in DIRECTIONS:
            raise ValueError(f"directions must be one of {DIRECTIONS}, got {directions!r}")
        for direction in thresholds or {}:
            parse_direction(direction)  # fail at construction, not in the worker
        self.model_name, self.revision = model, revision
        self.percentile, self.directions, self.thresholds = percentile, directions, dict(thresholds or {})
        self.flores = Flores(os.fspath(flores_dir) if flores_dir is not None else None, flores_split,
                             flores_hub_dataset, flores_hub_revision)
        self.cache_dir, self.thresholds_folder = cache_dir, thresholds_folder
        self.device, self.max_tokens, self.window = device, max_tokens, window
        self._calibrator: Calibrator | None = None
        self._rank = 0

    def calibrator(self, rank: int = 0) -> Calibrator:
        """The worker's model, scorer and thresholds, loaded on first use."""
        if self._calibrator is None:
            from xplus.curate.loss.scorer import PairScorer, worker_device  # torch: in the worker, not at import

            scorer = PairScorer.from_pretrained(self.model_name, self.revision, self.device or worker_device(rank),
                                                max_tokens=self.max_tokens, window=self.window)
            self._calibrator = Calibrator(scorer, self.flores, self.percentile, self.directions, self.thresholds,
                                          self.cache_dir)
        return self._calibrator

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._rank = rank
        yield from super().run(data, rank, world_size)
        if self.thresholds_folder is not None and self._calibrator is not None:
            self._calibrator.write_table(self.thresholds_folder, f"{rank:05d}.json")

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        calibrator = self.calibrator(self._rank)
        codes = [tuple(get_language(code).flores200 for code in languages(doc)) for doc in batch]
        for direction in dict.fromkeys(codes):
            calibrator.threshold(*direction)  # calibrate (or fail) before the batch is scored
        pairs = [(*sides(doc), src, trg) for doc, (src, trg) in zip(batch, codes, strict=True)]
        losses = calibrator.scorer.losses(pairs, self.directions)
        return [self.decide(doc, float(loss), calibrator.threshold(*direction))
                for doc, loss, direction in zip(batch, losses, codes, strict=True)]

    def decide(self, doc: Document, loss: float, threshold: Threshold) -> bool | tuple[bool, str]:
        doc.metadata[LOSS] = loss
        if loss > threshold.value:
            self.stat_update(f"high_loss_{threshold.src}-{threshold.trg}")
            mark_rejected(doc, STEP, "high_loss", f"loss {loss:.2f} > threshold {threshold.value:.2f} "
                                                  f"({threshold.direction}, {threshold.source})")
            return False, "high_loss"
        self.stat_update(f"kept_{threshold.src}-{threshold.trg}")
        return True
