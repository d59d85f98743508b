"""The decontaminator's ASCII shortcut gives the units and normalised text of the general path (NFKC, casefold,
punctuation and spaces removed, per unit), on every ASCII code point, real text of every shared corpus and
FLORES-200 language, and seeded mixes of the characters where the two could part (separators the pattern keeps,
compatibility characters that NFKC turns into spaces, case folds that change length)."""

from __future__ import annotations

import random
import unicodedata

import pytest
import regex

from xplus.curate.decontaminate import FloresDecontaminator, _normalise, _units, ngram_hashes
from xplus.curate.record import make_pair
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


def test_ngram_hashes_stay_inside_each_text_and_name_the_ngram():
    lists = [["a", "b", "c"], ["d"], ["b", "c", "d", "e"], []]
    hashes, owner = ngram_hashes(lists, 2)
    assert owner.tolist() == [0, 0, 2, 2, 2]  # no window across two texts
    by_gram = {}
    for units in lists:
        for i in range(len(units) - 1):
            by_gram.setdefault(tuple(units[i:i + 2]), []).append(None)
    first, second = hashes[1], hashes[2]  # ("b", "c") in text 0 and in text 2
    assert first == second and len(set(hashes.tolist())) == len(by_gram)
    assert ngram_hashes([["x"]], 2)[0].size == 0


def test_batch_decides_as_one_pair_at_a_time(shared_data):
    """Sources are looked at first, targets only for the pairs their source did not decide: the reasons and
    details equal those of pairs decided one by one."""
    flores = shared_data / "flores200"
    dev = (flores / "dev" / "eng_Latn.txt").read_text().splitlines()
    sw = (flores / "dev" / "swh_Latn.txt").read_text().splitlines()
    long_en = next(line for line in dev if len(line.split()) >= 14)
    long_sw = next(line for line in sw if len(line.split()) >= 14)
    rows = [(dev[0], sw[1]), ("A clean line.", sw[2]), ("x " + long_en, "y"), ("Hello.", "Habari."),
            (dev[4], dev[4]), ("Clean too.", "z " + " ".join(long_sw.split()[:13]))]
    block = FloresDecontaminator(flores)
    batch = [make_pair(s, t, "eng_Latn", "swh_Latn", "t", "f", i) for i, (s, t) in enumerate(rows)]
    alone = [make_pair(s, t, "eng_Latn", "swh_Latn", "t", "f", i) for i, (s, t) in enumerate(rows)]
    assert block.filter_batch(batch) == [block.filter_batch([doc])[0] for doc in alone]
    assert [doc.metadata for doc in batch] == [doc.metadata for doc in alone]
    assert [doc.metadata.get("reject_detail", "")[:6] for doc in batch] == [
        "source", "target", "source", "", "source", "target"]
