"""What steps 2-4 remove from human-labelled ParaCrawl v3 pairs, side by side with OpusFilter 3.3.1's equivalent rules.

Input: the 10,000 labelled pairs of `paracrawl-v3-labelled/en-{cs,de,es,fr,hu}` (labels: V valid, F free
translation, E translation error, MT machine-translated, T wrong tokenisation, A misaligned, L wrong language).
Each step runs alone on all pairs, then all in pipeline order (`xplus.curate.rules.rule_steps`, whose decision on
every pair `tests/curate/test_rule_decisions.py` pins); OpusFilter's equivalents run in its own venv
(`bench/opusfilter_env.sh`) on the same pairs, as a subprocess:

| xplus | OpusFilter |
|---|---|
| 2 `Cleaner()` | (none) |
| 3a `LengthRatioFilter()` | `LengthFilter(min_length=2, max_length=1e9, unit="word")`, `LengthRatioFilter(3.33)` |
| consistency `ConsistencyFilter()` | (none in the compared configuration) |
| untranslated `UntranslatedFilter()` | (none) |
| 3b `SimHashDedup(SimHashConfig())` | `remove_duplicates` (its `SegmentHasher`, defaults: exact pairs) |
| 4 `LanguageIdFilter()` (lid.176) | `FastTextFilter(thresholds=[0, 0])`, the same lid.176.ftz |

For each: pairs kept, removed per label, precision of the kept set (V+F share) and the share of V+F kept. A sweep
of the LID rule (all steps) shows what its defaults trade: a side is dropped when lid.176's top label is another
language with p >= `min_wrong_probability` and the expected language has p < `max_expected_probability`.
Writes the table and a PNG.

Usage: python bench/quality_paracrawl.py [--opusfilter-python .bench/opusfilter/bin/python]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path

from lid_flores import LID_SWEEP
from vs_opusfilter import PARACRAWL, PARACRAWL_LANGUAGES, opus_code, opusfilter_python, run_opusfilter

from xplus.curate.clean import Cleaner
from xplus.curate.consistency import DEFAULT_DECISION, ConsistencyFilter
from xplus.curate.length import LengthRatioFilter
from xplus.curate.lid import (
    DEFAULT_MAX_EXPECTED_PROBABILITY,
    DEFAULT_MIN_EVIDENCE_WORDS,
    DEFAULT_MIN_WRONG_PROBABILITY,
    LanguageIdFilter,
    bundled_lid176_path,
)
from xplus.curate.readers.tsv import PARACRAWL_V3_COLUMNS, TsvReader
from xplus.curate.rules import rule_steps
from xplus.curate.simhash import SimHashConfig, SimHashDedup

FLORES_DEV = PARACRAWL.parents[1] / "flores200" / "dev"
LABELS = ("V", "F", "E", "MT", "T", "A", "L")
GOOD = ("V", "F")
STEPS = ("2 clean", "3a length", "consistency", "3b dedup", "4 LID", "2-4 together")
#: what each consistency rule removes alone: (name, constructor arguments)
RULES = {"identical": "identical", "near_identical 0.9": "near_identical", "only_symbols": "only_symbols",
         "only_numbers": "only_numbers", "repeated": "repeated", "url_mismatch": "url_mismatch",
         "number_mismatch": "number_mismatch"}
RULES_OFF = {"identical": False, "only_symbols": False, "only_numbers": False, "repeated": False,
             "url_mismatch": False, "number_mismatch": False}

#: OpusFilter's side: argv = pairs JSONL ({"l1", "l2", "src", "trg"}), model; prints {step: [kept indices]}
OPUSFILTER_QUALITY = r"""
import json, sys, logging
logging.disable(logging.WARNING)
from opusfilter.filters import LengthFilter, LengthRatioFilter
from opusfilter.lid import FastTextFilter
from opusfilter.segment_hash import SegmentHasher
pairs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
length = [LengthFilter(min_length=2, max_length=10**9, unit="word"), LengthRatioFilter(threshold=3.33, unit="word")]
lid = {}
def lid_ok(p):
    key = (p["l1"], p["l2"])
    if key not in lid:
        lid[key] = FastTextFilter(languages=list(key), thresholds=[0, 0], model_path=sys.argv[2])
    return lid[key].accept(next(lid[key].score([(p["src"], p["trg"])])))
def length_ok(p):
    return all(f.accept(next(f.score([(p["src"], p["trg"])]))) for f in length)
def dedup(indices):
    hasher, seen, kept = SegmentHasher(), set(), []
    for i in indices:
        key = hasher.apply((pairs[i]["src"], pairs[i]["trg"]))
        if key not in seen:
            seen.add(key)
            kept.append(i)
    return kept
every = range(len(pairs))
together = [i for i in dedup([i for i in every if length_ok(pairs[i])]) if lid_ok(pairs[i])]
print(json.dumps({"3a length": [i for i in every if length_ok(pairs[i])], "3b dedup": dedup(every),
                  "4 LID": [i for i in every if lid_ok(pairs[i])], "2-4 together": together}))
"""


def labelled_pairs() -> list:
    docs = []
    for xx in PARACRAWL_LANGUAGES:
        docs += TsvReader(PARACRAWL / f"en-{xx}", "en", xx, columns=PARACRAWL_V3_COLUMNS).run()
    for index, doc in enumerate(docs):
        doc.metadata["index"] = index
    return docs


def kept_indices(blocks: list, docs: list) -> set[int]:
    """Indices of the pairs that come out of `blocks` chained (on copies: the cleaner rewrites its input)."""
    stream = iter(copy.deepcopy(docs))
    for block in blocks:
        stream = block.run(stream)
    return {doc.metadata["index"] for doc in stream}


def ours(docs: list) -> dict[str, set[int]]:
    return {
        "2 clean": kept_indices([Cleaner()], docs),
        "3a length": kept_indices([LengthRatioFilter()], docs),
        "consistency": kept_indices([ConsistencyFilter()], docs),
        "3b dedup": kept_indices([SimHashDedup(SimHashConfig())], docs),
        "4 LID": kept_indices([LanguageIdFilter()], docs),
        "2-4 together": together(docs),
    }


def together(docs: list, min_wrong_probability: float = DEFAULT_MIN_WRONG_PROBABILITY,
             max_expected_probability: float = DEFAULT_MAX_EXPECTED_PROBABILITY) -> set[int]:
    return kept_indices(rule_steps(min_wrong_probability, max_expected_probability), docs)


def rule_alone(docs: list, rule: str) -> set[int]:
    """After cleaning, what one consistency rule keeps with the others off."""
    args = {**RULES_OFF, rule: 0.9} if rule == "near_identical" else {**RULES_OFF, rule: True}
    return kept_indices([Cleaner(drop_mojibake=False), ConsistencyFilter(**args, decision="drop")], docs)


def opusfilter_on_docs(docs: list, python: Path, script: str) -> dict:
    """Run an OpusFilter `script` in its venv on the pairs (JSONL with OpusFilter's language labels, and the same
    lid.176 file xplus uses); its JSON answer."""
    with tempfile.TemporaryDirectory(prefix="xplus-opusfilter-") as work:
        path = Path(work) / "pairs.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for doc in docs:
                f.write(json.dumps({"l1": opus_code(doc.metadata["src"]), "l2": opus_code(doc.metadata["trg"]),
                                    "src": doc.text, "trg": doc.metadata["tgt_line"]}, ensure_ascii=False) + "\n")
        return run_opusfilter(python, script, str(path), str(bundled_lid176_path()))


def opusfilter(docs: list, python: Path) -> dict[str, set[int]]:
    kept = opusfilter_on_docs(docs, python, OPUSFILTER_QUALITY)
    everything = set(range(len(docs)))
    return {"2 clean": everything, "consistency": everything,
            **{step: set(indices) for step, indices in kept.items()}}


def flores_false_drops(rule: str | None) -> dict[str, float]:
    """Share of FLORES-200 dev English-X pairs (all correct translations) a consistency rule drops, per X."""
    from xplus.curate.languages import RECIPE_LANGUAGES

    args = {} if rule is None else ({**RULES_OFF, rule: 0.9} if rule == "near_identical" else {**RULES_OFF, rule: True})
    check = ConsistencyFilter(**args).check
    english = (FLORES_DEV / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()
    shares = {}
    for code in RECIPE_LANGUAGES[1:]:
        other = (FLORES_DEV / f"{code}.txt").read_text(encoding="utf-8").splitlines()
        shares[code] = sum(check(s, t) is not None for s, t in zip(english, other, strict=True)) / len(other)
    return shares


def rules_table(docs: list, labels: list[str], n: int) -> list[str]:
    """Each consistency rule alone (after the cleaner): removed per label, V+F lost on the languages the
    defaults were chosen on (cs, de, fr) and on the held-out ones (es, hu), FLORES dev false drops."""
    chosen = [i for i, doc in enumerate(docs) if doc.metadata["trg"][:3] in ("ces", "deu", "fra")]
    held = [i for i, doc in enumerate(docs) if doc.metadata["trg"][:3] in ("spa", "hun")]
    lines = ["", "## Consistency rules one at a time (after the cleaner; defaults marked)", "",
             "Defaults chosen on en-cs/de/fr, confirmed on the held-out en-es/hu; FLORES-200 dev (997 correct "
             "English-X translations per language, 16 languages) measures false drops.", "",
             "| rule | " + " | ".join(f"{label} removed" for label in LABELS)
             + " | bad share of removed | V+F lost cs/de/fr | V+F lost es/hu (held out) | FLORES dev false drops "
             "(max, worst language) |",
             "|---|" + "---:|" * len(LABELS) + "---:|---:|---:|---|"]
    for name, rule in [*RULES.items(), ("all defaults", None)]:
        kept = (kept_indices([Cleaner(drop_mojibake=False), ConsistencyFilter()], docs) if rule is None
                else rule_alone(docs, rule))
        m = measure(labels, kept)
        removed = sum(m["removed"].values())
        bad = removed - sum(m["removed"][label] for label in GOOD)
        lost = [sum(1 for i in group if i not in kept and labels[i] in GOOD) for group in (chosen, held)]
        good_total = [sum(1 for i in group if labels[i] in GOOD) for group in (chosen, held)]
        flores = flores_false_drops(rule)
        worst = max(flores, key=flores.get)
        default = ("" if rule is None or rule == "near_identical" else " (flagged by default)"
                   if rule in DEFAULT_DECISION else " (on)")
        share = f"{bad / removed:.0%}" if removed else "-"
        lines.append(f"| {name}{default} | " + " | ".join(str(m["removed"][label]) for label in LABELS)
                     + f" | {share} |"
                     + (f" {lost[0]} ({lost[0] / good_total[0]:.1%}) | {lost[1]} ({lost[1] / good_total[1]:.1%}) | "
                      f"{flores[worst]:.1%} ({worst}) |"))
    return lines


def goals(results: dict[str, dict]) -> list[str]:
    ours_m, opus_m = results["xplus"]["2-4 together"], results["OpusFilter"]["2-4 together"]
    checks = [
        ("precision (V+F share of kept) higher than OpusFilter's",
         f"{ours_m['precision']:.1%} vs {opus_m['precision']:.1%}", ours_m["precision"] > opus_m["precision"]),
        ("more L removed than OpusFilter", f"{ours_m['removed']['L']} vs {opus_m['removed']['L']}",
         ours_m["removed"]["L"] > opus_m["removed"]["L"]),
        ("more A removed than OpusFilter", f"{ours_m['removed']['A']} vs {opus_m['removed']['A']}",
         ours_m["removed"]["A"] > opus_m["removed"]["A"]),
        (">= 93% of V+F kept", f"{ours_m['good_kept']:.1%}", ours_m["good_kept"] >= 0.93),
    ]
    return ["", "## Goals (steps 2-4 together, default settings)", "", "| goal | xplus vs OpusFilter | met |",
            "|---|---|---|", *(f"| {goal} | {value} | {'yes' if met else '**no**'} |" for goal, value, met in checks)]


def measure(labels: list[str], kept: set[int]) -> dict:
    total, left = Counter(labels), Counter(labels[i] for i in kept)
    good = sum(left[label] for label in GOOD)
    return {"kept": len(kept), "removed": {label: total[label] - left[label] for label in LABELS},
            "precision": good / len(kept) if kept else 0.0,
            "good_kept": good / sum(total[label] for label in GOOD)}


def row(name: str, m: dict, n: int) -> str:
    removed = " | ".join(str(m["removed"][label]) for label in LABELS)
    return f"| {name} | {m['kept'] / n:.1%} | {removed} | {m['precision']:.1%} | {m['good_kept']:.1%} |"


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.4
    for offset, tool in ((-width / 2, "xplus"), (width / 2, "OpusFilter")):
        m = results[tool]["2-4 together"]
        left.bar([i + offset for i in range(len(LABELS))], [m["removed"][label] for label in LABELS], width,
                 label=tool)
        right.scatter([results[tool][step]["good_kept"] for step in STEPS],
                      [results[tool][step]["precision"] for step in STEPS], label=tool)
        for step in STEPS:
            right.annotate(step, (results[tool][step]["good_kept"], results[tool][step]["precision"]), fontsize=7)
    left.set_xticks(range(len(LABELS)), LABELS)
    left.set_title("pairs removed by steps 2-4, per human label")
    left.legend()
    right.axvline(0.93, color="grey", linestyle="--", linewidth=0.8)
    right.set_xlabel("share of V+F kept")
    right.set_ylabel("precision of the kept set (V+F share)")
    right.set_title("each step and all together")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opusfilter-python", default=None, help="python of the OpusFilter venv")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "quality_paracrawl.md")
    args = parser.parse_args()
    docs = labelled_pairs()
    labels = [doc.metadata["extra"]["label"] for doc in docs]
    n, totals = len(docs), Counter(labels)
    results = {"xplus": {step: measure(labels, kept) for step, kept in ours(docs).items()},
               "OpusFilter": {step: measure(labels, kept)
                              for step, kept in opusfilter(docs, opusfilter_python(args.opusfilter_python)).items()}}
    header = ("| step | kept | " + " | ".join(f"{label} removed" for label in LABELS)
              + " | precision (V+F of kept) | V+F kept |")
    rule = "|---|---:|" + "---:|" * len(LABELS) + "---:|---:|"
    lines = [
        f"# Steps 2-4 on human-labelled ParaCrawl v3 ({n:,} pairs, en-cs/de/es/fr/hu), xplus vs OpusFilter 3.3.1",
        "",
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Command: `python bench/quality_paracrawl.py` (OpusFilter in the venv of "
        "`bench/opusfilter_env.sh`). Each step alone on all pairs, then all in pipeline order (OpusFilter: length + "
        "ratio, duplicates, LID). Labels in the data: "
        + ", ".join(f"{label} {totals[label]}" for label in LABELS)
        + f"; V+F share of all pairs {sum(totals[label] for label in GOOD) / n:.1%}.",
        "",
        header,
        rule,
    ]
    for step in STEPS:
        lines.append(row(f"xplus {step}", results["xplus"][step], n))
        lines.append(row(f"OpusFilter {step}" + (" (no equivalent)" if step in ("2 clean", "consistency") else ""),
                         results["OpusFilter"][step], n))
    lines += [
        "",
        "## xplus steps 2-4 by LID rule",
        "",
        "A side is dropped when lid.176's top label is another language with p >= `min_wrong_probability` and "
        "the expected language has p < `max_expected_probability` (script guard on; sides with under "
        f"{DEFAULT_MIN_EVIDENCE_WORDS} lower-case words kept). (0.0, 1.0) is OpusFilter's `thresholds: [0, 0]` rule "
        "(any other top label drops) with those guards; (0.6, 1.0) was the 0.1.0 default.",
        "",
        header.replace("| step |", "| min_wrong_probability, max_expected_probability |"),
        rule,
    ]
    sweep = {}
    for wrong, expected in LID_SWEEP:
        sweep[wrong, expected] = measure(labels, together(docs, wrong, expected))
        default = (wrong, expected) == (DEFAULT_MIN_WRONG_PROBABILITY, DEFAULT_MAX_EXPECTED_PROBABILITY)
        lines.append(row(f"{wrong}, {expected}{' (default)' if default else ''}", sweep[wrong, expected], n))
    best = max((m for m in sweep.values() if m["good_kept"] >= 0.93), key=lambda m: m["removed"]["L"])
    opus = results["OpusFilter"]["2-4 together"]
    lines += ["", f"Most L removed by any swept rule that keeps >= 93% of V+F: {best['removed']['L']} "
              f"(V+F kept {best['good_kept']:.1%}); OpusFilter removes {opus['removed']['L']} while keeping "
              f"{opus['good_kept']:.1%}."]
    lines += goals(results)
    lines += rules_table(docs, labels, n)
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    plot(results, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
