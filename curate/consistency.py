"""Pair consistency: cheap hard rules that compare the two sides of a pair (between length and SimHash).

Web-mined bitext pairs sentences that are not translations of each other: a product line aligned with its
neighbour (`7x Virgin Guadalupe VB007` / `5x Virgen de Guadalupe VB007`), a side copied untranslated, a
navigation crumb of symbols. LID cannot see these (both sides are in the right language) and neither can the
length ratio. `ConsistencyFilter` applies the well-known hard rules of bicleaner-hardrules (`c_identical`,
`c_no_only_symbols`, `c_no_only_numbers`, number consistency, URLs) and OpusFilter's heuristics
(`NonZeroNumeralsFilter`, `RepetitionFilter`), each a flag with its own reason, in this order:

- `identical`: both sides are the same once case, punctuation and spaces are ignored (a copy, not a
  translation: `Göhmann & Co. GmbH` twice);
- `near_identical` (off by default): the normalised sides are at least `near_identical` similar (difflib ratio);
  on the labelled ParaCrawl pairs 0.9 drops 79 V/F pairs for 93 bad ones (product names, brand lists, addresses
  are near-identical in valid pairs), so it is not worth it there; untranslated sentences are LID's job;
- `only_symbols_source` / `_target`: under `min_letter_share` of the side's non-space characters are letters;
- `only_numbers_source` / `_target`: over `max_digit_share` of them are digits;
- `repeated_source` / `_target`: a run of `min_repeat_chars`+ characters repeated `max_repeats`+ more times in
  a row (OpusFilter's `RepetitionFilter` pattern: crawl debris, `Home Home Home Home`);
- `url_mismatch`: the URLs and e-mail addresses of the sides differ (as sets, case-insensitively, without the
  scheme, `www.` or a trailing `/`);
- `number_mismatch`: both sides carry numbers and a number of at least `min_number` on one side is absent
  from the other (below).

Numbers are compared by value, not by spelling: decimal and thousands separators (`3.5`/`3,5`,
`14,000`/`14 000`/`14.000`/`14000`) and 12-hour times (`5 pm` = `17:00`, `9.30 pm` = `21h30`) are
normalised, digits of any script count (`২০০৮` = `2008`), and a number matches when its digits agree once
leading and trailing zeros are dropped (`1.2 million` / `120 万`, `2.8` / `280`: CJK magnitude words and
unit multiples) or when one of its digit groups appears on the other side (`9:30` / `9.30`). A CJK month
(`10 月`, `3월`) is a month English spells out and is skipped; a pair with CJK myriads (`3억 4천만`, `120 万`)
is not compared (its numbers are split where English's are not). Small numbers
(< `min_number`, 10) are not required to match (`three seasons` / `3 temporadas`, `4 月` for April), nor are
numbers on one side only (numbers written as words).

The evidence for every default (what each rule removes from 10,000 human-labelled ParaCrawl v3 pairs, by
label, and how many FLORES-200 dev pairs, which are all correct translations, it would drop) is in
`bench/results/quality_paracrawl.md` and the module's tests.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import BatchFilter
from xplus.curate.record import mark_rejected, sides

STEP = "consistency"

_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")
#: URLs (with a scheme or `www.`) and e-mail addresses
_URL = regex.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"']+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
#: a 12-hour time: `5 pm`, `5 p.m.`, `9.30pm`, `10:30 AM`
_TIME12 = regex.compile(r"(?<![\d.,:])(\d{1,2})(?:[:.](\d{2}))?\s?([ap])\.?\s?m\b\.?", regex.IGNORECASE)
#: one number: digit groups joined by decimal / thousands separators, or space-separated thousands (`14 000`)
_NUMBER = regex.compile(r"(?<!\d)(?:\d{1,3}(?:\p{Zs}\d{3})+(?!\d)|\d+(?:[.,'\u2019]\d+)*)"
                     r"(?P<month>\s?[月월])?(?P<decade>(?<=\d0)s\b)?")
#: a CJK magnitude after a number (`120 万`, `3억 4천만`, `5千4百万`): the number is a part of one written with
#: myriads, which English writes in thousands and millions; a pair with one is not compared
_CJK_MAGNITUDE = regex.compile(r"\d\s?[十百千万萬亿億兆십백천만억조]")
_DIGITS = regex.compile(r"\d+")


def normalized(text: str) -> str:
    """Letters, marks and digits only, case-folded: what `identical` compares."""
    return "".join(_WORD.findall(text.casefold()))


def urls(text: str) -> set[str]:
    """URLs and e-mail addresses of a side, case-folded, without scheme, `www.` and trailing punctuation."""
    found = set()
    for match in _URL.findall(text):
        url = regex.sub(r"(?i)^(?:(?:https?|ftp)://)?(?:www\.)?", "", match.casefold()).rstrip("/.,;:!?)")
        found.add(url)
    return found


def _to_24h(match: regex.Match) -> str:
    hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
    return f" {hour}:{match.group(2) or '00'} "


def _ascii_digits(digits: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in digits)


def numbers(text: str) -> list[tuple[int, frozenset[str]]]:
    """The numbers of a side: (value read with separators removed, the keys it can match under).

    The keys are the number's digits, and each of its digit groups, with leading and trailing zeros stripped
    (`14,000` -> {14}, `9.30` -> {93, 9, 3}, `0230` -> {23}), and the decade of `1970s` (`7`, as in `70. let`);
    a number of zeros has no key and is skipped, as is a CJK month (`10 月`, `3월`: English spells months)."""
    if not any(map(str.isdigit, text)):
        return []
    if "m" in text or "M" in text:
        text = _TIME12.sub(_to_24h, text)
    found = []
    for match in _NUMBER.finditer(text):
        if match.group("month"):
            continue
        groups = [_ascii_digits(group) for group in _DIGITS.findall(match.group())]
        decade = [groups[-1][-2:]] if match.group("decade") else []
        keys = frozenset(key for key in (g.strip("0") for g in (*groups, "".join(groups), *decade)) if key)
        if keys:
            found.append((int("".join(groups)), keys))
    return found


def unmatched_number(source: str, target: str, min_number: int) -> str | None:
    """The first number of at least `min_number` on one side that the other side lacks (both sides having
    numbers), as `detail`; None when the numbers agree."""
    if _CJK_MAGNITUDE.search(source) or _CJK_MAGNITUDE.search(target):
        return None
    src_numbers, tgt_numbers = numbers(source), numbers(target)
    if not src_numbers or not tgt_numbers:
        return None
    src_keys = frozenset().union(*(keys for _, keys in src_numbers))
    tgt_keys = frozenset().union(*(keys for _, keys in tgt_numbers))
    for side, found, other in (("source", src_numbers, tgt_keys), ("target", tgt_numbers, src_keys)):
        for value, keys in found:
            if value >= min_number and not keys & other:
                return f"{side} number {value} not in the other side"
    return None


def _non_space(text: str) -> int:
    """Characters that are not whitespace (`str.split` splits on exactly the characters `str.isspace` accepts)."""
    return sum(map(len, text.split()))


def letter_share(text: str) -> float:
    """Share of the non-space characters that are letters or combining marks (Devanagari, Thai vowel signs...),
    counted at C speed: marks are never `isalpha`, and a category starting with `M` is the only one holding an
    upper-case M, so the marks are the M's of the joined categories."""
    total = _non_space(text)
    if not total:
        return 0.0
    marks = 0 if text.isascii() else "".join(map(unicodedata.category, text)).count("M")
    return (sum(map(str.isalpha, text)) + marks) / total


def digit_share(text: str) -> float:
    """Share of the non-space characters that are digits (`str.isdigit`)."""
    total = _non_space(text)
    return sum(map(str.isdigit, text)) / total if total else 0.0


class ConsistencyFilter(BatchFilter):
    """Drop pairs whose two sides contradict each other by cheap, well-known hard rules (see the module).

    Every rule is a flag; the thresholds are the defaults the evidence supports. Decisions, recorded with
    `mark_rejected` under step `consistency` and counted (`dropped_<reason>`; kept pairs `kept`):
    `identical`, `near_identical`, `only_symbols_<side>`, `only_numbers_<side>`, `repeated_<side>`, `url_mismatch`,
    `number_mismatch`, tried in this order; the `detail` says what was found.

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
        max_repeats: int = 2,
        url_mismatch: bool = True,
        number_mismatch: bool = True,
        min_number: int = 10,
        exclusion_writer: DiskWriter | None = None,
        batch_size: int = 1000,
    ):
        super().__init__(exclusion_writer, batch_size)
        if not 0 <= min_letter_share <= 1 or not 0 <= max_digit_share <= 1:
            raise ValueError("min_letter_share and max_digit_share are shares in [0, 1]")
        if min_repeat_chars < 1 or max_repeats < 1:
            raise ValueError("min_repeat_chars and max_repeats must be at least 1")
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
        # the stdlib engine runs this backreference pattern ~1.5x faster than `regex`
        self._repetition = re.compile(rf"(\S.{{{min_repeat_chars - 1},100}}?)(?: *\1){{{max_repeats},}}")

    def _find_repetition(self, text: str):
        """The leftmost match of the repetition pattern, exactly as `search` would give, without trying the
        pattern at every position: a unit of `min_repeat_chars`+ characters repeated `max_repeats` more times
        starts with a prefix that recurs at the start of the next copy, so a start is tried only when some
        later occurrence of its prefix begins a run of copies (checked with plain string comparisons)."""
        size = self.min_repeat_chars
        starts: dict[str, list[int]] = {}
        for i in range(len(text) - size + 1):
            starts.setdefault(text[i:i + size], []).append(i)
        candidates = sorted(i for positions in starts.values() if len(positions) > self.max_repeats
                            for i in positions)
        for i in candidates:
            if self._copies_follow(text, i, starts[text[i:i + size]]) and (match := self._repetition.match(text, i)):
                return match
        return None

    def _copies_follow(self, text: str, i: int, positions: list[int]) -> bool:
        """Whether, for some later occurrence q of the prefix at `i`, the unit `text[i:q - s]` (s trailing
        spaces, any split) is followed by `max_repeats` copies separated by spaces only."""
        for q in positions:
            if q <= i:
                continue
            trailing = q - i - len(text[i:q].rstrip(" "))
            if q - i > 101 + trailing:
                break  # the unit is at most 101 characters, plus the spaces before its copy
            for spaces in range(trailing + 1):
                unit = text[i:q - spaces]
                if len(unit) < self.min_repeat_chars:
                    break
                pos, copies = q, 0
                while copies < self.max_repeats and text.startswith(unit, pos):
                    copies, pos = copies + 1, pos + len(unit)
                    while copies < self.max_repeats and pos < len(text) and text[pos] == " ":
                        pos += 1
                if copies == self.max_repeats:
                    return True
        return False

    def check(self, source: str, target: str) -> tuple[str, str] | None:
        """(reason, detail) of the first rule the pair breaks, None when it breaks none."""
        if self.identical or self.near_identical:
            src_norm, tgt_norm = normalized(source), normalized(target)
            if self.identical and src_norm == tgt_norm:
                return "identical", "the sides are equal ignoring case, punctuation and spaces"
            if self.near_identical and src_norm and tgt_norm:
                matcher = difflib.SequenceMatcher(None, src_norm, tgt_norm, autojunk=False)
                if matcher.real_quick_ratio() >= self.near_identical and matcher.quick_ratio() >= self.near_identical:
                    ratio = matcher.ratio()
                    if ratio >= self.near_identical:
                        return "near_identical", f"similarity {ratio:.2f} >= {self.near_identical}"
        for side, text in (("source", source), ("target", target)):
            if self.only_symbols:
                share = letter_share(text)
                if share < self.min_letter_share:
                    return f"only_symbols_{side}", f"letters {share:.2f} < {self.min_letter_share} of characters"
            if self.only_numbers:
                share = digit_share(text)
                if share > self.max_digit_share:
                    return f"only_numbers_{side}", f"digits {share:.2f} > {self.max_digit_share} of characters"
            if self.repeated:
                match = self._find_repetition(text)
                if match:
                    return f"repeated_{side}", f"{match.group(1)!r} repeated: {match.group()[:80]!r}"
        if self.url_mismatch and ("." in source or "." in target):
            src_urls, tgt_urls = urls(source), urls(target)
            if src_urls != tgt_urls:
                return "url_mismatch", f"{sorted(src_urls)[:3]} vs {sorted(tgt_urls)[:3]}"
        if self.number_mismatch:
            detail = unmatched_number(source, target, self.min_number)
            if detail:
                return "number_mismatch", detail
        return None

    def decide(self, doc: Document) -> bool | tuple[bool, str]:
        broken = self.check(*sides(doc))
        if broken is None:
            return True
        reason, detail = broken
        mark_rejected(doc, STEP, reason, detail)
        return False, reason

    def filter_batch(self, batch: Iterable[Document]) -> list[bool | tuple[bool, str]]:
        results = [self.decide(doc) for doc in batch]
        if kept := sum(result is True for result in results):
            self.stat_update("kept", value=kept)
        return results

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.decide(doc)
