"""Unify + clean throughput against datatrove's floor, in one run on one process.

Input: the real samples in ../shared/data (GlobalVoices en-sw, TICO-19 en-sw and en-zh, ParaCrawl en-de,
Tatoeba), replicated to at least 200k pairs. Measured, each on the same pairs:

- floor:  datatrove `JsonlReader -> JsonlWriter` over the pairs as JSONL (text + target in metadata)
- unify:  `MosesReader -> BitextJsonlWriter`
- unify+clean: `MosesReader -> Cleaner -> BitextJsonlWriter` (the cleaner's rejects written too)

Usage: python bench/unify_clean.py [--pairs 200000] [--repeat 3] [--out bench/results/unify_clean.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from xplus.curate.clean import Cleaner
from xplus.curate.readers.moses import MosesReader
from xplus.curate.writers import BitextJsonlWriter, rejects_writer
from xplus.pipelines.shared_data import shared_data_dir

SHARED = shared_data_dir() / "bitext"
SOURCES = [  # (folder, source file, target file)
    ("opus-globalvoices/en-sw", "GlobalVoices.en", "GlobalVoices.sw"),
    ("tico19/eng-swa", "tico19-test.eng", "tico19-test.swa"),
    ("tico19/eng-zho", "tico19-test.eng", "tico19-test.zho"),
    ("tatoeba-laser-v1/deu-eng", "tatoeba.deu-eng.eng", "tatoeba.deu-eng.deu"),
]


def real_pairs() -> list[tuple[str, str]]:
    pairs = []
    for folder, src, tgt in SOURCES:
        src_lines = (SHARED / folder / src).read_text(encoding="utf-8").split("\n")
        tgt_lines = (SHARED / folder / tgt).read_text(encoding="utf-8").split("\n")
        pairs += zip(src_lines, tgt_lines, strict=True)
    with open(SHARED / "paracrawl-v3-labelled/en-de/sorted.en-de", encoding="utf-8") as f:
        pairs += [(cols[2], cols[3]) for cols in (line.rstrip("\n").split("\t") for line in f)]
    return pairs


def write_inputs(pairs: list[tuple[str, str]], n: int, folder: Path) -> int:
    """Replicate the real pairs to >= n and write them as a Moses pair and as JSONL."""
    copies = -(-n // len(pairs))
    (folder / "moses").mkdir(parents=True)
    (folder / "jsonl").mkdir()
    with (open(folder / "moses/bench.en", "w") as src, open(folder / "moses/bench.xx", "w") as tgt,
          open(folder / "jsonl/bench.jsonl", "w") as js):
        for copy in range(copies):
            for i, (s, t) in enumerate(pairs):
                src.write(s.replace("\n", " ") + "\n")
                tgt.write(t.replace("\n", " ") + "\n")
                js.write(json.dumps({"text": s, "id": f"{copy}-{i}", "metadata": {"tgt_line": t}},
                                    ensure_ascii=False) + "\n")
    return copies * len(pairs)


def timed(make_pipeline, work: Path, repeat: int) -> float:
    """Best wall time of `repeat` runs (fresh blocks and folders each time)."""
    best = float("inf")
    for _ in range(repeat):
        shutil.rmtree(work / "out", ignore_errors=True)
        started = time.perf_counter()
        LocalPipelineExecutor(make_pipeline(work / "out"), tasks=1, workers=1, logging_dir=str(work / "out/logs")).run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per pipeline; the best time counts")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "unify_clean.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xplus-bench-"))
    try:
        n = write_inputs(real_pairs(), args.pairs, work)
        moses = work / "moses"
        # "xx" stands in for the mixed target languages: the record needs one code, the blocks ignore it here
        runs = {
            "floor: datatrove JsonlReader -> JsonlWriter": lambda out: [
                JsonlReader(str(work / "jsonl")), JsonlWriter(str(out / "data"), compression=None)],
            "unify: MosesReader -> BitextJsonlWriter": lambda out: [
                MosesReader(moses, "en", "de", tgt_suffix="xx"), BitextJsonlWriter(out / "data")],
            "unify+clean: MosesReader -> Cleaner -> BitextJsonlWriter": lambda out: [
                MosesReader(moses, "en", "de", tgt_suffix="xx"),
                Cleaner(exclusion_writer=rejects_writer(out, "clean")),
                BitextJsonlWriter(out / "data")],
        }
        seconds = {name: timed(make, work, args.repeat) for name, make in runs.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    floor = next(iter(seconds.values()))
    lines = [
        f"# Unify + clean throughput ({n:,} real pairs, replicated; 1 process)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Best of {args.repeat} runs each. "
        f"Command: `python bench/unify_clean.py --pairs {args.pairs}`",
        "",
        "| pipeline | seconds | pairs/s | cost vs floor |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {s:.2f} | {n / s:,.0f} | {s / floor:.2f}x |" for name, s in seconds.items()]
    table = "\n".join(lines) + "\n"
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)


if __name__ == "__main__":
    main()
