"""`RepetitionFinder.search` gives exactly `re.search`'s match of OpusFilter's repetition pattern, and its
necessary condition clears nearly every real line (so the slow stages rarely run)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xplus.curate.repetition import RepetitionFinder


def same_as_search(finder: RepetitionFinder, text: str) -> None:
    expected, found = finder.pattern.search(text), finder.search(text)
    assert (found and (found.span(), found.group(1))) == (expected and (expected.span(), expected.group(1))), text
    if expected:
        assert finder.may_repeat(text), text


@pytest.mark.parametrize("text", [
    "Home Home Home Home", "Home Home Home", "hahahahaha", "a  a  a  a  a", "ab ab ab ab ab", "x.x.x.x.x.",
    "---- ----", "10000000", "The the the the end", "abcabcabcab", "unit  unit unit   unit", "no repeats here",
    "ééé ééé ééé ééé", "line\nline\nline\nline", "aaa\naaa aaa aaa aaa",
])
@pytest.mark.parametrize(("chars", "repeats"), [(3, 3), (3, 2), (2, 3), (1, 1), (5, 2)])
def test_named_lines(text, chars, repeats):
    same_as_search(RepetitionFinder(chars, repeats), text)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab c.\n", max_size=60), st.integers(1, 4), st.integers(1, 4))
def test_generated_lines(text, chars, repeats):
    same_as_search(RepetitionFinder(chars, repeats), text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="xyz ", min_size=1, max_size=8), st.integers(2, 6), st.text(alphabet="xyz ", max_size=20),
       st.text(alphabet="xyz ", max_size=20), st.lists(st.integers(0, 2), min_size=6, max_size=6))
def test_generated_runs(unit, copies, before, after, spaces):
    """Lines built around a repeated unit, with varying spaces between the copies."""
    text = before + "".join(unit + " " * spaces[i % 6] for i in range(copies)) + after
    same_as_search(RepetitionFinder(), text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab c\0\n\ud800é", max_size=40), max_size=12), st.integers(1, 4), st.integers(1, 4))
def test_many_at_once_is_each_alone(texts, chars, repeats):
    """The batch's stage 1 never clears a text `may_repeat` keeps, whatever its neighbours (separators, NULs,
    surrogates, empty lines)."""
    finder = RepetitionFinder(chars, repeats)
    many = finder.may_repeat_many(texts)
    assert all(batch or not finder.may_repeat(text) for text, batch in zip(texts, many, strict=True))
    assert [m and (m.span(), m.group(1)) for m in finder.search_many(texts)] == [
        m and (m.span(), m.group(1)) for m in map(finder.pattern.search, texts)]


def test_long_units_and_the_100_character_limit():
    finder = RepetitionFinder()
    for size in (99, 100, 101, 102):
        unit = "".join(chr(ord("a") + i % 26) for i in range(size))
        same_as_search(finder, " ".join([unit] * 4))
        same_as_search(finder, unit * 4)


def read_lines(bitext, limit: int) -> list[str]:
    lines = []
    for pair in ("de", "cs", "hu", "es", "fr"):
        path = bitext / "paracrawl-v3-labelled" / f"en-{pair}" / f"sorted.en-{pair}"
        for row in path.read_text(encoding="utf-8").splitlines()[:limit]:
            lines.extend(row.split("\t")[2:4])
    for path in sorted((bitext / "tico19").rglob("*"))[:4]:
        if path.is_file():
            lines.extend(path.read_text(encoding="utf-8").splitlines()[:limit])
    return lines


def test_real_lines_match_search_and_the_condition_clears_most(bitext):
    finder = RepetitionFinder()
    lines = read_lines(bitext, 600)
    assert len(lines) > 6000
    for text in lines:
        same_as_search(finder, text)
    maybe = sum(map(finder.may_repeat, lines))
    batch = finder.may_repeat_many(lines)
    matches = sum(1 for text in lines if finder.pattern.search(text))
    # each stage holds on every match and leaves the next, slower one a small share of real lines
    assert matches <= maybe < 0.01 * len(lines) and maybe <= sum(batch) < 0.02 * len(lines), (
        matches, maybe, sum(batch), len(lines))
    assert [m and (m.span(), m.group(1)) for m in finder.search_many(lines)] == [
        m and (m.span(), m.group(1)) for m in map(finder.pattern.search, lines)]
