"""Pair consistency: cheap hard rules that compare the two sides of a pair (between length and SimHash).

Web-mined bitext pairs sentences that are not translations of each other: a product line aligned with its
neighbour (`7x Virgin Guadalupe VB007` / `5x Virgen de Guadalupe VB007`), a side copied untranslated, a
navigation crumb of symbols. LID cannot see these (both sides are in the right language) and neither can the
length ratio. `ConsistencyFilter` applies the well-known hard rules of bicleaner-hardrules (`c_identical`,
`c_no_only_symbols`, `c_no_only_numbers`, number consistency, URLs) and OpusFilter's heuristics
(`NonZeroNumeralsFilter`, `RepetitionFilter`), each a switch with its own reason, in this order:

- `identical`: both sides are the same once case, punctuation and spaces are ignored (a copy, not a
  translation: `Göhmann & Co. GmbH` twice; flagged, not dropped, by default);
- `near_identical` (off by default): the normalised sides are at least `near_identical` similar (difflib ratio);
  on the labelled ParaCrawl pairs 0.9 drops 79 V/F pairs for 93 bad ones (product names, brand lists, addresses
  are near-identical in valid pairs), so it is not worth it there; untranslated sentences are LID's job;
- `only_symbols_source` / `_target`: under `min_letter_share` of the side's non-space characters are letters;
- `only_numbers_source` / `_target`: over `max_digit_share` of them are digits;
- `repeated_source` / `_target`: a run of `min_repeat_chars`+ characters repeated `max_repeats`+ more times in
  a row (OpusFilter's `RepetitionFilter` pattern: crawl debris, `Home Home Home Home`);
- `url_mismatch`: the URLs and e-mail addresses of the sides differ (as sets, case-insensitively, without the
  scheme, `www.` or a trailing `/`; flagged by default);
- `number_mismatch`: both sides carry numbers and a number of at least `min_number` (100) on one side is absent
  from the other; how numbers are read (separators, times, units, numbering, Roman numerals, Thai years) is
  `xplus.curate.numbers`.

Every default is chosen by `bench/selection_protocol.py` on en-cs/de/fr of the human-labelled ParaCrawl v3 pairs
and confirmed on en-es/hu, FLORES-200, TICO-19 and Tatoeba (`bench/results/selection_protocol.md`): a rule drops
by default only when it costs <= 1% of the valid pairs of each held-out pair and <= 0.5% of each FLORES language;
`identical` (most of its removals on v3 are valid product names) and `url_mismatch` (too few removals, a third of
them valid) are flagged instead: kept, with the reason in `metadata["flags"]` (`decision`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import FLAG, BatchFilter, add_flag
from xplus.curate.numbers import unmatched_number
from xplus.curate.record import mark_rejected, sides
from xplus.curate.repetition import RepetitionFinder

STEP = "consistency"
#: the rules whose breaches are flagged, not dropped, unless `decision` says otherwise
DEFAULT_DECISION = MappingProxyType({"identical": FLAG, "url_mismatch": FLAG})

_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
#: URLs (with a scheme or `www.`) and e-mail addresses
_URL = regex.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"']+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
#: ASCII text at C speed: its letters, digits and whitespace (`str.isspace` of the ASCII range), and the table
#: that lower-cases it (`str.casefold` of ASCII) while `_ASCII_NOT_WORD` deletes what `_WORD` does not match
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_ASCII_DIGITS = b"0123456789"
_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_ASCII_LOWER = bytes.maketrans(bytes(range(65, 91)), bytes(range(97, 123)))
_ASCII_NOT_WORD = bytes(set(range(128)) - set(_ASCII_LETTERS + _ASCII_DIGITS))


def normalized(text: str) -> str:
    """Letters, marks and digits only, case-folded: what `identical` compares."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_LOWER, _ASCII_NOT_WORD).decode("ascii")
    return "".join(_WORD.findall(text.casefold()))


def may_hold_url(text: str) -> bool:
    """False only when `urls(text)` is empty for sure: every URL has `://` or `www.`, every address an `@`."""
    return "://" in text or "@" in text or "www." in text.lower()


def urls(text: str) -> set[str]:
    """URLs and e-mail addresses of a side, case-folded, without scheme, `www.` and trailing punctuation."""
    found = set()
    for match in _URL.findall(text):
        url = regex.sub(r"(?i)^(?:(?:https?|ftp)://)?(?:www\.)?", "", match.casefold()).rstrip("/.,;:!?)")
        found.add(url)
    return found


def _non_space(text: str) -> int:
    """Characters that are not whitespace (`str.split` splits on exactly the characters `str.isspace` accepts)."""
    if text.isascii():
        return len(text.encode("ascii").translate(None, _ASCII_SPACE))
    return sum(map(len, text.split()))


def _ascii_count(text: str, characters: bytes) -> int:
    data = text.encode("ascii")
    return len(data) - len(data.translate(None, characters))


def letter_share(text: str) -> float:
    """Share of the non-space characters that are letters or combining marks (Devanagari, Thai vowel signs...),
    counted at C speed: marks are never `isalpha`, and a category starting with `M` is the only one holding an
    upper-case M, so the marks are the M's of the joined categories."""
    total = _non_space(text)
    if not total:
        return 0.0
    if text.isascii():
        return _ascii_count(text, _ASCII_LETTERS) / total
    marks = "".join(map(unicodedata.category, text)).count("M")
    return (sum(map(str.isalpha, text)) + marks) / total


def digit_share(text: str) -> float:
    """Share of the non-space characters that are digits (`str.isdigit`)."""
    total = _non_space(text)
    if not total:
        return 0.0
    return (_ascii_count(text, _ASCII_DIGITS) if text.isascii() else sum(map(str.isdigit, text))) / total


class ConsistencyFilter(BatchFilter):
    """Drop pairs whose two sides contradict each other by cheap, well-known hard rules (see the module).

    Every rule is a switch; the thresholds are the defaults the evidence supports. Decisions, recorded with
    `mark_rejected` under step `consistency` and counted (`dropped_<reason>`): `identical`, `near_identical`,
    `only_symbols_<side>`, `only_numbers_<side>`, `repeated_<side>`, `url_mismatch`, `number_mismatch`, tried in this
    order; the `detail` says what was found. A rule whose `decision` is `flag` adds its reason to
    `metadata["flags"]` (counted `flagged_<reason>`) and the later rules are still tried.

    Args:
        identical: drop pairs whose sides are equal ignoring case, punctuation and spaces
        near_identical: drop pairs whose normalised sides have a difflib similarity ratio of at least this
            (None: off)
        only_symbols: drop a side with under `min_letter_share` letters among its non-space characters
        min_letter_share: see `only_symbols` (bicleaner's `c_no_only_symbols`: 0.1)
        only_numbers: drop a side with over `max_digit_share` digits among its non-space characters
        max_digit_share: see `only_numbers` (bicleaner's `c_no_only_numbers`: 0.5)
        repeated: drop a side where a run of `min_repeat_chars`+ characters repeats `max_repeats`+ more times
        min_repeat_chars: shortest repeated run (OpusFilter's `RepetitionFilter`: 3)
        max_repeats: repetitions after the first that drop the side (OpusFilter: 2, so 3 in a row)
        url_mismatch: drop pairs whose URL / e-mail sets differ
        number_mismatch: drop pairs where both sides carry numbers and one of at least `min_number` is missing
            from the other side
        min_number: smallest number that must match (smaller ones are often written as words)
        exclusion_writer: where dropped pairs go, e.g. `rejects_writer(run_dir, STEP)`
        batch_size: pairs per `filter_batch`
        decision: `drop`, `flag`, or per rule (`{identical: flag, url_mismatch: flag}`, the default; `default` sets
            the others)
    """

    name = "🔗 Pair consistency"

    def __init__(
        self,
        identical: bool = True,
        near_identical: float | None = None,
        only_symbols: bool = True,
        min_letter_share: float = 0.1,
        only_numbers: bool = True,
        max_digit_share: float = 0.5,
        repeated: bool = True,
        min_repeat_chars: int = 3,
        max_repeats: int = 3,
        url_mismatch: bool = True,
        number_mismatch: bool = True,
        min_number: int = 100,
        exclusion_writer: DiskWriter | None = None,
        batch_size: int = 1000,
        decision: str | Mapping[str, str] = DEFAULT_DECISION,
    ):
        super().__init__(exclusion_writer, batch_size, decision)
        if not 0 <= min_letter_share <= 1 or not 0 <= max_digit_share <= 1:
            raise ValueError("min_letter_share and max_digit_share are shares in [0, 1]")
        if near_identical is not None and not 0 < near_identical <= 1:
            raise ValueError(f"near_identical: a ratio in (0, 1] or None, not {near_identical}")
        self.identical = identical
        self.near_identical = near_identical
        self.only_symbols = only_symbols
        self.min_letter_share = min_letter_share
        self.only_numbers = only_numbers
        self.max_digit_share = max_digit_share
        self.repeated = repeated
        self.min_repeat_chars = min_repeat_chars
        self.max_repeats = max_repeats
        self.url_mismatch = url_mismatch
        self.number_mismatch = number_mismatch
        self.min_number = min_number
        self._repetition = RepetitionFinder(min_repeat_chars, max_repeats)

    def check(self, source: str, target: str) -> tuple[str, str] | None:
        """(reason, detail) of the first rule the pair breaks, None when it breaks none."""
        return next(self.broken(source, target), None)

    def broken(self, source: str, target: str, repeated: tuple[re.Match | None, re.Match | None] | None = None
               ) -> Iterator[tuple[str, str]]:
        """(reason, detail) of each rule the pair breaks, in order (one per side at most); `repeated`: the
        repetition found on each side, when already searched (`filter_batch`)."""
        if self.identical or self.near_identical:
            src_norm, tgt_norm = normalized(source), normalized(target)
            if self.identical and src_norm == tgt_norm:
                yield "identical", "the sides are equal ignoring case, punctuation and spaces"
            elif self.near_identical and src_norm and tgt_norm:
                matcher = difflib.SequenceMatcher(None, src_norm, tgt_norm, autojunk=False)
                if matcher.real_quick_ratio() >= self.near_identical and matcher.quick_ratio() >= self.near_identical:
                    ratio = matcher.ratio()
                    if ratio >= self.near_identical:
                        yield "near_identical", f"similarity {ratio:.2f} >= {self.near_identical}"
        yield from self._side_rules(source, target, repeated)
        if (self.url_mismatch and ("." in source or "." in target)
                and (may_hold_url(source) or may_hold_url(target))):
            src_urls, tgt_urls = urls(source), urls(target)
            if src_urls != tgt_urls:
                yield "url_mismatch", f"{sorted(src_urls)[:3]} vs {sorted(tgt_urls)[:3]}"
        if self.number_mismatch:
            detail = unmatched_number(source, target, self.min_number)
            if detail:
                yield "number_mismatch", detail

    def _side_rules(self, source: str, target: str, repeated: tuple[re.Match | None, re.Match | None] | None
                    ) -> Iterator[tuple[str, str]]:
        """The rules on one side at a time, source first: only symbols, only numbers, repetition."""
        for index, (side, text) in enumerate((("source", source), ("target", target))):
            if self.only_symbols or self.only_numbers:
                yield from self._share_rules(side, text)
            if self.repeated:
                match = self._repetition.search(text) if repeated is None else repeated[index]
                if match:
                    yield f"repeated_{side}", f"{match.group(1)!r} repeated: {match.group()[:80]!r}"

    def _share_rules(self, side: str, text: str) -> Iterator[tuple[str, str]]:
        """Only symbols, only numbers. Outside ASCII, letters are counted first: when they alone reach
        `min_letter_share` (marks only add to them) or leave at most `max_digit_share` for digits (a character
        is never both), the exact share is not needed."""
        alpha, total = None, 0
        if not text.isascii() and (total := _non_space(text)):
            alpha = sum(map(str.isalpha, text))
        if self.only_symbols and (alpha is None or alpha / total < self.min_letter_share):
            share = letter_share(text)
            if share < self.min_letter_share:
                yield f"only_symbols_{side}", f"letters {share:.2f} < {self.min_letter_share} of characters"
        if self.only_numbers and (alpha is None or (total - alpha) / total > self.max_digit_share):
            share = digit_share(text)
            if share > self.max_digit_share:
                yield f"only_numbers_{side}", f"digits {share:.2f} > {self.max_digit_share} of characters"

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        """The decisions of a batch; the repetition rule's first stage looks at all its sides at once."""
        if not self.repeated:
            return [self._decide(doc, None) for doc in batch]
        found = self._repetition.search_many([text for doc in batch for text in sides(doc)])
        return [self._decide(doc, (found[2 * i], found[2 * i + 1])) for i, doc in enumerate(batch)]

    def _decide(self, doc: Document, repeated: tuple[re.Match | None, re.Match | None] | None
                ) -> bool | tuple[bool, str]:
        flagged = []
        for reason, detail in self.broken(*sides(doc), repeated):
            if not self.flags(reason):
                mark_rejected(doc, STEP, reason, detail)
                return False, reason
            flagged.append((reason, detail))
        for reason, detail in flagged:
            add_flag(doc, STEP, reason, detail)
            self.stat_update(f"flagged_{reason}")
        if flagged:
            self.stat_update("flagged")
        return True
