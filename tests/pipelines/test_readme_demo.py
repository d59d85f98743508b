"""The README is a test: the demo funnel it shows is what `xplus curate run demo` prints today (every column but
the block times, which depend on the machine). And the demo's decisions, pair by pair, are the recorded ones
(`demo_decisions.json`): a change meant to keep decisions (a speed-up, a refactor) cannot move one pair; a change
meant to move them updates that file, the README funnel and the CHANGELOG in the same commit."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from xplus.pipelines.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
DECISIONS = Path(__file__).with_name("demo_decisions.json")
BLOCK = re.compile(r"<!-- demo-funnel:[^>]*-->\n```\n(?P<table>.*?)```\n<!-- /demo-funnel -->", re.S)


def without_times(table: str) -> list[str]:
    """The funnel's lines with the time column (the fifth) blanked."""
    lines = []
    for line in table.strip().splitlines():
        cells = line.split(" | ")
        if line.startswith("| ") and len(cells) == 6:
            cells[4] = "-"
        lines.append(" | ".join(cells))
    return lines


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    run_dir = tmp_path_factory.mktemp("readme") / "demo"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["curate", "run", "demo", "-o", str(run_dir)]) == 0
    return run_dir, printed.getvalue()


def decisions(run_dir: Path) -> dict[str, list]:
    """Per output folder and per reject step: [rows, digest of the rows' pairs and provenance (and reasons)]."""
    found = {}
    for folder in sorted([run_dir / "output" / "jsonl", *(run_dir / "rejects").iterdir()]):
        rows = [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()]
        keys = sorted(json.dumps([r["corpus"], r["file"], r["line"], r["src_line"], r["tgt_line"], r.get("reason")],
                                 ensure_ascii=False) for r in rows)
        digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
        found[str(folder.relative_to(run_dir))] = [len(rows), digest]
    return found


def test_demo_decisions_are_the_recorded_ones(demo):
    run_dir, _ = demo
    assert decisions(run_dir) == json.loads(DECISIONS.read_text()), (
        f"the demo's decisions moved; if meant, record them in {DECISIONS.name}: {json.dumps(decisions(run_dir))}")


def test_readme_demo_funnel_is_a_fresh_runs(demo):
    shown = BLOCK.search(README.read_text(encoding="utf-8"))
    assert shown, "README.md has no <!-- demo-funnel: ... --> ... <!-- /demo-funnel --> block"
    _, printed = demo
    fresh = printed[printed.index("| block | in |"):printed.index("\noutput (")]
    assert without_times(shown["table"]) == without_times(fresh), f"the README's demo funnel is stale; now:\n{fresh}"


def test_the_comparison_ignores_only_the_times():
    row = "| 🧽 Bitext cleaner | 1300 | 1283 | 17 | 0.03 | empty_source 17 |"
    assert without_times(row) == without_times(row.replace("0.03", "9.99"))
    assert without_times(row) != without_times(row.replace("1283 | 17", "1284 | 16"))
