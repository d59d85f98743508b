"""Progress of a run's stages: bars (count, rate, ETA) on a terminal, periodic lines otherwise.

The runner puts two pass-through `ProgressMeter`s in a stage: one right after its readers (`in`: datatrove
pipelines are pulled, so the pairs it has seen are the pairs the stage has taken in) and one before its
writers (`out`: the pairs that passed every step). The stage's size is known when an earlier stage handed it
the pairs (`expected_pairs`); for a stage that reads the sources it is estimated from the inputs' size
(`input_bytes`) over the bytes per pair seen so far, so its ETA is marked `~`. The `out` meter's total is what
came in (an upper bound: later steps drop some). A step that holds every pair before passing any on (the
single-node dedup) leaves both meters still for a while: a heartbeat (the task's last meter's) then prints
the current line at the same interval. The meters update no stat (the accounting leaves them out of the funnel).
"""

from __future__ import annotations

import sys
import threading
import time

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from tqdm import tqdm

#: pairs between two looks at the clock (a fixed count: what is printed never depends on machine speed)
CHECK_EVERY = 1000


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class ProgressMeter(PipelineStep):
    """Counts the pairs passing one point of a stage; shows count, rate and ETA (tqdm on a terminal, else a
    line every `interval_s` seconds and one when the task ends).

    Args:
        stage: the stage's name, shown on every line
        expected_pairs: pairs the whole stage will see (all tasks), when an earlier stage counted them
        input_bytes: size of the inputs the stage reads (all tasks), to estimate the pairs when not counted
        interval_s: seconds between two lines when stderr is not a terminal (0: at every check, no heartbeat)
        tty: force the terminal (True) or the line (False) display; None: ask stderr
        upstream: the stage's `in` meter, for an `out` meter (its total is what came in)
    """

    name = "⏱ progress"
    type = "⏱ - PROGRESS"

    def __init__(self, stage: str, expected_pairs: int | None = None, input_bytes: int | None = None,
                 interval_s: float = 30.0, tty: bool | None = None, upstream: ProgressMeter | None = None):
        super().__init__()
        self.stage, self.expected_pairs, self.input_bytes = stage, expected_pairs, input_bytes
        self.interval_s, self.tty, self.upstream = interval_s, tty, upstream
        self.has_out = False  # an `out` meter follows (and keeps the heartbeat)
        if upstream is not None:
            upstream.has_out = True
        self.label = f"{stage} out" if upstream is not None else stage
        self.pairs = self.pair_bytes = self.printed_pairs = 0
        self.started = self.last_line = 0.0
        self.done = False
        self._stop: threading.Event | None = None  # made in the worker (blocks are pickled to reach it)

    def total(self, world_size: int) -> tuple[int | None, bool]:
        """This task's expected pairs here, and whether that is an estimate."""
        if self.upstream is not None:
            if self.upstream.done:
                return self.upstream.pairs, True
            return self.upstream.total(world_size)[0], True
        if self.expected_pairs is not None:
            return -(-self.expected_pairs // world_size), False
        if self.input_bytes and self.pairs and self.pair_bytes:
            return max(self.pairs, round(self.input_bytes / world_size / (self.pair_bytes / self.pairs))), True
        return None, True

    def line(self, rank: int, world_size: int, final: bool = False) -> str:
        elapsed = time.monotonic() - self.started
        # pairs a step held come out in a burst: an out rate over less than a second says nothing yet
        rate = self.pairs / elapsed if elapsed > 0 and (self.upstream is None or elapsed >= 1.0) else 0.0
        total, estimated = (None, False) if final else self.total(world_size)
        approx = "~" if estimated else ""
        line = f"xplus progress | {self.label} | task {rank + 1}/{world_size} | {self.pairs:,} pairs"
        if total:
            line += f" of {approx}{total:,} ({approx}{min(self.pairs / total, 1):.0%})"
        line += f" | {rate:,.0f} pairs/s" if rate else ""
        if total and rate > 0 and self.pairs < total:
            line += f" | ETA {approx}{_duration((total - self.pairs) / rate)}"
        return line + (" | done" if final else "")

    def _print(self, meter: ProgressMeter, text: str) -> None:
        self.last_line = meter.last_line = time.monotonic()
        meter.printed_pairs = meter.pairs
        print(text, file=sys.stderr, flush=True)

    def _heartbeat(self, stop: threading.Event, rank: int, world_size: int) -> None:
        """While no meter of the task has printed for `interval_s`, print the current one's line."""
        meters = [self] if self.upstream is None else [self.upstream, self]
        while not stop.wait(self.interval_s):
            if time.monotonic() - max(m.last_line for m in meters) >= self.interval_s:
                meter = self if self.upstream is None or self.upstream.done else self.upstream
                still = " | steps still working" if meter.pairs == meter.printed_pairs else ""
                self._print(meter, meter.line(rank, world_size) + still)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        tty = sys.stderr.isatty() if self.tty is None else self.tty
        self.started = self.last_line = time.monotonic()
        self._stop = threading.Event()
        if not tty and not self.has_out and self.interval_s > 0:
            threading.Thread(target=self._heartbeat, args=(self._stop, rank, world_size), daemon=True).start()
        try:
            yield from self._count(data, tty, rank, world_size)
        except BaseException:
            self._stop.set()
            raise
        self.done = True
        self._stop.set()
        if not tty:
            self._print(self, self.line(rank, world_size, final=True))

    def _count(self, data: DocumentsPipeline, tty: bool, rank: int, world_size: int) -> DocumentsPipeline:
        position = 2 * rank + (self.upstream is not None)  # a task's in and out bars on two lines of their own
        with tqdm(desc=f"{self.label} {rank + 1}/{world_size}", unit="pair", disable=not tty, dynamic_ncols=True,
                  position=position, leave=True, file=sys.stderr) as bar:
            for doc in data:
                if self.upstream is not None and not self.pairs:
                    self.started = time.monotonic()  # the rate out: from the first pair out (steps may hold them)
                self.pairs += 1
                if self.upstream is None:
                    self.pair_bytes += len(doc.text.encode()) + len(str(doc.metadata.get("tgt_line", "")).encode()) + 2
                if self.pairs % CHECK_EVERY == 0:
                    if tty:
                        bar.total = self.total(world_size)[0]
                        bar.update(self.pairs - bar.n)
                    elif time.monotonic() - self.last_line >= self.interval_s:
                        self._print(self, self.line(rank, world_size))
                yield doc
            bar.total = self.pairs
            bar.update(self.pairs - bar.n)
