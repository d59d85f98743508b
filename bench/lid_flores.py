"""LID accuracy per language on FLORES-200: which recipe languages a model identifies, and what it takes the
others for.

Every line of `flores200/<split>/<code>.txt` (997 dev lines per language) of the 17 recipe languages goes
through `LanguageIdFilter`'s model; a line is right when the top label is the language's label in the
registry. The table gives accuracy, the median probability of the right predictions, and the top
confusions (label: lines).

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
from xplus.curate.lid import LanguageIdFilter, prepare_text

FLORES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flores200"


@dataclass
class LanguageScore:
    code: str
    label: str
    lines: int
    correct: int
    median_probability: float
    confusions: Counter

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
    return LanguageScore(code, label, len(lines), len(right), statistics.median(right) if right else 0.0, confusions)


def score_all(model: str = "lid176", split: str = "dev", flores: Path = FLORES) -> list[LanguageScore]:
    lid_filter = LanguageIdFilter(model=model, languages=RECIPE_LANGUAGES)
    return [score_language(lid_filter, code, flores / split / f"{code}.txt") for code in RECIPE_LANGUAGES]


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
        "| language | name | label | lines | accuracy | median p (right) | top confusions |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for s in sorted(scores, key=lambda s: s.accuracy):
        confusions = ", ".join(f"{label}: {n}" for label, n in s.confusions.most_common(5))
        rows.append(f"| {s.code} | {get_language(s.code).name} | {s.label} | {s.lines} | {s.accuracy:.4f} | "
                    f"{s.median_probability:.3f} | {confusions} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="lid176")
    parser.add_argument("--splits", nargs="+", default=["dev", "devtest"], choices=["dev", "devtest"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "lid_flores.md")
    args = parser.parse_args()
    tables = [table(score_all(args.model, split), args.model, split) for split in args.splits]
    text = "# LID accuracy per language on FLORES-200\n\n" + "\n".join(tables)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
