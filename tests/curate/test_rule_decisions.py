"""Steps 2-4 decide every pair of the shared data as recorded in `rule_decisions.jsonl.gz` (ParaCrawl v3 labelled,
the quality bench's pairs; FLORES-200 dev; TICO-19): kept with the same flags and output text, or dropped by the
same step for the same reason with the same detail. A change meant to keep decisions (a refactor, a speed-up)
cannot move one pair; a change meant to move them re-records the file (`python -m tests.curate.rule_decisions`)
and re-runs the selection protocol table in the same commit."""

from __future__ import annotations

import pytest

from .rule_decisions import RECORDED, decisions, load, text_digest

SHOWN = 15


def describe(row: dict | None, text: str | None = None) -> str:
    """One pair's decision in words: `kept [flags ...] [text <digest>: <text>]` or `step/reason (detail)`."""
    if row is None:
        return "(no such pair)"
    if row["decision"] != "kept":
        return f"{row['decision']} ({row['detail']})" if row.get("detail") else row["decision"]
    words = ["kept", *(f"flag {flag}" for flag in row.get("flags", []))]
    if "text" in row:
        words.append(f"rewritten to text {row['text']}" + (f": {text!r}" if text is not None else ""))
    return ", ".join(words)


def differences(recorded: dict[str, dict], fresh: dict[str, dict], texts: dict[str, str]) -> list[str]:
    """A line per pair whose row differs: its id, the recorded decision and today's."""
    return [f"{pair}: recorded {describe(recorded.get(pair))}; now {describe(fresh.get(pair), texts.get(pair))}"
            for pair in [*recorded, *(pair for pair in fresh if pair not in recorded)]
            if recorded.get(pair) != fresh.get(pair)]


@pytest.mark.slow
def test_steps_2_to_4_decide_the_shared_data_as_recorded(shared_data):
    fresh, texts = decisions(shared_data)
    found = differences(load(RECORDED), fresh, texts)
    assert not found, (
        f"steps 2-4 decide {len(found):,} of {len(fresh):,} shared pairs differently from {RECORDED.name}; if meant, "
        f"re-record (python -m tests.curate.rule_decisions) and re-run bench/selection_protocol.py:\n  "
        + "\n  ".join(found[:SHOWN]) + (f"\n  ... and {len(found) - SHOWN:,} more" if len(found) > SHOWN else ""))


def test_a_difference_names_the_pair_and_both_decisions():
    kept = {"id": "c/f:1", "decision": "kept"}
    dropped = {"id": "c/f:1", "decision": "consistency/number_mismatch", "detail": "source 1999, target 1998"}
    digest = text_digest("a\tb")
    rewritten = {**kept, "text": digest}
    assert differences({"c/f:1": kept}, {"c/f:1": kept}, {}) == []
    assert differences({"c/f:1": kept}, {"c/f:1": dropped}, {}) == [
        "c/f:1: recorded kept; now consistency/number_mismatch (source 1999, target 1998)"]
    assert differences({"c/f:1": kept}, {"c/f:1": rewritten}, {"c/f:1": "a\tb"}) == [
        f"c/f:1: recorded kept; now kept, rewritten to text {digest}: 'a\\tb'"]
    assert differences({}, {"c/f:1": kept}, {}) == ["c/f:1: recorded (no such pair); now kept"]
