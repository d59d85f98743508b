"""Segmentation for length counts and SimHash features: words for space-delimited languages, characters for
those written without spaces (zh, ja, th, lo, km, my, bo ...; the registry's `segmentation` column).

Text reaching these functions has been through the cleaner: whitespace is single ASCII spaces (or U+3000
on CJK sides), ends stripped. So a word split is `str.split()` and a character count ignores whitespace.
"""

from __future__ import annotations

from functools import cache

from xplus.curate.languages import get_language

WORD, CHAR = "word", "char"


@cache
def mode_of(code: str) -> str:
    """`word` or `char` for a language code in any form the registry knows."""
    return get_language(code).segmentation


def segment(text: str, mode: str) -> list[str]:
    """The units of `text`: whitespace-separated words, or every non-space character."""
    if mode == CHAR:
        return [c for c in text if not c.isspace()]
    return text.split()


def count_words(text: str) -> int:
    """How many units `segment(text, WORD)` would return, without building them."""
    return len(text.split())


def count_chars(text: str) -> int:
    """How many units `segment(text, CHAR)` would return, without building them."""
    return len("".join(text.split()))


#: the unit counter of each segmentation mode (one lookup per language, not one branch per text)
UNIT_COUNTERS = {WORD: count_words, CHAR: count_chars}


def count_units(text: str, mode: str) -> int:
    """How many units `segment` would return, without building them."""
    return UNIT_COUNTERS[mode](text)
