"""LID accuracy per language on FLORES-200: which recipe languages a model identifies, and what it takes the
others for.

Every line of `flores200/<split>/<code>.txt` (997 dev lines per language) of the 17 recipe languages goes
through `LanguageIdFilter`'s model; a line is right when the top label is the language's label in the
registry. The table gives accuracy, the median probability of the right predictions, the top confusions
(label: lines), and the false-drop rate of `LanguageIdFilter`: the share of the language's lines the filter
would drop as a side of that language, with any wrong label dropped (the old rule, and OpusFilter's
`thresholds: [0, 0]`) and with the defaults (a wrong label dropped when its p >= `min_wrong_probability` and the
expected language's p < `max_expected_probability`, the script guard on). A sweep of both thresholds over
dev+devtest closes the file.

Usage: python bench/lid_flores.py [--model lid176] [--splits dev devtest] [--out bench/results/lid_flores.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from xplus.curate.languages import RECIPE_LANGUAGES, get_language
from xplus.curate.lid import (
    DEFAULT_MAX_EXPECTED_PROBABILITY,
    DEFAULT_MIN_WRONG_PROBABILITY,
    LanguageIdFilter,
    prepare_text,
)
from xplus.curate.record import make_pair
from xplus.pipelines.shared_data import shared_data_dir

FLORES = shared_data_dir() / "flores200"
DEFAULTS = (DEFAULT_MIN_WRONG_PROBABILITY, DEFAULT_MAX_EXPECTED_PROBABILITY)
#: (min_wrong_probability, max_expected_probability) swept here and in `quality_paracrawl.py`: OpusFilter's rule
#: (any other top label), the 0.1.0 default (top label only, p >= 0.6), then the two-threshold rule around its default
LID_SWEEP = ((0.0, 1.0), (0.6, 1.0), (0.0, 0.1), (0.0, 0.2), (0.0, 0.3), (0.2, 0.2), (0.3, 0.05), (0.3, 0.1),
             (0.3, 0.2), (0.4, 0.05), (0.4, 0.1), (0.4, 0.2), (0.5, 0.1))


@dataclass
class LanguageScore:
    code: str
    label: str
    lines: int
    correct: int
    median_probability: float
    confusions: Counter
    old_drops: int
    drops: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.lines


def score_language(lid_filter: LanguageIdFilter, code: str, path: Path) -> LanguageScore:
    """Top-1 predictions of every line of one FLORES file against the language's label."""
    lines = [prepare_text(line) for line in path.read_text(encoding="utf-8").splitlines()]
    label = lid_filter.expected_label(code)
    predictions = lid_filter.lid.predict(lines)
    right = [p.probability for p in predictions if p.label == label]
    confusions = Counter(p.label for p in predictions if p.label != label)
    return LanguageScore(code, label, len(lines), len(right), statistics.median(right) if right else 0.0, confusions,
                         len(lines) - len(right), false_drops(lid_filter, code, lines))


def false_drops(lid_filter: LanguageIdFilter, code: str, lines: list[str]) -> int:
    """Lines of language `code` the filter drops when they are the source of a pair of that language."""
    docs = [make_pair(line, line, code, code, "flores", code, i) for i, line in enumerate(lines, 1)]
    return sum(result is not True for result in lid_filter.filter_batch(docs))


def filter_for(model: str, thresholds: tuple[float, float] = DEFAULTS) -> LanguageIdFilter:
    """The filter with (min_wrong_probability, max_expected_probability) `thresholds`, source side only."""
    return LanguageIdFilter(model=model, languages=RECIPE_LANGUAGES, check_sides=["source"],
                            min_wrong_probability=thresholds[0], max_expected_probability=thresholds[1])


def score_all(model: str = "lid176", split: str = "dev", flores: Path = FLORES) -> list[LanguageScore]:
    lid_filter = filter_for(model)
    return [score_language(lid_filter, code, flores / split / f"{code}.txt") for code in RECIPE_LANGUAGES]


def sweep(model: str, splits: list[str], thresholds: tuple[tuple[float, float], ...] = LID_SWEEP,
          flores: Path = FLORES) -> str:
    """False-drop rate per language over `splits` for each (min_wrong_probability, max_expected_probability)
    (script guard on)."""
    text = {code: [prepare_text(line) for split in splits
                   for line in (flores / split / f"{code}.txt").read_text(encoding="utf-8").splitlines()]
            for code in RECIPE_LANGUAGES}
    rates = {t: {code: false_drops(filter_for(model, t), code, lines) / len(lines) for code, lines in text.items()}
             for t in thresholds}
    shown = [code for code in RECIPE_LANGUAGES if any(rates[t][code] for t in thresholds)]
    rows = [
        f"## False-drop rate by LID rule ({model}, FLORES-200 {' + '.join(splits)}, script guard on)",
        "",
        "Share of each language's lines dropped as a side of that language; languages never dropped are left out.",
        "",
        "| min_wrong_probability, max_expected_probability | " + " | ".join(shown) + " | worst | all 17 |",
        "|---:|" + "---:|" * (len(shown) + 2),
    ]
    total = sum(len(lines) for lines in text.values())
    for t in thresholds:
        dropped = sum(rates[t][code] * len(text[code]) for code in RECIPE_LANGUAGES)
        rows.append(f"| {t[0]}, {t[1]}{' (default)' if t == DEFAULTS else ''} | "
                    + " | ".join(f"{rates[t][code]:.2%}" for code in shown)
                    + f" | {max(rates[t].values()):.2%} | {dropped / total:.2%} |")
    return "\n".join(rows) + "\n"


def table(scores: list[LanguageScore], model: str, split: str) -> str:
    total, correct = sum(s.lines for s in scores), sum(s.correct for s in scores)
    rows = [
        f"## LID accuracy on FLORES-200 {split} ({model}, {len(scores)} recipe languages)",
        "",
        f"Machine: {platform.machine()}, {platform.python_version()}, {date.today()}. "
        f"Command: `python bench/lid_flores.py --model {model} --splits {split}`",
        "",
        f"Overall: {correct}/{total} lines = {correct / total:.4f}. A line is right when the model's top label is "
        "the language's label in the registry; confusions are the wrong top labels (label: lines).",
        "",
        f"False drops: any wrong label (old rule, OpusFilter's) / defaults (wrong label dropped when its "
        f"p >= {DEFAULT_MIN_WRONG_PROBABILITY} and the expected language's p < {DEFAULT_MAX_EXPECTED_PROBABILITY}, "
        "script guard).",
        "",
        "| language | name | label | lines | accuracy | median p (right) | top confusions | false drops: any wrong "
        "label | false drops: defaults |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for s in sorted(scores, key=lambda s: s.accuracy):
        confusions = ", ".join(f"{label}: {n}" for label, n in s.confusions.most_common(5))
        rows.append(f"| {s.code} | {get_language(s.code).name} | {s.label} | {s.lines} | {s.accuracy:.4f} | "
                    f"{s.median_probability:.3f} | {confusions} | {s.old_drops / s.lines:.2%} | "
                    f"{s.drops / s.lines:.2%} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="lid176")
    parser.add_argument("--splits", nargs="+", default=["dev", "devtest"], choices=["dev", "devtest"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "lid_flores.md")
    args = parser.parse_args()
    tables = [table(score_all(args.model, split), args.model, split) for split in args.splits]
    tables.append(sweep(args.model, args.splits))
    text = "# LID accuracy per language on FLORES-200\n\n" + "\n".join(tables)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
