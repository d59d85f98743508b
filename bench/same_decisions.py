"""Same decisions before and after a change: run the demo recipe with the code of a base commit and with the
working tree, and compare every row each run wrote (curated pairs, chats, rejects with step, reason and detail).

Three runs per side: the demo as shipped; with FLORES (`--flores <shared>/flores200`: decontamination on); and
with FLORES on 2 tasks (the multi-stage SimHash path). The base commit is checked out with `git worktree` and
imported through a `PYTHONPATH` folder whose `xplus/` links to its package folders, so the editable install of
the working tree is not used for it; the after side (a commit, or the working tree's package files copied) is
checked out at the same path once the before side is done, since where the bundled files are decides which task
reads which source (and so the representative a multi-task SimHash reject names). Runs use PYTHONHASHSEED=0.
Rows are compared as multisets of canonical JSON (parquet rows included), so only the decisions and the row
contents count, not the order of files or timings.

Then every real pair of the shared samples (ParaCrawl, GlobalVoices, TICO-19, Tatoeba; `simhash_data.real_pairs`, ~33k)
goes through the SimHash decisions (both policies, one batch) and the FLORES decontaminator (against the shared
FLORES-200 dev and devtest, with 20 planted FLORES devtest pairs per language added) with each side's code; a
digest of the fingerprints, decision codes, representatives, distances and conflict counts, and of every
decontamination result with its detail, must match.

Usage: python bench/same_decisions.py --base COMMIT [--after COMMIT] [--out bench/results/same_decisions.md]
Exit code 1 when any output differs.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from xplus.pipelines.shared_data import REPO_ROOT, shared_data_dir

PACKAGES = ("curate", "train", "evaluate", "pipelines")
#: run with each side's code: decisions of all real pairs, as digests (APIs present before and after the split
#: of `simhash/fingerprint.py`)
DIGEST = """
import hashlib, json, sys
import numpy as np
from xplus.curate.decontaminate import FloresDecontaminator
from xplus.curate.record import REJECT_DETAIL, make_pair
from xplus.curate.simhash.fingerprint import SimHashConfig, fingerprint_batch
try:
    from xplus.curate.simhash.decisions import search_and_decide
except ImportError:
    from xplus.curate.simhash.fingerprint import search_and_decide
pairs = json.load(open(sys.argv[1], encoding="utf-8"))
columns = [list(c) for c in list(zip(*pairs))[:4]]
out = {}
for policy in ("keep_one", "max_conflicts"):
    config = SimHashConfig(policy=policy, batch_size=len(pairs))
    fps = fingerprint_batch(*columns, config)
    decisions, near = search_and_decide(fps, config)
    digest = hashlib.sha256()
    for array in (fps.fp, fps.exact, decisions.code, decisions.ref, decisions.distance, decisions.conflicts):
        digest.update(np.ascontiguousarray(array).tobytes())
    out["simhash " + policy] = [int(decisions.dropped.sum()), near, digest.hexdigest()[:16]]
block = FloresDecontaminator(sys.argv[2])
digest, dropped = hashlib.sha256(), 0
flores = {path.stem: path.read_text(encoding="utf-8").split("\\n")[:20]
          for path in sorted(__import__("pathlib").Path(sys.argv[2], "devtest").glob("*.txt"))}
pairs += [[e, t, "eng_Latn", code, "flores"] for code, lines in flores.items() if code != "eng_Latn"
          for e, t in zip(flores["eng_Latn"], lines)]  # planted: every one must be dropped
for i, (src, tgt, src_code, tgt_code, _) in enumerate(pairs):
    doc = make_pair(src, tgt, src_code, tgt_code, "c", "f", i)
    result = block.filter(doc)
    dropped += result is not True
    digest.update(repr((result, doc.metadata.get(REJECT_DETAIL))).encode())
out["decontamination"] = [dropped, None, digest.hexdigest()[:16]]
print(json.dumps(out))
"""


def configurations() -> dict[str, list[str]]:
    flores = str(shared_data_dir() / "flores200")
    return {"demo": [], "demo + FLORES": ["--flores", flores],
            "demo + FLORES, 2 tasks": ["--flores", flores, "--tasks", "2", "--workers", "1"]}


def checkout(commit: str | None, scratch: Path) -> str:
    """A PYTHONPATH folder whose `xplus/` is the package folders of `commit`, checked out at `scratch/tree` (a
    detached worktree), or, for None, of the working tree copied there. Both sides of a comparison are checked
    out at the same path, one after the other: a run's outputs depend on where its bundled files are (the path of
    a source decides which task reads it, and so the `task t index i` a SimHash reject names)."""
    tree = scratch / "tree"
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(tree), commit or "HEAD"],
                   check=True, capture_output=True)
    if commit is None:
        for package in PACKAGES:
            shutil.rmtree(tree / package)
            shutil.copytree(REPO_ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    shim = scratch / "path" / "xplus"
    shim.mkdir(parents=True, exist_ok=True)
    for package in PACKAGES:
        (shim / package).unlink(missing_ok=True)
        (shim / package).symlink_to(tree / package)
    return str(shim.parent)


def remove_checkout(scratch: Path) -> None:
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(scratch / "tree")],
                   capture_output=True)


def run_demo(args: list[str], out: Path, pythonpath: str) -> None:
    env = {**os.environ, "PYTHONPATH": pythonpath, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-m", "xplus.pipelines.cli", "curate", "run", "demo", *args, "-o", str(out),
                           "--overwrite"], env=env, capture_output=True, text=True, cwd=out.parent)
    if done.returncode:
        raise SystemExit(f"demo run {args} failed ({out}):\n{done.stderr[-3000:]}")


def digests(pairs_file: Path, pythonpath: str) -> dict[str, list]:
    """{check: [dropped, near pairs, digest]} of every real pair, computed with the code on `pythonpath`."""
    env = {**os.environ, "PYTHONPATH": pythonpath, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-c", DIGEST, str(pairs_file), str(shared_data_dir() / "flores200")],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"decisions on the real pairs failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def real_data_rows(count: int, before: dict[str, list], after: dict[str, list]) -> list[str]:
    return [f"## Every real pair of the shared samples ({count:,})", "",
            "| check | dropped before | after | near pairs before | after | digest before | after | identical |",
            "|---|---:|---:|---:|---:|---|---|---|"] + [
        f"| {check} | {before[check][0]:,} | {after[check][0]:,} | {before[check][1]} | {after[check][1]} | "
        f"`{before[check][2]}` | `{after[check][2]}` | {'yes' if before[check] == after[check] else '**no**'} |"
        for check in before] + [""]


def rows(run_dir: Path) -> dict[str, collections.Counter]:
    """Per output kind (`output/jsonl`, `rejects/dedup` ...), the multiset of its rows as canonical JSON."""
    kinds: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for path in sorted((run_dir / "output").rglob("*")) + sorted((run_dir / "rejects").rglob("*")):
        kind = str(path.parent.relative_to(run_dir))
        if path.suffix == ".jsonl":
            records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        elif path.suffix == ".parquet":
            records = pl.read_parquet(path).to_dicts()
        else:
            continue
        kinds[kind].update(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records)
    return kinds


def compare(base: Path, after: Path) -> list[str]:
    """Table rows `| kind | rows before | rows after | same |` of two runs."""
    before, now = rows(base), rows(after)
    return [f"| {kind} | {sum(before[kind].values()):,} | {sum(now[kind].values()):,} | "
            f"{'yes' if before[kind] == now[kind] else '**no**'} |" for kind in sorted(set(before) | set(now))]


def compare_sides(scratch: Path, base: str, after: str | None) -> list[str]:
    """Every configuration's outputs and the real pairs' digests with `base`'s code, then `after`'s (None: the
    working tree), each checked out at the same path; the tables comparing them."""
    from simhash_data import real_pairs

    pairs = real_pairs()
    pairs_file = scratch / "pairs.json"
    pairs_file.write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    found = {}
    for side, commit in (("before", base), ("after", after)):
        pythonpath = checkout(commit, scratch)
        try:
            for name, options in configurations().items():
                run_demo(options, scratch / f"{side}-{slug(name)}", pythonpath)
            found[side] = digests(pairs_file, pythonpath)
        finally:
            remove_checkout(scratch)
    lines = []
    for name, options in configurations().items():
        lines += [f"## {name} (`{' '.join(options) or 'no options'}`)", "",
                  "| output | rows before | rows after | identical |", "|---|---:|---:|---|",
                  *compare(scratch / f"before-{slug(name)}", scratch / f"after-{slug(name)}"), ""]
    return lines + real_data_rows(len(pairs), found["before"], found["after"])


def slug(name: str) -> str:
    return name.replace(" ", "").replace(",", "-").replace("+", "-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit before the change")
    parser.add_argument("--after", help="the commit after it (default: the working tree)")
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args()
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    after = args.after or f"the working tree at {head}"
    lines = [f"# Same decisions: demo outputs at {args.base} (before) and {after} (after)", ""]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        lines += compare_sides(scratch, args.base, args.after)
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 1 if "**no**" in text else 0


if __name__ == "__main__":
    raise SystemExit(main())
