"""Nothing lost: the funnel of a run and the check `input = output + sum(rejects)`.

Read from the per-task stats files (`stats/NNNNN.json`) that datatrove's executors write in each logging
folder. xplus readers and filters share datatrove's filter counters (`total`, `forwarded`, `dropped`,
`dropped_<reason>`), so every block says how many pairs came in, went on and were dropped, and why. When the
run's rejects folder is given, the rows on disk are counted too: a block that drops pairs without writing
them is caught as well; `run_funnel` also counts the rows in every output folder, so an output file that lost
rows after the run (or a writer that wrote fewer than it counted) fails the check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from xplus.curate.errors import DataError

READER, WRITER = "READER", "WRITER"
PROGRESS = "PROGRESS"  # xplus.pipelines.progress's pass-through meter: not a step of the funnel
CHAT_PREFIX = "chat-"  # output/chat-<layout>/ holds chat records; the other output folders hold pairs
HANDOFF_OUT, HANDOFF_IN = "🔀 handoff out", "🔀 handoff in"  # xplus.curate.handoff's block names


class AccountingError(DataError, RuntimeError):
    """The counts of a run do not reconcile: pairs were lost or invented (exit 1, no traceback)."""


def _count(value) -> int:
    """A datatrove stat is an int or a dict holding the running `total`."""
    return int(value["total"] if isinstance(value, dict) else value)


def _add_counts(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    """Counts by reason of two tasks added (a reason counted 0 stays)."""
    total = dict(first)
    for reason, n in second.items():
        total[reason] = total.get(reason, 0) + n
    return total


@dataclass
class BlockCount:
    """One pipeline block's share of the funnel."""

    name: str
    kind: str  # READER, WRITER or the block's other type
    total: int
    forwarded: int
    dropped: int
    reasons: dict[str, int] = field(default_factory=dict)
    records_out: int | None = None  # blocks that turn one pair into several records (templating)
    seconds: float = 0.0  # time datatrove measured in the block, all tasks together
    flagged: dict[str, int] = field(default_factory=dict)  # kept with a reason (`decision: flag`), by reason

    @classmethod
    def from_stats(cls, block: dict) -> BlockCount:
        name = block["name"]
        kind = READER if "READER" in name else WRITER if "WRITER" in name else name.split(":", 1)[0].strip()
        stats = block.get("stats", {})
        total = _count(stats.get("total", stats.get("documents", 0)))
        dropped = _count(stats.get("dropped", 0))
        forwarded = _count(stats.get("forwarded", total - dropped)) if kind != WRITER else total
        reasons = {k.removeprefix("dropped_"): _count(v) for k, v in stats.items() if k.startswith("dropped_")}
        flagged = {k.removeprefix("flagged_"): _count(v) for k, v in stats.items() if k.startswith("flagged_")}
        records_out = _count(stats["records_out"]) if "records_out" in stats else None
        timing = block.get("time_stats")
        seconds = float(timing.get("total", 0.0)) if isinstance(timing, dict) else 0.0
        return cls(name.split(":", 1)[-1].strip(), kind, total, forwarded, dropped, reasons, records_out, seconds,
                   flagged)

    def __add__(self, other: BlockCount) -> BlockCount:
        reasons, flagged = _add_counts(self.reasons, other.reasons), _add_counts(self.flagged, other.flagged)
        both_none = self.records_out is None and other.records_out is None
        records_out = None if both_none else (self.records_out or 0) + (other.records_out or 0)
        return BlockCount(self.name, self.kind, self.total + other.total, self.forwarded + other.forwarded,
                          self.dropped + other.dropped, reasons, records_out, self.seconds + other.seconds,
                          flagged)


@dataclass
class Funnel:
    """The blocks of a run in pipeline order, and the totals the invariant is about."""

    blocks: list[BlockCount]
    rejects_on_disk: int | None = None
    outputs_on_disk: dict[str, int] | None = None  # output folder name -> rows in its files

    @classmethod
    def from_logging_dirs(cls, *logging_dirs: str | Path, rejects_dir: str | Path | None = None) -> Funnel:
        """Sum the per-task stats (`stats/NNNNN.json`) of each logging folder, in pipeline order.

        Per-task files rather than the merged `stats.json`: after `--resume` the merged file only covers the
        tasks of the last launch. Every task the executor planned must have its file.
        """
        blocks: list[BlockCount] = []
        for folder in map(Path, logging_dirs):
            blocks += _merged_blocks(folder)
        on_disk = count_reject_rows(rejects_dir) if rejects_dir is not None else None
        return cls(blocks, on_disk)

    @property
    def input(self) -> int:
        return sum(b.total for b in self.blocks if b.kind == READER)

    @property
    def expander(self) -> BlockCount | None:
        """The block that turns pairs into several records each (templating), if the run has one."""
        return next((b for b in reversed(self.blocks) if b.records_out is not None), None)

    def _writers(self, after_expander: bool) -> list[BlockCount]:
        cut = self.blocks.index(self.expander) if self.expander is not None else len(self.blocks)
        return [b for i, b in enumerate(self.blocks) if b.kind == WRITER and (i > cut) == after_expander]

    @property
    def output(self) -> int:
        """Pairs that reached the end: those the templater took in, else what the pair writers wrote."""
        if self.expander is not None:
            return self.expander.forwarded
        writers = self._writers(after_expander=False)
        return writers[0].total if writers else 0

    @property
    def rejected(self) -> int:
        return sum(b.dropped for b in self.blocks if b.kind != WRITER)

    def problems(self) -> list[str]:
        found = []
        if self.input != self.output + self.rejected:
            found.append(f"input {self.input} != output {self.output} + rejects {self.rejected} "
                         f"(difference {self.input - self.output - self.rejected})")
        # every writer sees every pair (before templating) or every chat record (after it)
        expected = [(w, self.output) for w in self._writers(after_expander=False)]
        if self.expander is not None:
            expected += [(w, self.expander.records_out) for w in self._writers(after_expander=True)]
        for writer, count in expected:
            if writer.total != count:
                found.append(f"{writer.name} wrote {writer.total} rows, expected {count}")
        handed = {name: sum(b.total for b in self.blocks if b.name == name) for name in (HANDOFF_OUT, HANDOFF_IN)}
        if handed[HANDOFF_OUT] != handed[HANDOFF_IN]:
            found.append(f"{handed[HANDOFF_OUT]} pairs handed to the next stage, {handed[HANDOFF_IN]} arrived")
        for block in self.blocks:
            if block.kind != WRITER and block.total != block.forwarded + block.dropped:
                found.append(f"{block.name}: total {block.total} != forwarded {block.forwarded} + "
                             f"dropped {block.dropped}")
            if sum(block.reasons.values()) != block.dropped:
                found.append(f"{block.name}: {block.dropped} dropped but reasons add up to "
                             f"{sum(block.reasons.values())}")
        if self.rejects_on_disk is not None and self.rejects_on_disk != self.rejected:
            found.append(f"rejects files hold {self.rejects_on_disk} rows, stats count {self.rejected} rejects")
        return found + self._output_problems()

    def _output_problems(self) -> list[str]:
        """Rows on disk in each output folder against the stats: pairs, or chat records in `chat-*` folders."""
        if self.outputs_on_disk is None:
            return []
        found = []
        chats = {name: n for name, n in self.outputs_on_disk.items() if name.startswith(CHAT_PREFIX)}
        pairs = {name: n for name, n in self.outputs_on_disk.items() if name not in chats}
        for folders, writers, expected, what in (
                (pairs, self._writers(after_expander=False), self.output, "pairs"),
                (chats, self._writers(after_expander=True) if self.expander else [],
                 self.expander.records_out if self.expander else 0, "chat records")):
            if len(folders) != len(writers):
                found.append(f"output/ holds {len(folders)} folder(s) of {what}, the run's stats {len(writers)} "
                             f"writer(s)")
            found += [f"output/{name} holds {rows} rows on disk, stats count {expected} {what}"
                      for name, rows in sorted(folders.items()) if rows != expected]
        return found

    def check(self) -> Funnel:
        """Raise `AccountingError` listing every count that does not reconcile."""
        if problems := self.problems():
            raise AccountingError("pair accounting failed:\n  " + "\n  ".join(problems))
        return self

    def table(self) -> str:
        """The funnel as a Markdown table: pairs into and out of each block, drops by reason."""
        rows = ["| block | in | out | dropped | time (s) | reasons |", "|---|---:|---:|---:|---:|---|"]
        for b in self.blocks:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(b.reasons.items(), key=lambda kv: -kv[1]))
            if b.flagged:
                kept = ", ".join(f"{k} {v}" for k, v in sorted(b.flagged.items(), key=lambda kv: -kv[1]))
                reasons = f"{reasons}; flagged (kept): {kept}" if reasons else f"flagged (kept): {kept}"
            if b.records_out is not None:
                reasons = f"{b.records_out} chat records out"
            seconds = f"{b.seconds:.2f}" if b.seconds else "-"
            rows.append(f"| {b.name} | {b.total} | {b.forwarded} | {b.dropped} | {seconds} | {reasons} |")
        ok = "OK" if not self.problems() else "FAILED"
        rows.append(f"\naccounting {ok}: input {self.input} = output {self.output} + rejects {self.rejected}")
        if self.expander is not None:
            rows[-1] += f" (pairs; {self.expander.records_out} chat records written)"
        return "\n".join(rows)


def stage_logging_dirs(run_dir: str | Path) -> list[Path]:
    """The logging folders of a run's stages (`<run>/logs/<NN>-<stage>/`), in stage order."""
    logs = Path(run_dir) / "logs"
    return sorted(p for p in logs.iterdir() if p.is_dir()) if logs.is_dir() else []


def run_funnel(run_dir: str | Path) -> Funnel:
    """The funnel of a run folder laid out by `xplus curate run` (`logs/<NN>-<stage>/`, `rejects/`)."""
    stages = stage_logging_dirs(run_dir)
    if not stages:
        raise AccountingError(f"{run_dir}: no stage logs under logs/: not a run folder, or the run never started")
    funnel = Funnel.from_logging_dirs(*stages, rejects_dir=Path(run_dir) / "rejects")
    output = Path(run_dir) / "output"
    funnel.outputs_on_disk = {folder.name: count_output_rows(folder) for folder in sorted(output.iterdir())
                              if folder.is_dir()} if output.is_dir() else {}
    return funnel


def _merged_blocks(folder: Path) -> list[BlockCount]:
    executor = folder / "executor.json"
    world_size = json.loads(executor.read_text())["world_size"] if executor.exists() else None
    task_files = sorted((folder / "stats").glob("*.json"))
    if not task_files or (world_size is not None and len(task_files) != world_size):
        raise AccountingError(f"{folder}: stats of {len(task_files)} task(s) found, {world_size or '?'} planned: "
                              f"the run is not complete (rerun with --resume)")
    merged: list[BlockCount] = []
    for task_file in task_files:
        blocks = [BlockCount.from_stats(b) for b in json.loads(task_file.read_text()) if PROGRESS not in b["name"]]
        merged = blocks if not merged else [a + b for a, b in zip(merged, blocks, strict=True)]
    return merged


def _jsonl_rows(path: Path) -> int:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return sum(1 for _ in f)


def count_reject_rows(rejects_dir: str | Path) -> int:
    """Rows in all rejects files under `rejects_dir` (JSONL, optionally gzip)."""
    return sum(_jsonl_rows(path) for path in Path(rejects_dir).rglob("*.jsonl*"))


def count_output_rows(folder: str | Path) -> int:
    """Rows in the JSONL (optionally gzip) and parquet files of one output folder."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    return (sum(_jsonl_rows(path) for path in folder.rglob("*.jsonl*"))
            + sum(pq.ParquetFile(path).metadata.num_rows for path in folder.rglob("*.parquet")))
