"""The decontaminator's ASCII shortcut gives the units and normalised text of the general path (NFKC, casefold,
punctuation and spaces removed, per unit), on every ASCII code point, real text of every shared corpus and
FLORES-200 language, and seeded mixes of the characters where the two could part (separators the pattern keeps,
compatibility characters that NFKC turns into spaces, case folds that change length)."""

from __future__ import annotations

import random
import unicodedata

import pytest
import regex

from xplus.curate.decontaminate import _normalise, _units
from xplus.curate.segment import CHAR, WORD, segment

_PATTERN = regex.compile(r"[\p{P}\p{S}\p{Z}\s]+")


def reference_normalise(text: str) -> str:
    return _PATTERN.sub("", unicodedata.normalize("NFKC", text).casefold())


def reference_units(text: str, mode: str) -> list[str]:
    return [u for u in (reference_normalise(u) for u in segment(text, mode)) if u]


def texts(shared_data) -> list[str]:
    found = [chr(i) for i in range(128)]
    for path in sorted((shared_data / "flores200" / "dev").glob("*.txt")):
        found += path.read_text(encoding="utf-8").splitlines()[:200]
    for path in sorted((shared_data / "bitext" / "tico19").glob("*/tico19-test.*")):
        found += path.read_text(encoding="utf-8").splitlines()[:500]
    rng = random.Random(0)
    found += ["".join(chr(rng.randrange(128)) for _ in range(rng.randrange(40))) for _ in range(5000)]
    mix = ["\xa0", "\x1c", "\x1f", "\u3000", "é", "¨", "İ", "ß", "Ⅻ", "a", "A", " ", ".", "-", "x\ty", "\u2474"]
    found += ["".join(rng.choice(mix) for _ in range(rng.randrange(20))) for _ in range(5000)]
    return found


@pytest.mark.parametrize("mode", [WORD, CHAR])
def test_units_and_normalised_text_match_the_general_path(shared_data, mode):
    corpus = texts(shared_data)
    assert sum(t.isascii() for t in corpus) > 5000 and sum(not t.isascii() for t in corpus) > 5000
    assert [_units(t, mode) for t in corpus] == [reference_units(t, mode) for t in corpus]
    assert [_normalise(t) for t in corpus] == [reference_normalise(t) for t in corpus]
