"""Repeated runs in a line (`Home Home Home Home`): OpusFilter's `RepetitionFilter` pattern, found fast.

The rule is the regular expression `(\\S.{k-1,100}?)(?: *\\1){m,}`: a unit of `k`+ characters (the first not a
space) followed by `m` more copies, each after any number of spaces. `re.search` with it tries every unit length
at every position (~100 steps a character), so `RepetitionFinder.search` gives the same leftmost match in three
stages, each only for the lines the previous one could not clear:

1. a necessary condition at C speed: once every space is removed, the unit becomes a word `w` of 1 to 101
   characters written `m + 1` times in a row. Powers of a 1- or 2-character `w` are found by a regex that tries
   2 lengths per position; for a longer `w`, the 3-character prefix of `w` occurs `m + 1` times, so the line
   needs a trigram that often (counted with `collections.Counter` over `zip`), and then one of its occurrences
   must start `w` repeated (checked with string comparisons from each occurrence to a later one). For a batch
   (`search_many`, what pair consistency calls) the same condition is first checked for all lines at once with
   numpy: runs of equal characters at distance 1 and 2, and a trigram recurring at `m` equal steps of at most
   101 (`w`'s prefix at the start of each copy); only the lines it cannot clear are looked at one by one;
2. the candidate starts of the unit in the original line (a prefix that recurs at the start of the next copy);
3. the pattern itself, matched at those starts in order: the first match is `search`'s.

Stage 1 clears nearly every line of real text (`tests/curate/test_repetition.py` checks all three stages
against `re.search` on the shared corpora and on generated lines).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

#: the longest unit the pattern allows, plus one character of slack for the prefix arithmetic
_MAX_UNIT = 101
#: odd 64-bit multipliers mixing the three characters of a trigram and its line into one hash
_MIX = tuple(np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5))
#: the most buckets of the first count of trigram hashes (an 8 MB table for a batch of 1000 pairs; a smaller input
#: gets a smaller table, with at least 4 buckets a trigram, so a bucket is shared by a quarter of a trigram or less)
_BUCKET_BITS = 20
#: above every code point: separators between lines, one value each, equal to no character
_SEPARATOR = 0x110000


class RepetitionFinder:
    """The leftmost run of a unit of `min_repeat_chars`+ characters repeated `max_repeats`+ more times.

    Args:
        min_repeat_chars: shortest repeated unit
        max_repeats: copies after the first
    """

    def __init__(self, min_repeat_chars: int = 3, max_repeats: int = 3):
        if min_repeat_chars < 1 or max_repeats < 1:
            raise ValueError("min_repeat_chars and max_repeats must be at least 1")
        self.min_repeat_chars = min_repeat_chars
        self.max_repeats = max_repeats
        # the stdlib engine runs this backreference pattern ~1.5x faster than `regex`
        self.pattern = re.compile(rf"(\S.{{{min_repeat_chars - 1},100}}?)(?: *\1){{{max_repeats},}}")
        # a 1- or 2-character word written `max_repeats + 1` times (lookaheads: ~2x faster than `(.{1,2})\1{m}`)
        ones, twos = r"\1" * max_repeats, r"\2\3" * max_repeats
        self._short_power = re.compile(rf"(.)(?={ones})|(.)(.)(?={twos})")

    def search(self, text: str) -> re.Match | None:
        """`self.pattern.search(text)`, the same match, found without trying the pattern everywhere."""
        if not self.may_repeat(text):
            return None
        return self._search_candidates(text)

    def search_many(self, texts: Sequence[str]) -> list[re.Match | None]:
        """`search` of each text; stage 1 runs for all of them at once (numpy), so that only the few texts it
        cannot clear are looked at one by one."""
        maybe = self.may_repeat_many(texts)
        return [self.search(text) if flagged else None for text, flagged in zip(texts, maybe, strict=True)]

    def may_repeat_many(self, texts: Sequence[str]) -> list[bool]:
        """For each text, False only when `may_repeat` is False: its text without spaces has no 1- or
        2-character word written `max_repeats + 1` times in a row (runs of equal characters at distance 1
        and 2) and no trigram that recurs at `max_repeats` equal steps of at most 101 (`_trigram_powers`).
        Texts are joined with a separator that equals no character."""
        if not texts:
            return []
        squeezed = [text.replace(" ", "") for text in texts]
        lengths = np.fromiter(map(len, squeezed), dtype=np.int64, count=len(squeezed))
        joined = "\0".join(squeezed).encode("utf-32-le", "surrogatepass")
        codes = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64)
        codes[np.cumsum(lengths + 1)[:-1] - 1] = _SEPARATOR + np.arange(len(squeezed) - 1, dtype=np.uint64)
        line = np.repeat(np.arange(len(squeezed)), lengths + 1)[:len(codes)]
        flagged = np.zeros(len(squeezed), dtype=bool)
        for period in (1, 2):
            equal = np.concatenate(([0], np.cumsum(codes[:-period] == codes[period:])))
            run = self.max_repeats * period
            flagged[line[np.flatnonzero(equal[run:] - equal[:-run] == run)]] = True
        if len(codes) > 2:
            flagged[line[self._trigram_powers(codes, line)]] = True
        return flagged.tolist()

    def _trigram_powers(self, codes: np.ndarray, line: np.ndarray) -> np.ndarray:
        """Positions x whose trigram recurs at x + p, x + 2p ... x + max_repeats * p for some p <= 101: where a
        word of 3+ characters written `max_repeats + 1` times in a row can start. Only trigrams written that often
        in their line qualify (counted first in up to 2^20 buckets of a 64-bit hash of trigram and line: shared buckets
        and collisions only add candidates); their later occurrences within 101 characters give the periods."""
        mixed = (codes[:-2] * _MIX[0]) ^ (codes[1:-1] * _MIX[1]) ^ (codes[2:] * _MIX[2]) ^ (
            line[:-2].astype(np.uint64) * _MIX[3])
        bits = min(_BUCKET_BITS, (4 * len(mixed)).bit_length())
        bucket = (mixed >> np.uint64(64 - bits)).astype(np.intp)
        crowded = np.flatnonzero(np.bincount(bucket, minlength=1 << bits)[bucket] > self.max_repeats)
        order = crowded[np.argsort(mixed[crowded], kind="stable")]  # each trigram's positions together, ascending
        keys, found = mixed[order], []
        for ahead in range(1, len(order)):
            period = order[ahead:] - order[:-ahead]
            near = (keys[ahead:] == keys[:-ahead]) & (period <= _MAX_UNIT)
            if not near.any():
                break  # positions ascend within a trigram: later ones are farther still
            starts, period = order[:-ahead][near], period[near]
            recurs = np.ones(len(starts), dtype=bool)
            for copy in range(2, self.max_repeats + 1):
                at = starts + copy * period
                recurs &= (at < len(mixed)) & (mixed[np.minimum(at, len(mixed) - 1)] == mixed[starts])
            found.append(starts[recurs])
        return np.concatenate(found) if found else np.zeros(0, dtype=np.intp)

    def may_repeat(self, text: str) -> bool:
        """False only when no match can exist: the line without spaces holds no `w` written `max_repeats + 1`
        times in a row (1 <= len(w) <= 101)."""
        squeezed = text.replace(" ", "")
        copies = self.max_repeats + 1
        if len(squeezed) < copies:
            return False
        if self._short_power.search(squeezed):
            return True
        if len(squeezed) < 3 * copies:
            return False
        trigrams = zip(squeezed, squeezed[1:], squeezed[2:], strict=False)
        if len(squeezed) - 2 - len(set(trigrams)) < copies - 1:
            return False  # a trigram written `copies` times repeats `copies - 1` times; a set is cheaper than counts
        counts = Counter(zip(squeezed, squeezed[1:], squeezed[2:], strict=False))
        return any(self._power_starts_at(squeezed, "".join(gram))
                   for gram, count in counts.items() if count >= copies)

    def _power_starts_at(self, squeezed: str, gram: str) -> bool:
        """Whether some occurrence of `gram` starts a word written `max_repeats + 1` times in a row, its next
        copy starting at a later occurrence of `gram`."""
        positions, at = [], squeezed.find(gram)
        while at >= 0:
            positions.append(at)
            at = squeezed.find(gram, at + 1)
        for index, start in enumerate(positions):
            for following in positions[index + 1:]:
                period = following - start
                if period > _MAX_UNIT:
                    break
                if squeezed.startswith(squeezed[start:following] * self.max_repeats, following):
                    return True
        return False

    def _search_candidates(self, text: str) -> re.Match | None:
        """The leftmost match, trying the pattern only at starts whose prefix recurs where a copy could begin."""
        size = self.min_repeat_chars
        starts: dict[str, list[int]] = {}
        for i in range(len(text) - size + 1):
            starts.setdefault(text[i:i + size], []).append(i)
        candidates = sorted(i for positions in starts.values() if len(positions) > self.max_repeats
                            for i in positions)
        for i in candidates:
            if self._copies_follow(text, i, starts[text[i:i + size]]) and (match := self.pattern.match(text, i)):
                return match
        return None

    def _copies_follow(self, text: str, i: int, positions: list[int]) -> bool:
        """Whether, for some later occurrence q of the prefix at `i`, the unit `text[i:q - s]` (s trailing
        spaces, any split) is followed by `max_repeats` copies separated by spaces only."""
        for q in positions:
            if q <= i:
                continue
            trailing = q - i - len(text[i:q].rstrip(" "))
            if q - i > _MAX_UNIT + trailing:
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
