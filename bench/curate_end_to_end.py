"""Curation end to end: the demo and a >= 200k-pair run, per-block time and pairs/s; local vs SLURM overhead.

- demo: `xplus curate run demo` (the bundled sample, steps 1-4 and 6; the loss step needs a model)
- big: the recipe's default CPU steps (clean, length, consistency, untranslated, dedup, lid, decontaminate
  against the shared FLORES-200, template) over >= 200k pairs made from real ones (../shared/data GlobalVoices,
  TICO-19, Tatoeba, ELRC): pair k joins two real pairs of the same direction (source i + source j, target i +
  target j), so the pairs are real text, distinct (not near-duplicates the dedup would remove), about twice as
  long; 1 task
- SLURM (when a cluster answers `scontrol ping`): the demo with 2 tasks on the local executor and on SLURM,
  wall time of each (the SLURM time includes scheduling, 4 dependent stages and the waits)

Per-block time is datatrove's own (time_stats of each block, summed over tasks); readers hand out pairs lazily,
so their reading time shows up in the wall time, not in their own row.

Usage: python bench/curate_end_to_end.py [--pairs 200000] [--out bench/results/curate_end_to_end.md]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from xplus.curate.accounting import run_funnel, stage_logging_dirs
from xplus.pipelines.cli import main as xplus
from xplus.pipelines.shared_data import shared_data_dir

SHARED = shared_data_dir() / "bitext"
SOURCES = [  # (folder, source file, target file, source lang, target lang)
    ("opus-globalvoices/en-sw", "GlobalVoices.en", "GlobalVoices.sw", "en", "sw"),
    ("tico19/eng-swa", "tico19-test.eng", "tico19-test.swa", "en", "sw"),
    ("tico19/eng-zho", "tico19-test.eng", "tico19-test.zho", "en", "zh"),
    ("tatoeba-laser-v1/deu-eng", "tatoeba.deu-eng.eng", "tatoeba.deu-eng.deu", "en", "de"),
    ("opus-elrc-2922/en-ru", "ELRC_2922.en-ru.en", "ELRC_2922.en-ru.ru", "en", "ru"),
]
STEPS = ("steps:\n  clean: {}\n  length: {}\n  consistency: {}\n  untranslated: {}\n  dedup: {}\n  lid: {}\n"
         "  decontaminate: {}\n  template: {}\n")


def big_recipe(work: Path, n: int) -> tuple[Path, int]:
    """>= n distinct pairs joined from real ones (one folder per direction); returns the recipe and the count."""
    per_source = -(-n // len(SOURCES))
    rng = random.Random(0)
    sources, total = [], 0
    for i, (folder, src, tgt, src_lang, tgt_lang) in enumerate(SOURCES):
        src_lines = (SHARED / folder / src).read_text(encoding="utf-8").split("\n")
        tgt_lines = (SHARED / folder / tgt).read_text(encoding="utf-8").split("\n")
        out = work / "data" / f"s{i}"
        out.mkdir(parents=True)
        with open(out / f"x.{src_lang}", "w") as fs, open(out / f"x.{tgt_lang}", "w") as ft:
            for _ in range(per_source):
                a, b = rng.randrange(len(src_lines)), rng.randrange(len(src_lines))
                fs.write(f"{src_lines[a]} {src_lines[b]}".strip() + "\n")
                ft.write(f"{tgt_lines[a]} {tgt_lines[b]}".strip() + "\n")
        total += per_source
        sources.append(f"  - reader: moses\n    path: {out}\n    src_lang: {src_lang}\n    tgt_lang: {tgt_lang}\n")
    recipe = work / "big.yaml"
    recipe.write_text(f"name: big\nflores: {shared_data_dir() / 'flores200'}\nsources:\n" + "".join(sources) + STEPS
                      + "output:\n  formats: [jsonl]\n")
    return recipe, total


def run(recipe: str, out: Path, *flags: str) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert xplus(["curate", "run", recipe, "-o", str(out), "--overwrite", *flags]) == 0
    return time.perf_counter() - started


def block_times(run_dir: Path) -> list[tuple[str, int, float]]:
    """(block, pairs in, seconds) per block, summed over the tasks of every stage."""
    rows: dict[str, list] = {}
    for stage in stage_logging_dirs(run_dir):
        for task in sorted((stage / "stats").glob("*.json")):
            for block in json.loads(task.read_text()):
                name = block["name"].split(":", 1)[-1].strip()
                total = block["stats"].get("total", 0)
                total = total["total"] if isinstance(total, dict) else total
                row = rows.setdefault(name, [0, 0.0])
                row[0] += total
                time_total = block["time_stats"]
                row[1] += time_total["total"] if isinstance(time_total, dict) else time_total
    return [(name, n, s) for name, (n, s) in rows.items()]


def table(title: str, run_dir: Path, wall: float) -> list[str]:
    funnel = run_funnel(run_dir).check()
    lines = [f"### {title}: {funnel.input:,} pairs in, {funnel.output:,} out, {wall:.1f} s wall "
             f"({funnel.input / wall:,.0f} pairs/s)", "",
             "| block | pairs in | seconds | pairs/s |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {n:,} | {s:.2f} | {n / s:,.0f} |" if s > 0 else f"| {name} | {n:,} | {s:.2f} | - |"
              for name, n, s in block_times(run_dir)]
    return lines + [""]


def size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def disk_table(data: Path, work: Path, one: float, two: float) -> list[str]:
    """2 tasks vs 1, and what the multi-stage run keeps in `work/` (kept with --keep-work; nothing in it is
    deleted before the run ends, so this is its peak) against the input's size."""
    input_size, parts = size(data), {sub.name: size(sub) for sub in sorted(work.iterdir()) if sub.is_dir()}
    lines = [f"2 tasks: {one / two:.2f}x the 1-task wall time. `work/` of the 2-task run at its end (its peak): "
             f"{sum(parts.values()) / 1e6:,.1f} MB for {input_size / 1e6:,.1f} MB of input "
             f"({sum(parts.values()) / input_size:.2f}x)", "", "| work/ folder | MB | x input |", "|---|---:|---:|"]
    lines += [f"| {name} | {n / 1e6:,.1f} | {n / input_size:.2f} |" for name, n in parts.items()]
    return lines + [""]


def slurm_up() -> bool:
    return shutil.which("scontrol") is not None and subprocess.run(["scontrol", "ping"],
                                                                   capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "curate_end_to_end.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xplus-e2e-"))
    lines = ["# Curation end to end (steps 1-4 and 6; the loss step needs a GPU model)", "",
             f"Machine: {platform.machine()}, 2 cores, Python {platform.python_version()}, "
             f"{time.strftime('%Y-%m-%d')}. Command: `python bench/curate_end_to_end.py --pairs {args.pairs}`", ""]
    try:
        lines += table("demo (bundled sample, 1 task)", work / "demo", run("demo", work / "demo"))
        recipe, _ = big_recipe(work, args.pairs)
        one = run(str(recipe), work / "big")
        lines += table("big (pairs joined from real ones, 1 task)", work / "big", one)
        two = run(str(recipe), work / "big2", "--tasks", "2", "--workers", "2", "--keep-work")
        lines += table("big, 2 tasks on 2 workers (multi-stage SimHash: 4 stages)", work / "big2", two)
        lines += disk_table(work / "data", work / "big2" / "work", one, two)
        if slurm_up():
            local = run("demo", work / "demo-local2", "--tasks", "2", "--workers", "1")
            slurm = run("demo", work / "demo-slurm2", "--tasks", "2", "--executor", "slurm", "--partition", "debug",
                        "--time", "00:10:00", "--mem-per-cpu-gb", "1")
            lines += ["### Local vs SLURM (demo, 2 tasks, multi-stage dedup: 4 stages)", "",
                      "| executor | wall seconds |", "|---|---:|", f"| local | {local:.1f} |",
                      f"| slurm | {slurm:.1f} |", "",
                      f"SLURM overhead: {slurm - local:.1f} s (scheduling and dependent-stage waits).", ""]
        else:
            lines += ["(no SLURM cluster answered `scontrol ping`: start one with `.ci/slurm/setup.sh` for the "
                      "local vs SLURM row)", ""]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(lines)
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
