"""Untranslated spans in a target: a sentence in the right language that carries words left in the source's
language (boilerplate and titles of web pages: `Használja Kupon! appeared first on ...`, `(0 replies)`,
`Room facilities:`).

Sentence-level LID cannot see these (the target's language is still the top label), and neither can the pair's
length. `UntranslatedFilter` looks at the target's words that are neither names, numbers nor URLs: words of
`min_word_letters`+ letters that start in lower case (a capitalised word may be a name, brand or title word, which
translations keep; digits are not letters) outside URLs and e-mail addresses, and the words of scripts without
case. A pair is dropped (`untranslated`) when at least `min_copied_words` of them appear unchanged in the source
and make up at least `min_copied_share` of them; the share goes to `metadata["copied_share"]`. The thresholds are
chosen on part of the labelled ParaCrawl v3 data and confirmed on the rest (`bench/results/selection_protocol.md`).
"""

from __future__ import annotations

from collections.abc import Mapping

import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import DROP, REJECT_SCORE, BatchFilter
from xplus.curate.record import mark_rejected, sides

STEP = "untranslated"
REASON = "untranslated"
DEFAULT_MIN_COPIED_SHARE = 0.8
DEFAULT_MIN_COPIED_WORDS = 2
DEFAULT_MIN_WORD_LETTERS = 3

_URL = regex.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)\S+|\S+@\S+\.\w+|\S+\.(?:com|org|net|html?)\b")


_WORD = regex.compile(r"(?<![\p{L}\p{M}\p{N}])[\p{L}\p{M}]+(?![\p{L}\p{M}\p{N}])")


def _words(text: str) -> list[str]:
    """Runs of letters (and marks) not touching a digit, outside URLs and e-mail addresses."""
    if "." in text or "@" in text:
        text = _URL.sub(" ", text)
    return _WORD.findall(text)


def copied_words(source: str, target: str, min_letters: int = DEFAULT_MIN_WORD_LETTERS) -> tuple[int, int]:
    """(target words found unchanged in the source, target words counted): the words counted are those of
    `min_letters`+ letters that start in lower case and the words of scripts without case (Han, Hangul, Thai ...:
    a Korean sentence that keeps two English terms is mostly Korean), outside URLs and e-mail addresses."""
    counted = [word for word in _words(target)
               if (word[0].islower() and len(word) >= min_letters) or not (word[0].isupper() or word[0].islower())]
    if not counted:
        return 0, 0
    source_words = set(_words(source))
    return sum(word[0].islower() and word in source_words for word in counted), len(counted)


class UntranslatedFilter(BatchFilter):
    """Drop pairs whose target keeps a large share of the source's words untranslated (see the module).

    Args:
        min_copied_share: drop from this share of the target's lower-case words copied from the source...
        min_copied_words: ...when at least this many are
        min_word_letters: shortest word counted (shorter words are shared by too many languages: `a`, `in`, `de`)
        batch_size: pairs per batch
        exclusion_writer: where dropped pairs go, e.g. `rejects_writer(run_dir, STEP)`
        decision: `drop`, or `flag` to keep the pairs and record why in `metadata["flags"]` (see `BatchFilter`)
    """

    name = "🈂 Untranslated spans"

    def __init__(
        self,
        min_copied_share: float = DEFAULT_MIN_COPIED_SHARE,
        min_copied_words: int = DEFAULT_MIN_COPIED_WORDS,
        min_word_letters: int = DEFAULT_MIN_WORD_LETTERS,
        batch_size: int = 1000,
        exclusion_writer: DiskWriter | None = None,
        decision: str | Mapping[str, str] = DROP,
    ):
        super().__init__(exclusion_writer, batch_size, decision)
        if not 0 < min_copied_share <= 1:
            raise ValueError(f"min_copied_share: a share in (0, 1], not {min_copied_share}")
        if min_copied_words < 1 or min_word_letters < 1:
            raise ValueError("min_copied_words and min_word_letters must be at least 1")
        self.min_copied_share = min_copied_share
        self.min_copied_words = min_copied_words
        self.min_word_letters = min_word_letters

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        return [self._decide(doc) for doc in batch]

    def _decide(self, doc: Document) -> bool | tuple[bool, str]:
        copied, total = copied_words(*sides(doc), self.min_word_letters)
        share = copied / total if total else 0.0
        doc.metadata["copied_share"] = share
        if copied < self.min_copied_words or share < self.min_copied_share:
            return True
        mark_rejected(doc, STEP, REASON, f"{copied} of {total} target words copied from the source")
        doc.metadata[REJECT_SCORE] = share
        return False, REASON
