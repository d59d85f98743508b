"""Selection protocol: each rule's setting chosen on part of the labelled data, confirmed on data it never saw.

Labelled data: the 10,000 human-labelled ParaCrawl v3 pairs (V valid, F free translation; E, MT, T, A, L bad).
- Choose half: en-cs, en-de, en-fr. For every rule, the setting (from its grid) that removes the most bad pairs
  while costing at most `MAX_CHOOSE_COST` of the valid (V+F) pairs of each of the three (half the budget below,
  as a margin), and whose removals are mostly bad (`MIN_REMOVED_PRECISION`).
- Confirm half: en-es and en-hu (labelled), and correct translations without labels, where every drop is false:
  FLORES-200 dev+devtest (English-X, the 16 recipe languages), TICO-19 (en-sw, en-zh), Tatoeba (LASER test sets,
  15 languages; not Serbian, which Tatoeba has in Latin script). A rule is a default `drop` only when its chosen
  setting costs <= `MAX_HELD_COST` of V+F on every held-out pair and <= `MAX_FLORES_COST` of the lines of every
  FLORES language; otherwise its default is `flag` (kept, reason in `metadata["flags"]`). A rule that removes
  nothing from the choose half (no evidence either way) keeps its default setting if that passes the held-out half.

Every rule runs alone after `Cleaner(drop_mojibake=False)`. Then the defaults together (steps 2-4, before and
after this change, next to OpusFilter's equivalent), and a precision vs valid-kept curve over each rule's
thresholds, ours and OpusFilter's (scores from OpusFilter's own filters in its venv, `bench/opusfilter_env.sh`).

Usage: python bench/selection_protocol.py [--opusfilter-python .bench/opusfilter/bin/python] [--before kept.json]
(the results: `--before bench/results/selection_protocol_before.json`, the pairs `BEFORE` names kept)
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
from collections import Counter
from pathlib import Path

from quality_paracrawl import GOOD, kept_indices, labelled_pairs, measure, opusfilter, opusfilter_on_docs
from selection_rules import candidates
from vs_opusfilter import SHARED, opusfilter_python

from xplus.curate.clean import Cleaner
from xplus.curate.languages import RECIPE_LANGUAGES, normalize
from xplus.curate.record import make_pair
from xplus.curate.rules import rule_steps

CHOOSE, HELD = ("ces", "deu", "fra"), ("spa", "hun")
MAX_CHOOSE_COST, MAX_HELD_COST, MAX_FLORES_COST = 0.005, 0.01, 0.005
MIN_REMOVED_PRECISION = 0.75
RESULTS = Path(__file__).parent / "results"
BEFORE = ('"Before" is `together()` of `bench/quality_paracrawl.py` run at commit 9fd0812 (the defaults tuned on all '
          "10,000 pairs: LID p >= 0.4 without the evidence guard, `number_mismatch` from 10, `identical` dropping, no "
          "untranslated rule), its kept indices passed with `--before` (`selection_protocol_before.json`). "
          '"Flagged pairs dropped too" drops what the new defaults flag (`identical`, `url_mismatch`, '
          "`untranslated_span`).")


def flores_pairs() -> list:
    docs = []
    for split in ("dev", "devtest"):
        english = (SHARED / "flores200" / split / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()
        for code in RECIPE_LANGUAGES[1:]:
            other = (SHARED / "flores200" / split / f"{code}.txt").read_text(encoding="utf-8").splitlines()
            docs += [make_pair(s, t, "eng_Latn", code, "flores", split, i) for i, (s, t) in
                     enumerate(zip(english, other, strict=True))]
    return docs


def tico_pairs() -> list:
    docs = []
    for folder, suffix, code in (("eng-swa", "swa", "swh_Latn"), ("eng-zho", "zho", "zho_Hans")):
        base = SHARED / "bitext" / "tico19" / folder / "tico19-test"
        english = Path(f"{base}.eng").read_text(encoding="utf-8").splitlines()
        other = Path(f"{base}.{suffix}").read_text(encoding="utf-8").splitlines()
        docs += [make_pair(s, t, "eng_Latn", code, "tico19", folder, i) for i, (s, t) in
                 enumerate(zip(english, other, strict=True))]
    return docs


def tatoeba_pairs() -> list:
    docs = []
    for folder in sorted((SHARED / "bitext" / "tatoeba-laser-v1").glob("*-eng")):
        xx = folder.name.split("-")[0]
        if xx == "srp":
            continue  # Tatoeba's Serbian is in Latin script; the recipe's Serbian is srp_Cyrl
        english = (folder / f"tatoeba.{folder.name}.eng").read_text(encoding="utf-8").splitlines()
        other = (folder / f"tatoeba.{folder.name}.{xx}").read_text(encoding="utf-8").splitlines()
        code = normalize(xx)
        docs += [make_pair(s, t, "eng_Latn", code, "tatoeba", folder.name, i) for i, (s, t) in
                 enumerate(zip(english, other, strict=True))]
    return docs


def cleaned(docs: list) -> list:
    """The pairs numbered (`metadata["index"]`), then cleaned once (`Cleaner(drop_mojibake=False)`): every rule is
    measured on these."""
    for index, doc in enumerate(docs):
        doc.metadata["index"] = index
    return list(Cleaner(drop_mojibake=False).run(iter(copy.deepcopy(docs))))


def costs(docs: list, kept: set[int], groups: dict[str, list[int]], good: set[int] | None) -> dict[str, float]:
    """Share of each group's (valid) pairs not kept."""
    out = {}
    for name, members in groups.items():
        pool = [i for i in members if good is None or i in good]
        out[name] = sum(i not in kept for i in pool) / len(pool) if pool else 0.0
    return out


def by_language(docs: list) -> dict[str, list[int]]:
    """Pair indices by target language (ISO 639-3)."""
    groups: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        groups.setdefault(doc.metadata["trg"][:3], []).append(doc.metadata.get("index", i))
    return groups


def choose(settings: list, v3: list, labels: list[str], groups: dict, grid: dict) -> tuple:
    """The setting removing the most bad pairs of the choose half within its cost limits: (label, factory, kept,
    choose-half costs, bad removed, removed precision), or the cheapest setting with `None` for label when none
    qualifies; what each setting keeps goes to `grid`."""
    good = {i for i, label in enumerate(labels) if label in GOOD}
    choose_idx = [i for lang in CHOOSE for i in groups[lang]]
    best, fallback = None, None
    for label, factory in settings:
        kept = grid[label] = kept_indices(factory(), v3)
        cost = costs(v3, kept, {lang: groups[lang] for lang in CHOOSE}, good)
        removed = [i for i in choose_idx if i not in kept]
        bad = sum(i not in good for i in removed)
        precision = bad / len(removed) if removed else 0.0
        row = (label, factory, kept, cost, bad, precision)
        if fallback is None or max(cost.values()) < max(fallback[3].values()):
            fallback = row
        if max(cost.values()) <= MAX_CHOOSE_COST and precision >= MIN_REMOVED_PRECISION and (
                best is None or bad > best[4]):
            best = row
    return best if best is not None else (None, *fallback[1:])


def confirm(factory, v3: list, labels: list[str], groups: dict, unlabelled: dict[str, list]) -> dict:
    """Held-out costs of a setting: V+F lost per held-out pair, lines lost per FLORES language, TICO-19, Tatoeba."""
    good = {i for i, label in enumerate(labels) if label in GOOD}
    kept = kept_indices(factory(), v3)
    found = {"held": costs(v3, kept, {lang: groups[lang] for lang in HELD}, good)}
    for name, (docs, groups_u) in unlabelled.items():
        kept_u = kept_indices(factory(), docs)
        found[name] = costs(docs, kept_u, groups_u, None)
        found[name + " all"] = 1 - len(kept_u) / sum(map(len, groups_u.values()))
    return found


def protocol_rows(v3: list, labels: list[str], unlabelled: dict[str, tuple]) -> tuple[list[str], dict, dict]:
    """The protocol's table, the decision per rule, and what every setting of every rule keeps on v3."""
    groups = by_language(v3)
    curves: dict[str, dict[str, set[int]]] = {}
    lines = ["| rule | setting chosen on cs/de/fr | bad removed (cs/de/fr) | removed that are bad "
             "| V+F lost cs / de / fr | V+F lost es / hu (held out) | FLORES lost (worst language) | TICO-19 lost "
             "| Tatoeba lost (worst) | default |", "|---|---|---:|---:|---|---|---|---:|---|---|"]
    decisions = {}
    for rule, settings in candidates().items():
        grid = curves[f"xplus {rule}"] = {}
        label, factory, _kept, cost, bad, precision = choose(settings, v3, labels, groups, grid)
        held = confirm(factory, v3, labels, groups, unlabelled)
        flores_worst = max(held["FLORES"], key=held["FLORES"].get)
        tatoeba_worst = max(held["Tatoeba"], key=held["Tatoeba"].get)
        nothing_removed = label is None and bad == 0 and max(cost.values()) == 0
        passes = (label is not None or nothing_removed) and max(held["held"].values()) <= MAX_HELD_COST \
            and held["FLORES"][flores_worst] <= MAX_FLORES_COST
        decisions[rule] = "drop" if passes else "flag"
        shown = label or ("removes nothing here (default kept)" if nothing_removed
                          else "none qualifies (cheapest shown)")
        lines.append(
            f"| {rule} | {shown} | {bad} | {precision:.0%} | "
            + " / ".join(f"{cost[lang]:.2%}" for lang in CHOOSE) + " | "
            + " / ".join(f"{held['held'][lang]:.2%}" for lang in HELD)
            + f" | {held['FLORES'][flores_worst]:.2%} ({flores_worst}) | {held['TICO-19 all']:.2%} | "
            f"{held['Tatoeba'][tatoeba_worst]:.2%} ({tatoeba_worst}) | **{decisions[rule]}** |")
    return lines, decisions, {name: grid for name, grid in curves.items() if len(grid) > 1}


OPUSFILTER_CURVES = r"""
import json, sys, logging
logging.disable(logging.WARNING)
from opusfilter.filters import LengthRatioFilter, NonZeroNumeralsFilter, AlphabetRatioFilter, RepetitionFilter
from opusfilter.lid import FastTextFilter
pairs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
grids = {
    "OpusFilter LengthRatioFilter (threshold)": (lambda t: LengthRatioFilter(threshold=t, unit="word"),
                                                 [1.5, 2, 2.5, 3, 3.33, 4, 5]),
    "OpusFilter NonZeroNumeralsFilter (threshold)": (lambda t: NonZeroNumeralsFilter(threshold=t),
                                                     [0.1, 0.3, 0.5, 0.7, 0.9, 0.99]),
    "OpusFilter AlphabetRatioFilter (threshold)": (lambda t: AlphabetRatioFilter(threshold=t, exclude_whitespace=True),
                                                   [0.3, 0.5, 0.6, 0.75, 0.85, 0.9]),
    "OpusFilter RepetitionFilter (threshold)": (lambda t: RepetitionFilter(threshold=t), [1, 2, 3, 5]),
}
out = {}
for name, (make, thresholds) in grids.items():
    scores = list(make(thresholds[0]).score([(p["src"], p["trg"]) for p in pairs]))
    out[name] = {}
    for t in thresholds:
        accept = make(t).accept
        out[name][str(t)] = [i for i, s in enumerate(scores) if accept(s)]
lid, scores = {}, []
for p in pairs:
    key = (p["l1"], p["l2"])
    if key not in lid:
        lid[key] = FastTextFilter(languages=list(key), thresholds=[0, 0], model_path=sys.argv[2])
    scores.append(next(lid[key].score([(p["src"], p["trg"])])))
out["OpusFilter FastTextFilter (thresholds)"] = {}
for t in [0.0, 0.1, 0.3, 0.5, 0.7, 0.9]:
    accept = next(iter(lid.values())).accept
    for f in lid.values():
        f.thresholds = [t, t]
    out["OpusFilter FastTextFilter (thresholds)"][str(t)] = [i for i, s in enumerate(scores) if accept(s)]
print(json.dumps(out))
"""


def opusfilter_curves(docs: list, python: Path) -> dict[str, dict[str, set[int]]]:
    found = opusfilter_on_docs(docs, python, OPUSFILTER_CURVES)
    return {name: {t: set(kept) for t, kept in grid.items()} for name, grid in found.items()}


def frontier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The settings no other setting beats on both axes, by valid pairs kept."""
    ordered = sorted(points, reverse=True)
    best, found = -1.0, []
    for x, y in ordered:
        if y > best:
            found.append((x, y))
            best = y
    return sorted(found)


def plot(curves: dict, labels: list[str], points: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 7))
    colours = plt.get_cmap("tab20").colors
    for colour, (name, grid) in zip(colours, curves.items(), strict=False):
        xy = [(m["good_kept"], m["precision"]) for m in (measure(labels, kept) for kept in grid.values())]
        style = "--" if name.startswith("OpusFilter") else "-"
        ax.scatter(*zip(*xy, strict=True), s=10, color=colour, alpha=0.5)
        ax.plot(*zip(*frontier(xy), strict=True), style, color=colour, label=name)
    for marker, (name, m) in zip("*PXDs", points.items(), strict=False):
        ax.scatter([m["good_kept"]], [m["precision"]], marker=marker, s=150, color="black", zorder=5, label=name)
    ax.set_xlabel("valid pairs kept (share of the V+F pairs kept)")
    ax.set_ylabel("precision of the kept set (V+F share of the kept pairs)")
    ax.set_title("Human-labelled ParaCrawl v3 (10,000 pairs): each rule alone over its thresholds (dots: settings, "
                 "line: best trade-off), and whole pipelines (black)", fontsize=9)
    ax.set_xlim(0.8, 1.002)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def together_table(v3: list, labels: list[str], python: Path, before: Path | None) -> tuple[list[str], dict]:
    n = len(v3)
    rows = {}
    if before is not None:
        rows["xplus before (steps 2-4, previous defaults)"] = set(json.loads(before.read_text())["kept"])
    rows["xplus after (steps 2-4 + untranslated, new defaults)"] = kept_indices(rule_steps(), v3)
    rows["xplus after, flagged pairs dropped too"] = kept_indices(rule_steps(drop_flagged=True), v3)
    rows["xplus after, LID without the evidence guard"] = kept_indices(rule_steps(min_evidence_words=0), v3)
    rows["OpusFilter 3.3.1 (length + ratio, duplicates, LID)"] = opusfilter(v3, python)["2-4 together"]
    lines = ["| run | kept | " + " | ".join(f"{label} removed" for label in ("V", "F", "E", "MT", "T", "A", "L"))
             + " | precision (V+F of kept) | V+F kept |", "|---|---:|" + "---:|" * 9]
    points = {}
    for name, kept in rows.items():
        m = measure(labels, kept)
        points[name] = m
        lines.append(f"| {name} | {m['kept'] / n:.1%} | " + " | ".join(str(m["removed"][label]) for label in
                                                                        ("V", "F", "E", "MT", "T", "A", "L"))
                     + f" | {m['precision']:.1%} | {m['good_kept']:.1%} |")
    return lines, points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opusfilter-python", default=None, help="python of the OpusFilter venv")
    parser.add_argument("--before", type=Path, default=None, help="kept indices of the previous defaults (JSON)")
    parser.add_argument("--out", type=Path, default=RESULTS / "selection_protocol.md")
    args = parser.parse_args()
    python = opusfilter_python(args.opusfilter_python)
    raw = labelled_pairs()
    labels = [doc.metadata["extra"]["label"] for doc in raw]
    v3 = cleaned(raw)
    unlabelled = {}
    for name, docs in (("FLORES", flores_pairs()), ("TICO-19", tico_pairs()), ("Tatoeba", tatoeba_pairs())):
        unlabelled[name] = (cleaned(docs), by_language(docs))
    rows, decisions, curves = protocol_rows(v3, labels, {name: u for name, u in unlabelled.items()})
    print("\n".join(rows), flush=True)
    together_rows, points = together_table(raw, labels, python, args.before)
    print("\n".join(together_rows), flush=True)
    curves.update(opusfilter_curves(raw, python))
    plot(curves, labels, points, args.out.with_suffix(".png"))
    args.out.with_suffix(".json").write_text(json.dumps(
        {name: {setting: measure(labels, kept) for setting, kept in grid.items()} for name, grid in curves.items()},
        indent=1), encoding="utf-8")
    totals = Counter(labels)
    sizes = {name: sum(map(len, groups.values())) for name, (_, groups) in unlabelled.items()}
    text = "\n".join([
        "# Selection protocol: rules chosen on en-cs/de/fr, confirmed on en-es/hu, FLORES, TICO-19, Tatoeba", "",
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. Command: `python bench/selection_protocol.py --before "
        "bench/results/selection_protocol_before.json`. "
        f"Labelled: ParaCrawl v3, {len(v3):,} pairs (" + ", ".join(f"{k} {totals[k]}" for k in sorted(totals))
        + "); unlabelled correct translations: " + ", ".join(f"{k} {v:,} pairs" for k, v in sizes.items()) + ".",
        "", f"Choose: the setting with the most bad pairs removed on cs/de/fr, at most {MAX_CHOOSE_COST:.1%} of V+F "
        f"lost on each and >= {MIN_REMOVED_PRECISION:.0%} of its removals bad. Confirm: default `drop` only if it "
        f"loses <= {MAX_HELD_COST:.0%} of V+F on es and on hu and <= {MAX_FLORES_COST:.1%} of every FLORES "
        "language; else `flag`. Each rule alone, after the cleaner.", "", *rows, "",
        "## Steps 2-4 together on all 10,000 pairs, before and after, next to OpusFilter", "",
        *([BEFORE, ""] if args.before else []), *together_rows, "",
        f"![precision vs valid kept]({args.out.with_suffix('.png').name})", "",
        "Decisions the protocol gives: " + ", ".join(f"{k}: {v}" for k, v in decisions.items()) + ".", ""])
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
