"""Length ratios of FLORES-200 dev translations against English, per recipe language.

Shows why the length filter scales character-segmented sides: with the literal rule (short/long < 0.3 on
English words vs characters) most en-th pairs and many en-ja pairs of FLORES itself would be dropped.
Prints `bench/results/length_ratio_flores.md`; the medians are `CHAR_PER_WORD` in `curate/length.py`.

Usage: python bench/length_ratio_flores.py
"""

from __future__ import annotations

import statistics
from pathlib import Path

from xplus.curate.languages import RECIPE_LANGUAGES
from xplus.curate.length import LengthRatioFilter
from xplus.curate.record import make_pair
from xplus.curate.segment import count_units, mode_of
from xplus.pipelines.shared_data import shared_data_dir

DEV = shared_data_dir() / "flores200" / "dev"
OUT = Path(__file__).parent / "results" / "length_ratio_flores.md"


def main() -> None:
    english = (DEV / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()
    en_words = [count_units(line, "word") for line in english]
    literal = LengthRatioFilter(char_per_word={}, default_char_per_word=1.0)
    scaled = LengthRatioFilter()
    rows = ["| language | unit | median units per English word | dropped by the literal rule | dropped by xplus |",
            "|---|---|---:|---:|---:|"]
    for code in RECIPE_LANGUAGES:
        if code == "eng_Latn":
            continue
        lines = (DEV / f"{code}.txt").read_text(encoding="utf-8").splitlines()
        mode = mode_of(code)
        ratio = statistics.median(count_units(x, mode) / e for x, e in zip(lines, en_words, strict=True))
        docs = [make_pair(e, x, "eng_Latn", code, "flores", "dev", i)
                for i, (e, x) in enumerate(zip(english, lines, strict=True))]
        dropped = [sum(r is not True for r in block.filter_batch(docs)) / len(docs) for block in (literal, scaled)]
        rows.append(f"| {code} | {mode} | {ratio:.2f} | {dropped[0]:.1%} | {dropped[1]:.1%} |")
    table = ("# Length ratio of FLORES-200 dev translations vs English (997 pairs each)\n\n"
             "Rule: drop when either side has < 2 units or short/long < 0.3. 'literal' counts characters against "
             "English words as they are; xplus divides a character side by its median characters per English "
             "word (`CHAR_PER_WORD`).\n\n" + "\n".join(rows) + "\n")
    print(table)
    OUT.write_text(table)


if __name__ == "__main__":
    main()
