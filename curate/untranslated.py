"""Untranslated text in a target: a sentence in the right language that carries words left in the source's
language (boilerplate and titles of web pages: `Használja Kupon! appeared first on ...`, `(0 replies)`,
`Room facilities:`), or a target that is the source copied.

Sentence-level LID cannot see these (the target's language is still the top label), and neither can the pair's
length. `UntranslatedFilter` (on pairs whose two languages differ) has three rules, each with its reason (so
`decision` can flag one and drop another):

- `untranslated` (the share of copied words): the target's words that are neither names, numbers nor URLs are the
  words of `min_word_letters`+ letters that start in lower case (a capitalised word may be a name, brand or title
  word, which translations keep; digits are not letters) outside URLs and e-mail addresses, and the words of
  scripts without case. Dropped when at least `min_copied_words` of them appear unchanged in the source and make up
  at least `min_copied_share` of them; the share goes to `metadata["copied_share"]`.
- `untranslated_span` (a copied run): a run of the target's tokens (words, numbers) that stands in the source in
  the same order, holds at least `min_run_words` words, at least one lower-case word of `min_word_letters`+
  letters and no more capitalised words than those (`Room facilities: Klimaanlage`, `appeared first on`; a run in
  title case, of capitalised words and numbers or with an acronym is a name, title or term, which translations
  keep: `Mont Ventoux`, `Show Price per Night`, `acute respiratory distress syndrome (ARDS)`), and that lid.176
  gives the source's language with p >= `min_span_probability`: the copied words of valid pairs are mostly names
  and terms in a third language (`velho do restelo`, `Buteo buteo`) or international words. A run that opens a
  quotation is not counted (a quotation stays in its language). The run's word count goes to
  `metadata["copied_run"]`.
- `untranslated_copy` (a copied target): the target equals its source (case, spaces and punctuation aside) and is
  not a name (as for a run). Pair consistency's `identical` sees every copy, most of them product names in
  ParaCrawl, and flags by default; this one only the copies that are not names.

The thresholds and each rule's default decision are chosen on part of the labelled ParaCrawl v3 data and confirmed
on the rest (`bench/selection_protocol.py`, `bench/results/selection_protocol.md`): the share and copy rules drop,
copied spans are flagged (kept, with the reason in `metadata["flags"]`: `decision: drop` drops them).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property, lru_cache
from types import MappingProxyType

import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import FLAG, REJECT_SCORE, BatchFilter
from xplus.curate.languages import get_language
from xplus.curate.lid_model import FastTextLID, ModelLoadedInWorker, bundled_lid176_path
from xplus.curate.record import SRC, TRG, mark_rejected, sides

STEP = "untranslated"
REASON = "untranslated"
SPAN_REASON = "untranslated_span"
COPY_REASON = "untranslated_copy"
DEFAULT_MIN_COPIED_SHARE = 0.8
DEFAULT_MIN_COPIED_WORDS = 2
DEFAULT_MIN_RUN_WORDS = 2
DEFAULT_MIN_SPAN_PROBABILITY = 0.5
#: the protocol's decisions: copied spans are flagged (the setting chosen on en-cs/de/fr costs 0.55% of French
#: FLORES lines, over the 0.5% a dropping default may cost), the share and copy rules drop
DEFAULT_DECISION = MappingProxyType({SPAN_REASON: FLAG})
DEFAULT_MIN_WORD_LETTERS = 3

_URL = regex.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)\S+|\S+@\S+\.\w+|\S+\.(?:com|org|net|html?)\b")
_WORD = regex.compile(r"(?<![\p{L}\p{M}\p{N}])[\p{L}\p{M}]+(?![\p{L}\p{M}\p{N}])")
_QUOTE = regex.compile(r"[\"“”«»„'‘’]")
_TOKEN = regex.compile(r"[\p{L}\p{M}]+(?:[-'’][\p{L}\p{M}]+)*|\p{N}+")


#: the tokens of the last texts seen (the rules tokenise the same two sides); callers never change the lists
_tokens = lru_cache(maxsize=16)(_TOKEN.findall)


def _may_hold_url(text: str) -> bool:
    """False only when `_URL` cannot match: each of its forms needs `://`, `@`, or a `.` with `www.`, `.com`,
    `.org`, `.net` or `.htm` in any case (none of their letters has another case form)."""
    if "://" in text or "@" in text:
        return True
    if "." not in text:
        return False
    lower = text.lower()
    return any(mark in lower for mark in ("www.", ".com", ".org", ".net", ".htm"))


def _without_urls(text: str) -> str:
    return _URL.sub(" ", text) if _may_hold_url(text) else text


def _words(text: str) -> list[str]:
    """Runs of letters (and marks) not touching a digit, outside URLs and e-mail addresses."""
    return _WORD.findall(_without_urls(text))


def _common(token: str, min_letters: int) -> bool:
    """A lower-case word of `min_letters`+ letters (not a name, number or short word shared by many languages)."""
    return token.islower() and len(token) >= min_letters


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


def _not_a_name(tokens: list[str], min_letters: int) -> bool:
    """Whether copied tokens hold a lower-case word of `min_letters`+ letters, no more capitalised words than such
    words and no acronym: `(0 replies)`, `Room facilities`, `appeared first on`, but not `Show Price per Night` or
    `Hotel des Artistes` (title case: a name or title, which translations keep), nor `severe acute respiratory
    syndrome (SARS)` (a term with its acronym, which translations gloss: TICO-19)."""
    common = sum(_common(token, min_letters) for token in tokens)
    return common > 0 and common >= sum(token[0].isupper() for token in tokens) and not any(
        sum(char.isupper() for char in token) >= 2 for token in tokens)


def copied_span(source: str, target: str, min_letters: int = DEFAULT_MIN_WORD_LETTERS) -> list[str]:
    """The tokens (words, numbers) of the run of the target found in the same order in the source that is not a
    name (`_not_a_name`) nor opens with a quotation mark (a quotation stays in its language), and has the most
    words; [] when there is none. URLs and e-mail addresses are left out."""
    text = _without_urls(target)
    target_tokens = _tokens(text)
    common = {token for token in target_tokens if _common(token, min_letters)}
    if not common:
        return []
    source_tokens = _tokens(_without_urls(source))
    if common.isdisjoint(source_tokens):
        return []  # a run that is not a name holds a common word, which would be in the source
    positions: dict[str, list[int]] = {}
    for p, token in enumerate(source_tokens):
        positions.setdefault(token, []).append(p)
    best, best_words, starts = [], 0, None
    for i, token in enumerate(target_tokens):
        for p in positions.get(token, ()):
            if i and p and target_tokens[i - 1] == source_tokens[p - 1]:
                continue  # inside a run counted from its start
            length = 0
            while (i + length < len(target_tokens) and p + length < len(source_tokens)
                   and target_tokens[i + length] == source_tokens[p + length]):
                length += 1
            run = target_tokens[i:i + length]
            words = sum(not token.isdigit() for token in run)
            if words > best_words and _not_a_name(run, min_letters):
                starts = starts or [match.start() for match in _TOKEN.finditer(text)]
                if not _QUOTE.search(text, max(0, starts[i] - 2), starts[i]):
                    best, best_words = run, words
    return best


def copied_target(source: str, target: str, min_letters: int = DEFAULT_MIN_WORD_LETTERS) -> bool:
    """Whether the target is the source (tokens compared case-folded, spaces and punctuation aside) and is not a name
    (`_not_a_name`)."""
    tokens, source_tokens = _tokens(target), _tokens(source)
    return len(tokens) == len(source_tokens) and _not_a_name(tokens, min_letters) and [
        token.casefold() for token in tokens] == [token.casefold() for token in source_tokens]


class UntranslatedFilter(ModelLoadedInWorker, BatchFilter):
    """Drop pairs whose target keeps the source's words untranslated: a large share of them, a run of them, or the
    whole source (see the module).

    Args:
        min_copied_share: drop from this share of the target's lower-case words copied from the source...
        min_copied_words: ...when at least this many are (0: the share rule is off)
        min_run_words: drop a target holding a run of this many words copied from the source (0: off)...
        min_span_probability: ...that lid.176 gives the source's language with at least this probability (0: no
            LID)
        copied_targets: drop a target that is its source copied (and is not a name)
        min_word_letters: shortest word counted (shorter words are shared by too many languages: `a`, `in`, `de`)
        batch_size: pairs per batch
        exclusion_writer: where dropped pairs go, e.g. `rejects_writer(run_dir, STEP)`
        decision: `drop`, `flag` to keep the pairs and record why in `metadata["flags"]` (see `BatchFilter`), or a
            mapping per reason (`untranslated`, `untranslated_span`, `untranslated_copy`); by default spans are
            flagged, the rest dropped
    """

    name = "🈂 Untranslated spans"

    def __init__(
        self,
        min_copied_share: float = DEFAULT_MIN_COPIED_SHARE,
        min_copied_words: int = DEFAULT_MIN_COPIED_WORDS,
        min_run_words: int = DEFAULT_MIN_RUN_WORDS,
        min_span_probability: float = DEFAULT_MIN_SPAN_PROBABILITY,
        copied_targets: bool = True,
        min_word_letters: int = DEFAULT_MIN_WORD_LETTERS,
        batch_size: int = 1000,
        exclusion_writer: DiskWriter | None = None,
        decision: str | Mapping[str, str] = DEFAULT_DECISION,
    ):
        super().__init__(exclusion_writer, batch_size, decision)
        if not 0 < min_copied_share <= 1:
            raise ValueError(f"min_copied_share: a share in (0, 1], not {min_copied_share}")
        if min_copied_words < 0 or min_word_letters < 1 or min_run_words < 0:
            raise ValueError("min_copied_words and min_run_words must be at least 0, min_word_letters at least 1")
        if not 0 <= min_span_probability <= 1:
            raise ValueError(f"min_span_probability: a probability in [0, 1], not {min_span_probability}")
        self.min_copied_share = min_copied_share
        self.min_copied_words = min_copied_words
        self.min_run_words = min_run_words
        self.min_span_probability = min_span_probability
        self.copied_targets = copied_targets
        self.min_word_letters = min_word_letters

    @cached_property
    def lid(self) -> FastTextLID:
        """lid.176, loaded on the first copied run."""
        return FastTextLID(bundled_lid176_path(), floor=min(self.min_span_probability, 0.01))

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        return [self._decide(doc) for doc in batch]

    def _decide(self, doc: Document) -> bool | tuple[bool, str]:
        source, target = sides(doc)
        meta = doc.metadata
        if meta.get(SRC) == meta.get(TRG):
            return True  # a pair in one language (a paraphrase) shares its words by nature
        if self.copied_targets and copied_target(source, target, self.min_word_letters):
            return self._reject(doc, COPY_REASON, "the target is the source copied", 1.0)
        if self.min_copied_words:
            copied, total = copied_words(source, target, self.min_word_letters)
            share = meta["copied_share"] = copied / total if total else 0.0
            if copied >= self.min_copied_words and share >= self.min_copied_share:
                return self._reject(doc, REASON, f"{copied} of {total} target words copied from the source", share)
        if self.min_run_words:
            span = copied_span(source, target, self.min_word_letters)
            run = meta["copied_run"] = sum(not token.isdigit() for token in span)
            if run >= self.min_run_words and (p := self._source_probability(" ".join(span), meta.get(SRC))) >= \
                    self.min_span_probability:
                return self._reject(doc, SPAN_REASON, f"{run} words copied from the source: {' '.join(span)}", p)
        return True

    def _source_probability(self, span: str, src: str | None) -> float:
        """lid.176's probability that the span is in the source's language (1 without LID)."""
        if not self.min_span_probability:
            return 1.0
        label = get_language(src).lid176 if src else None
        return self.lid.predict([span])[0].probability_of(label) if label else 0.0

    @staticmethod
    def _reject(doc: Document, reason: str, detail: str, score: float) -> tuple[bool, str]:
        mark_rejected(doc, STEP, reason, detail)
        doc.metadata[REJECT_SCORE] = score
        return False, reason
