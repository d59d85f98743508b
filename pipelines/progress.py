"""Progress of a run's stages: a bar (count, rate, ETA) on a terminal, one periodic line otherwise.

`ProgressMeter` is a pass-through block the runner puts right after a stage's readers: datatrove pipelines
are pulled, so the pairs it has seen are the pairs the stage has taken in. The stage's size is known when
an earlier stage handed it the pairs (`expected_pairs`); for a stage that reads the sources it is estimated
from the inputs' size (`input_bytes`) over the bytes per pair seen so far, so its ETA is marked `~`. The
meter updates no stat (the accounting leaves it out of the funnel).
"""

from __future__ import annotations

import sys
import time

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from tqdm import tqdm

#: pairs between two looks at the clock (a fixed count: what is printed never depends on machine speed)
CHECK_EVERY = 1000


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class ProgressMeter(PipelineStep):
    """Counts the pairs a stage takes in; shows count, rate and ETA (tqdm on a terminal, else a line every
    `interval_s` seconds and one when the task ends).

    Args:
        stage: the stage's name, shown on every line
        expected_pairs: pairs the whole stage will see (all tasks), when an earlier stage counted them
        input_bytes: size of the inputs the stage reads (all tasks), to estimate the pairs when not counted
        interval_s: seconds between two lines when stderr is not a terminal (0: at every check)
        tty: force the terminal (True) or the line (False) display; None: ask stderr
    """

    name = "⏱ progress"
    type = "⏱ - PROGRESS"

    def __init__(self, stage: str, expected_pairs: int | None = None, input_bytes: int | None = None,
                 interval_s: float = 30.0, tty: bool | None = None):
        super().__init__()
        self.stage, self.expected_pairs, self.input_bytes = stage, expected_pairs, input_bytes
        self.interval_s, self.tty = interval_s, tty

    def _total(self, pairs: int, pair_bytes: int, world_size: int) -> tuple[int | None, bool]:
        """The task's expected pairs and whether that is an estimate."""
        if self.expected_pairs is not None:
            return -(-self.expected_pairs // world_size), False
        if self.input_bytes and pairs and pair_bytes:
            return max(pairs, round(self.input_bytes / world_size / (pair_bytes / pairs))), True
        return None, True

    def _line(self, pairs: int, elapsed: float, total: int | None, estimated: bool, rank: int, world: int) -> str:
        rate = pairs / elapsed if elapsed > 0 else 0.0
        approx = "~" if estimated else ""
        line = f"xplus progress | {self.stage} | task {rank + 1}/{world} | {pairs:,} pairs"
        if total:
            line += f" of {approx}{total:,} ({approx}{min(pairs / total, 1):.0%})"
        line += f" | {rate:,.0f} pairs/s"
        if total and rate > 0 and pairs < total:
            line += f" | ETA {approx}{_duration((total - pairs) / rate)}"
        return line

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        tty = sys.stderr.isatty() if self.tty is None else self.tty
        started = last = time.monotonic()
        pairs = pair_bytes = 0
        with tqdm(desc=f"{self.stage} {rank + 1}/{world_size}", unit="pair", disable=not tty, dynamic_ncols=True,
                  position=rank if world_size > 1 else None, leave=True, file=sys.stderr) as bar:
            for doc in data:
                pairs += 1
                pair_bytes += len(doc.text.encode()) + len(str(doc.metadata.get("tgt_line", "")).encode()) + 2
                if pairs % CHECK_EVERY == 0:
                    total, estimated = self._total(pairs, pair_bytes, world_size)
                    if tty:
                        bar.total = total
                        bar.update(pairs - bar.n)
                    elif (now := time.monotonic()) - last >= self.interval_s:
                        last = now
                        print(self._line(pairs, now - started, total, estimated, rank, world_size),
                              file=sys.stderr, flush=True)
                yield doc
            bar.total = pairs
            bar.update(pairs - bar.n)
        if not tty:
            print(self._line(pairs, time.monotonic() - started, None, False, rank, world_size) + " | done",
                  file=sys.stderr, flush=True)
