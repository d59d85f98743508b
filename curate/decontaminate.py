"""Step 6a: drop pairs that contain FLORES dev/devtest text, so the model is never trained on its test set.

A pair is dropped (reason `decontamination`) when either side, normalised (NFKC, case-folded, punctuation
and spaces removed), equals a FLORES sentence of any language, or shares an n-gram of `word_ngram` (12)
words / `char_ngram` (24) characters with one: datatrove's n-gram decontamination with 12-grams is the
model, and the exact match catches FLORES sentences too short to hold an n-gram. Units follow each
language's segmentation (`xplus.curate.segment`), so Chinese, Japanese and Thai are compared in characters.

The index holds hashes only (FLORES text is never written anywhere by this step). FLORES comes from a local
release root, read by `xplus.curate.flores.Flores` in any of its layouts (FLORES-200, FLORES-101, plain
`.txt`, FLORES+ names); every language found there is indexed, the splits given by `splits`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from pathlib import Path

import numpy as np
import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import BatchFilter
from xplus.curate.flores import Flores
from xplus.curate.record import languages, mark_rejected, sides
from xplus.curate.segment import CHAR, WORD, mode_of, segment

STEP = "decontaminate"
REASON = "decontamination"
_PUNCT_OR_SPACE = regex.compile(r"[\p{P}\p{S}\p{Z}\s]+")


#: what `_normalise` removes from ASCII text (the pattern's matches among code points 0-127), and the same plus
#: what `str.split` and `segment` treat as space (the pattern leaves U+001C-U+001F, which `isspace` counts)
_ASCII_REMOVED = {chr(i): None for i in range(128) if _PUNCT_OR_SPACE.fullmatch(chr(i))}
_ASCII_DROP = str.maketrans(_ASCII_REMOVED)
_ASCII_DROP_IN_WORDS = str.maketrans({c: None for c in _ASCII_REMOVED if not c.isspace()})
_ASCII_DROP_WITH_SPACES = str.maketrans({chr(i): None for i in range(128) if chr(i) in _ASCII_REMOVED
                                         or chr(i).isspace()})


def _normalise(text: str) -> str:
    """NFKC, case-folded, punctuation and spaces removed; ASCII text takes a shortcut with the same result
    (NFKC leaves it as is, `casefold` is `lower` there, and the removal is a translation table)."""
    if text.isascii():
        return text.lower().translate(_ASCII_DROP)
    return _PUNCT_OR_SPACE.sub("", unicodedata.normalize("NFKC", text).casefold())


def _units(text: str, mode: str) -> list[str]:
    """The normalised units of `text`, the empty ones left out. ASCII text is normalised whole, keeping the
    separators of its units (the same units: each unit's removals happen inside it, and a unit left empty
    leaves only separators); other text unit by unit."""
    if text.isascii():
        if mode == CHAR:
            return list(text.lower().translate(_ASCII_DROP_WITH_SPACES))
        return text.lower().translate(_ASCII_DROP_IN_WORDS).split()
    return [u for u in map(_normalise_unit, segment(text, mode)) if u]


#: `_normalise` of one unit, remembered for the most recent units (words and characters repeat across texts)
_normalise_unit = lru_cache(maxsize=1 << 16)(_normalise)


#: the multiplier of the n-gram hash (odd, so that no unit's hash is lost in the wrap at 2^64)
_NGRAM_BASE = np.uint64(0x9E3779B97F4A7C15)


def ngram_hashes(unit_lists: Sequence[list[str]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every n-gram of each list of units, and the index of the list it comes from. An n-gram's hash
    is the polynomial of its units' `hash`es in `_NGRAM_BASE`, wrapping at 2^64 (computed for all lists at once;
    windows that straddle two lists are left out)."""
    lengths = np.fromiter(map(len, unit_lists), dtype=np.int64, count=len(unit_lists))
    units = np.fromiter(map(hash, chain.from_iterable(unit_lists)), dtype=np.int64, count=int(lengths.sum()))
    count = len(units) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    units = units.view(np.uint64)
    hashes = units[:count].copy()
    for k in range(1, n):
        hashes = hashes * _NGRAM_BASE + units[k:k + count]
    owner = np.repeat(np.arange(len(unit_lists)), lengths)
    inside = owner[:count] == owner[n - 1:]
    return hashes[inside], owner[:count][inside]


def flores_files(flores_dir: str | Path, splits: tuple[str, ...]) -> dict[str, dict[str, Path]]:
    """Per split, the FLORES file of every language under the local release root `flores_dir`; an error when
    there is none."""
    found = {split: Flores(str(flores_dir), split).files() for split in splits}
    if not any(found.values()):
        raise FileNotFoundError(f"no FLORES files under {flores_dir}/{{{','.join(splits)}}}/ (expected e.g. "
                                f"dev/eng_Latn.dev, dev/eng.dev or dev/eng_Latn.txt)")
    return found


class FloresDecontaminator(BatchFilter):
    """Drop pairs whose source or target holds FLORES text (exactly, or by a shared long n-gram).

    Args:
        flores_dir: local FLORES release root (the folder holding dev/ and devtest/, any FLORES layout)
        splits: which splits to index (dev and devtest: the paper's tuning and test sets)
        word_ngram: n-gram length in words for word-segmented languages (datatrove's default 12)
        char_ngram: n-gram length in characters for zh, ja, th ... (about as much text as 12 words)
        batch_size: pairs per batch (the accounting is added once per batch)
        exclusion_writer: where dropped pairs go (step `decontaminate`)
    """

    name = "🧪 FLORES decontamination"

    def __init__(
        self,
        flores_dir: str | Path,
        splits: tuple[str, ...] = ("dev", "devtest"),
        word_ngram: int = 12,
        char_ngram: int = 24,
        batch_size: int = 1000,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer, batch_size)
        self.flores_dir = str(flores_dir)
        self.splits = tuple(splits)
        self.ngram = {"word": word_ngram, CHAR: char_ngram}
        flores_files(self.flores_dir, self.splits)  # fail now, not in the worker, when FLORES is missing
        self._sentences: set[int] | None = None
        self._ngrams: set[int] = set()

    def _load(self) -> None:
        self._sentences, found = set(), []
        for split, files in flores_files(self.flores_dir, self.splits).items():
            for code in files:
                mode = mode_of(code)
                lines = list(Flores(self.flores_dir, split).lines(code))
                self._sentences.update(hash(_normalise(line)) for line in lines)
                found.append(ngram_hashes([_units(line, mode) for line in lines], self.ngram[mode])[0])
        self._ngrams = set(np.concatenate(found).tolist()) if found else set()
        self.stat_update("flores_sentences_indexed", value=len(self._sentences))

    def _ngram_hits(self, texts: list[str], codes: list[str]) -> list[bool]:
        """Whether each text shares an n-gram with FLORES (all texts at once, per segmentation)."""
        hits = [False] * len(texts)
        for mode in (WORD, CHAR):
            chosen = [i for i, code in enumerate(codes) if mode_of(code) == mode]
            if not chosen:
                continue
            hashes, owner = ngram_hashes([_units(texts[i], mode) for i in chosen], self.ngram[mode])
            shared = np.fromiter(map(self._ngrams.__contains__, hashes.tolist()), dtype=bool, count=len(hashes))
            for index in np.unique(owner[shared]).tolist():
                hits[chosen[index]] = True
        return hits

    def _overlaps(self, texts: list[str], codes: list[str]) -> list[str | None]:
        """How each text overlaps FLORES, or None: equal to a sentence, else sharing an n-gram (looked for, all
        at once, only in the texts that equal no sentence)."""
        found: list[str | None] = [
            "equals a FLORES sentence" if hash(_normalise(text)) in self._sentences else None for text in texts]
        rest = [i for i, how in enumerate(found) if how is None]
        for i, shares in zip(rest, self._ngram_hits([texts[i] for i in rest], [codes[i] for i in rest]), strict=True):
            if shares:
                mode = mode_of(codes[i])
                found[i] = f"shares a {self.ngram[mode]}-{'character' if mode == CHAR else 'word'} n-gram with FLORES"
        return found

    def contamination(self, text: str, code: str) -> str | None:
        """How `text` overlaps FLORES, or None."""
        if self._sentences is None:
            self._load()
        return self._overlaps([text], [code])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        """Sources first, then the targets of the pairs their sources did not decide (as a pair at a time would)."""
        if self._sentences is None:
            self._load()
        verdicts: list[bool | tuple[bool, str]] = [True] * len(batch)
        undecided = list(range(len(batch)))
        for index, side in enumerate(("source", "target")):
            texts = [sides(batch[i])[index] for i in undecided]
            overlaps = self._overlaps(texts, [languages(batch[i])[index] for i in undecided])
            for i, found in zip(undecided, overlaps, strict=True):
                if found:
                    self.stat_update(f"contaminated_{side}")
                    mark_rejected(batch[i], STEP, REASON, f"{side} {found} ({'/'.join(self.splits)})")
                    verdicts[i] = (False, REASON)
            undecided = [i for i in undecided if verdicts[i] is True]
        return verdicts
