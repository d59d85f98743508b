"""The README is a test: the demo funnel it shows is what `xplus curate run demo` prints today (every column but
the block times, which depend on the machine)."""

from __future__ import annotations

import re
from pathlib import Path

from xplus.pipelines.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
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


def test_readme_demo_funnel_is_a_fresh_runs(tmp_path, capsys):
    shown = BLOCK.search(README.read_text(encoding="utf-8"))
    assert shown, "README.md has no <!-- demo-funnel: ... --> ... <!-- /demo-funnel --> block"
    assert main(["curate", "run", "demo", "-o", str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out
    fresh = printed[printed.index("| block | in |"):printed.index("\noutput (")]
    assert without_times(shown["table"]) == without_times(fresh), f"the README's demo funnel is stale; now:\n{fresh}"


def test_the_comparison_ignores_only_the_times():
    row = "| 🧽 Bitext cleaner | 1300 | 1283 | 17 | 0.03 | empty_source 17 |"
    assert without_times(row) == without_times(row.replace("0.03", "9.99"))
    assert without_times(row) != without_times(row.replace("1283 | 17", "1284 | 16"))
