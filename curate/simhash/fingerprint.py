"""SimHash fingerprints of bitext pairs (step 3b): the features, the 64-bit fingerprint, and which of its bits
form each pigeonhole table.

The dedup step is three modules, one per seam, shared by both execution paths (`fast.SimHashDedup` on one node,
`stages.*` on a datatrove executor), so they cannot drift apart:

- `fingerprint` (this module): `SimHashConfig`, and `fingerprint_batch`: one 64-bit SimHash per pair over the
  features of source + target, columnar (one polars pass over both sides tokenises and hashes, each regex only
  on the rows of its segmentation mode; numpy counts bits 8 at a time with a byte table); pairs with too few
  features get an exact-content hash instead;
- `search`: the sub-quadratic search for pairs within Hamming distance k, table by table (`NearPairSearch`);
- `decisions`: fingerprints + near pairs (streamed, or given) -> keep / drop `Decision`s under `keep_one` or
  `max_conflicts`.

**Features.** Each side is lower-cased and split by its language's segmentation (`segment.mode_of`): word
languages into `\\w+` words, character languages (zh, ja, th, ...) into single `\\w` characters, so
punctuation and spacing never matter. Features are word unigrams and character bigrams, weight = count, hashed
with polars' seeded 64-bit hash; n-grams never cross from source to target. Unigrams for words because an edit
of one word changes the fewest features that way: SimHash distance grows with the angle between the feature
vectors, and on sentence pairs of ~20-40 features every extra feature an edit touches costs about a bit
(bench/results/simhash.md, "features"). Character bigrams for character languages because single characters
are too few distinct features (a Chinese sentence and its reordering collide).

**Short texts.** A pair with fewer than `min_features` features gets `exact=True` and, as fingerprint, the hash
of its normalised content: with 1-2 features a SimHash is one of a handful of values and unrelated short pairs
would collapse onto it. Exact-flagged pairs only ever match pairs with the same content.

**Defaults** (evidence in bench/results/simhash.md, from 33k real ParaCrawl, GlobalVoices, Tatoeba and TICO-19
pairs with planted 1-3 token edits): `k = 5`. SimHash distance tracks the angle between feature vectors, and
sentence pairs have tens of features, not the hundreds of the web pages Manku et al. tuned k = 3 for: one edited
word moves a Tatoeba-length pair by ~4-6 bits. At k = 5 about half of the 1-edit copies are found (a quarter at
k = 3); the distinct real pairs within distance 5 of each other (0.4% of them) are nearly all templates (the
same shop line with another price, product codes), while from k = 7 on unrelated pairs start to match. A
planted-copy recall of ~0.5 / 0.3 / 0.2 (1 / 2 / 3 edits) on short pairs is what SimHash on 64 bits can do
here; longer pairs fare better. `policy = "keep_one"`: the paper's reading ("delete samples with more than 2
conflicts", `max_conflicts`) keeps every copy of a pair repeated up to 3 times and deletes every copy, the
original included, of anything repeated more often; keep-one removes the redundancy without losing the
content. `max_conflicts` is there to reproduce the paper.

**Hash stability.** Token and content hashes are polars' seeded `Series.hash`, which polars does not promise to
keep across versions: fingerprints written by one polars version (the multi-stage files) must not be compared
with those of another; a run (all its stages) must use one polars version. Within a version they are stable
across processes, machines and batchings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import polars as pl
from datatrove.data import Document

from xplus.curate.record import SRC, TGT_LINE, TRG
from xplus.curate.segment import CHAR, mode_of

STEP = "dedup"

Policy = Literal["keep_one", "max_conflicts"]
POLICIES = ("keep_one", "max_conflicts")

_WORD_RE, _CHAR_RE = r"\w+", r"\w"
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class SimHashConfig:
    """One configuration shared by every block of a dedup run (fingerprints must be computed alike).

    Args:
        k: near-duplicate = Hamming distance <= k between 64-bit fingerprints
        policy: "keep_one" (keep the first pair of every cluster) or "max_conflicts" (the paper: drop every pair
            with more than `max_conflicts` near-duplicates)
        max_conflicts: the threshold of the `max_conflicts` policy
        word_ngram: n-gram size of word features (word-segmented languages)
        char_ngram: n-gram size of character features (character-segmented languages)
        min_features: pairs with fewer features are only matched on exact content
        num_blocks: pigeonhole blocks (> k); None for k + 3 (at most 64)
        seed: seed of the feature hash
        batch_size: pairs fingerprinted at once
    """

    k: int = 5
    policy: Policy = "keep_one"
    max_conflicts: int = 2
    word_ngram: int = 1
    char_ngram: int = 2
    min_features: int = 3
    num_blocks: int | None = None
    seed: int = 0x5EED
    batch_size: int = 20_000

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ValueError(f"policy: one of {POLICIES}, not {self.policy!r}")
        if not 0 <= self.k < self.blocks <= 64:
            raise ValueError(f"need 0 <= k < num_blocks <= 64, got k={self.k}, num_blocks={self.blocks}")

    @property
    def blocks(self) -> int:
        return self.num_blocks if self.num_blocks is not None else min(self.k + 3, 64)


@dataclass
class Fingerprints:
    """Per pair: the 64-bit fingerprint, the hash of its normalised content, and whether it is exact-only."""

    fp: np.ndarray  # uint64
    content: np.ndarray  # uint64
    exact: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.fp)

    @classmethod
    def concat(cls, parts: list[Fingerprints]) -> Fingerprints:
        if not parts:
            return cls(np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, bool))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("fp", "content", "exact")))


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads combined n-gram hashes over all 64 bits."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _ngrams(rows: np.ndarray, hashes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the n-grams of consecutive tokens of the same row (rows ascending)."""
    if n == 1:
        return rows, hashes
    start = np.flatnonzero(rows[: max(len(rows) - n + 1, 0)] == rows[n - 1:])
    h = hashes[start]
    for j in range(1, n):
        h = (h * _MIX) ^ (hashes[start + j] + np.uint64(j))
    return rows[start], _mix(h)


def _char_rows(codes, n: int) -> np.ndarray:
    """Per row: whether its language is character-segmented (one `mode_of` per distinct code)."""
    modes: dict[str, bool] = {}
    return np.fromiter((modes[c] if c in modes else modes.setdefault(c, mode_of(c) == CHAR) for c in codes), bool, n)


def _features(lower: pl.Series, char: np.ndarray, config: SimHashConfig) -> tuple[np.ndarray, np.ndarray]:
    """(row of each feature, feature hash) of lower-cased texts; the features of a row are contiguous (rows
    ascending within each segmentation mode). Each regex runs only on the rows of its mode."""
    rows, hashes = [], []
    for is_char, regex, n in ((False, _WORD_RE, config.word_ngram), (True, _CHAR_RE, config.char_ngram)):
        mine = np.flatnonzero(char == is_char)
        if not len(mine):
            continue
        tokens = (lower if len(mine) == len(lower) else lower.gather(mine)).str.extract_all(regex)
        mode_rows = np.repeat(mine, tokens.list.len().fill_null(0).to_numpy())
        mode_rows, mode_hashes = _ngrams(mode_rows, tokens.explode().drop_nulls().hash(seed=config.seed).to_numpy(), n)
        rows.append(mode_rows)
        hashes.append(mode_hashes)
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.uint64)
    return np.concatenate(rows), np.concatenate(hashes)


#: per byte value, its 8 bits as lanes of each width: `_LANES[dtype][w, byte]` is the w-th of the `itemsize`
#: uint64 words holding them (word-major, so each word's cumulative sum runs over contiguous memory)
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")
_LANES = {np.dtype(dt): np.ascontiguousarray(np.ascontiguousarray(_BYTE_BITS.astype(dt)).view(np.uint64).T)
          for dt in (np.uint8, np.uint16, np.uint32)}


def _bit_counts(rows: np.ndarray, hashes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: how many of its features have each of the 64 bits set, and how many features it has.

    SWAR: a 256-entry table turns each byte of a hash into its 8 bits as lanes of one uint64 (uint8 lanes; wider
    lanes for rows of 256+ features), a cumulative sum over the features adds all 8 lanes at once, and the
    difference of the sums at the ends of a row's (contiguous) features is its count; modular arithmetic keeps
    the difference exact, and a lane cannot carry into the next because no row has more features than the lane
    holds. 8 passes (per lane word) instead of 64 bincounts: ~7x faster; one contiguous cumulative sum per word,
    as a 2-D cumulative sum down the columns of wide lanes is 3x slower."""
    total = np.bincount(rows, minlength=n)
    longest = int(total.max()) if n else 0
    lane = np.dtype(np.uint8 if longest < 2**8 else np.uint16 if longest < 2**16 else np.uint32)
    counts = np.zeros((n, 64), lane)
    if not len(rows):
        return counts, total
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    ends = np.r_[starts[1:], len(rows)] - 1
    table, words = _LANES[lane], lane.itemsize
    found = np.empty((len(starts), 8, words), np.uint64)
    for byte in range(8):
        values = ((hashes >> np.uint64(8 * byte)) & np.uint64(0xFF)).astype(np.intp)
        for word in range(words):
            summed = np.cumsum(table[word][values])
            found[:, byte, word] = summed[ends]
            found[1:, byte, word] -= summed[starts[1:] - 1]
    counts[rows[starts]] = found.view(lane).reshape(len(starts), 64)
    return counts, total


def _normalised(lower: pl.Series) -> pl.Series:
    """Whitespace runs collapsed to one space, ends stripped; only the rows that need it are rewritten."""
    fix = np.flatnonzero(lower.str.contains(r"\s\s|[^\S ]|^\s|\s$").fill_null(False).to_numpy())
    if not len(fix):
        return lower
    return lower.scatter(fix, lower.gather(fix).str.replace_all(r"\s+", " ").str.strip_chars())


def _content_hash(lower_sources: pl.Series, lower_targets: pl.Series, seed: int) -> np.ndarray:
    """Hash of the normalised pair: lower-cased (already), whitespace collapsed, source TAB target."""
    return (_normalised(lower_sources) + "\t" + _normalised(lower_targets)).hash(seed=seed).to_numpy()


def distinct_pairs(pairs: Sequence[tuple]) -> list[tuple]:
    """The first of each set of pairs (source, target, ...) with the same normalised content, in order: what the
    exact-duplicate rule sees as one pair (lower-cased, whitespace collapsed; the hash of `_content_hash`)."""
    n = len(pairs)
    sides = pl.Series([pair[0] for pair in pairs] + [pair[1] for pair in pairs], dtype=pl.String).str.to_lowercase()
    _, first = np.unique(_content_hash(sides[:n], sides[n:], seed=0), return_index=True)
    return [pairs[i] for i in np.sort(first)]


def fingerprint_batch(sources: list[str], targets: list[str], src_codes: list[str], trg_codes: list[str],
                      config: SimHashConfig) -> Fingerprints:
    """Fingerprints of a batch of pairs (lists, or anything polars takes as a string column). Both sides go
    through polars as one column (row i source, row n + i target)."""
    n = len(sources)
    texts = pl.concat([pl.Series(sources, dtype=pl.String), pl.Series(targets, dtype=pl.String)], rechunk=True)
    lower = texts.str.to_lowercase()
    char = np.concatenate([_char_rows(src_codes, n), _char_rows(trg_codes, n)])
    counts, total = _bit_counts(*_features(lower, char, config), 2 * n)
    total = total[:n] + total[n:]
    bits = (2 * (counts[:n].astype(np.int32) + counts[n:]) > total[:, None]).astype(np.uint8)
    fp = np.packbits(bits, axis=1, bitorder="little").view("<u8").ravel().astype(np.uint64)
    content = _content_hash(lower[:n], lower[n:], config.seed)
    exact = total < config.min_features
    fp[exact] = content[exact]
    return Fingerprints(fp, content, exact)


def fingerprint_docs(docs: list[Document], config: SimHashConfig) -> Fingerprints:
    """`fingerprint_batch` of bitext records (`doc.text` source, `metadata["tgt_line"]` target)."""
    meta = [doc.metadata for doc in docs]
    return fingerprint_batch([doc.text for doc in docs], [m[TGT_LINE] for m in meta], [m[SRC] for m in meta],
                             [m[TRG] for m in meta], config)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(a, b))


# --- pigeonhole tables: which bits of the fingerprint each table's key holds -------------------------------


def block_bounds(config: SimHashConfig) -> list[tuple[int, int]]:
    """(low bit, high bit) of each pigeonhole block."""
    bounds = np.linspace(0, 64, config.blocks + 1).round().astype(int).tolist()
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def bit_mask(lo: int, hi: int) -> int:
    return ((1 << hi) - 1) ^ ((1 << lo) - 1)


def table_blocks(config: SimHashConfig) -> list[tuple[int, ...]]:
    """The blocks of each table: every choice of `blocks - k` of the `blocks` blocks, in lexicographic order."""
    return list(combinations(range(config.blocks), config.blocks - config.k))


def table_masks(config: SimHashConfig) -> list[int]:
    """One 64-bit mask per table: the bits of its blocks."""
    blocks = block_bounds(config)
    return [sum(bit_mask(*blocks[j]) for j in chosen) for chosen in table_blocks(config)]
