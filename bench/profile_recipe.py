"""Where the recipe's CPU time goes: `xplus curate run` of the default steps under cProfile, 1 task, in process.

The input is `curate_end_to_end.big_recipe`'s (pairs joined from real ones, 5 directions) with the recipe's
default CPU steps: clean, length, consistency, dedup, lid, decontaminate (against the shared FLORES-200) and
template, rejects written, JSONL out. Two tables: per-block time (datatrove's own time_stats, summed over the
stages; a block's time includes the blocks after it that it hands pairs to only where datatrove says so), and
the functions with the most own time (cProfile's `tottime`), with their share of the profiled run.

Usage: python bench/profile_recipe.py [--pairs 50000] [--label before] [--out bench/results/profile_recipe.md]
(`--out` gets or replaces the section named by `--label`, so one file holds the before and after tables)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from curate_end_to_end import STEPS, big_recipe, block_times  # noqa: E402

from xplus.pipelines.cli import main as xplus  # noqa: E402
from xplus.pipelines.shared_data import shared_data_dir  # noqa: E402


def recipe_with_defaults(work: Path, pairs: int) -> Path:
    """The big recipe, its steps replaced by the recipe's default CPU steps, FLORES set for decontamination."""
    recipe, _ = big_recipe(work, pairs)
    text = recipe.read_text().split("steps:\n")[0]
    output = "output:" + recipe.read_text().split("output:", 1)[1]
    recipe.write_text(f"{text}flores: {shared_data_dir() / 'flores200'}\n{STEPS}{output}")
    return recipe


def short(function: tuple[str, int, str]) -> str:
    path, line, name = function
    path = re.sub(r".*/site-packages/", "", path)
    path = re.sub(r".*/xplus/", "xplus/", re.sub(r".*/work/main/", "xplus/", path))
    return f"`{name}` ({path}:{line})" if line else f"`{name}`"


def profile_tables(out: Path, recipe: Path, top: int, dump: Path | None) -> tuple[list[str], float]:
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        profiler.enable()
        code = xplus(["curate", "run", str(recipe), "-o", str(out), "--overwrite", "--keep-work"])
        profiler.disable()
    wall = time.perf_counter() - started
    assert code == 0, f"xplus curate run exited {code}"
    stats = pstats.Stats(profiler)
    if dump:
        stats.dump_stats(dump)
    total = sum(tottime for _, _, tottime, _, _ in stats.stats.values())
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:top]
    blocks = ["| block | pairs in | seconds | pairs/s |", "|---|---:|---:|---:|"]
    blocks += [f"| {name} | {n:,} | {s:.2f} | {n / s:,.0f} |" if s > 0 else f"| {name} | {n:,} | {s:.2f} | - |"
               for name, n, s in block_times(out)]
    functions = ["| function | calls | own s | share | cumulative s |", "|---|---:|---:|---:|---:|"]
    functions += [f"| {short(f)} | {calls:,} | {tottime:.2f} | {tottime / total:.0%} | {cumtime:.2f} |"
                  for f, (_, calls, tottime, cumtime, _) in rows]
    return blocks + [""] + functions, wall


def replace_section(path: Path, label: str, section: str) -> None:
    """`path` with its `## label` section replaced by (or appended with) `section`."""
    text = path.read_text() if path.exists() else "# Where the recipe's CPU time goes (cProfile)\n"
    parts = re.split(r"(?m)^(?=## )", text)
    parts = [p for p in parts if not p.startswith(f"## {label}\n")]
    path.write_text("".join(parts).rstrip("\n") + "\n\n" + section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--top", type=int, default=25, help="functions listed")
    parser.add_argument("--label", default="profile")
    parser.add_argument("--dump", type=Path, default=None, help="also save the raw cProfile stats here")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "profile_recipe.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xplus-profile-"))
    try:
        tables, wall = profile_tables(work / "run", recipe_with_defaults(work, args.pairs), args.top,
                                     args.dump)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = "\n".join([
        f"## {args.label}", "",
        f"`python bench/profile_recipe.py --pairs {args.pairs} --label {args.label}` ({time.strftime('%Y-%m-%d')}, "
        f"1 task, under cProfile: {wall:.1f} s wall, {args.pairs / wall:,.0f} pairs/s; cProfile slows Python "
        "code, not C code, so compare shares, not the wall time with other tables)", "", *tables, ""])
    print(section)
    replace_section(args.out, args.label, section)


if __name__ == "__main__":
    main()
