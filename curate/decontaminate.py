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
from functools import lru_cache
from pathlib import Path

import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import BatchFilter
from xplus.curate.flores import Flores
from xplus.curate.record import languages, mark_rejected, sides
from xplus.curate.segment import CHAR, mode_of, segment

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


def _ngrams(units: list[str], n: int) -> list[int]:
    return [hash("\x1f".join(units[i:i + n])) for i in range(len(units) - n + 1)]


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
        self._sentences = set()
        for split, files in flores_files(self.flores_dir, self.splits).items():
            for code in files:
                mode = mode_of(code)
                for line in Flores(self.flores_dir, split).lines(code):
                    self._sentences.add(hash(_normalise(line)))
                    self._ngrams.update(_ngrams(_units(line, mode), self.ngram[mode]))
        self.stat_update("flores_sentences_indexed", value=len(self._sentences))

    def contamination(self, text: str, code: str) -> str | None:
        """How `text` overlaps FLORES, or None."""
        if hash(_normalise(text)) in self._sentences:
            return "equals a FLORES sentence"
        mode = mode_of(code)
        if any(h in self._ngrams for h in _ngrams(_units(text, mode), self.ngram[mode])):
            return f"shares a {self.ngram[mode]}-{'character' if mode == CHAR else 'word'} n-gram with FLORES"
        return None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self._sentences is None:
            self._load()
        for side, text, code in zip(("source", "target"), sides(doc), languages(doc), strict=True):
            if found := self.contamination(text, code):
                self.stat_update(f"contaminated_{side}")
                mark_rejected(doc, STEP, REASON, f"{side} {found} ({'/'.join(self.splits)})")
                return False, REASON
        return True
