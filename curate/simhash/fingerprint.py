"""SimHash fingerprints of bitext pairs, the candidate search and the two decision policies (step 3b).

Everything both dedup paths (`fast.SimHashDedup` on one node, `stages.*` on a datatrove executor) compute lives
here, so they cannot drift apart:

- `fingerprint_batch`: one 64-bit SimHash per pair over the features of source + target, columnar (polars
  tokenises and hashes, numpy counts bits); pairs with too few features get an exact-content hash instead;
- `table_masks` / `table_pairs` / `near_pairs`: the sub-quadratic search for pairs within Hamming distance k;
- `decide`: turns fingerprints + verified pairs into keep / drop decisions under `keep_one` or
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

**Search.** Pigeonhole: cut the 64 bits into `num_blocks` = b blocks; two fingerprints within distance k differ
in at most k blocks, so they agree exactly on some b - k of them. One table per choice of b - k blocks
(C(b, k) tables; b = k + 1 is the classic k+1 tables of one block); within a table, fingerprints are sorted by
the masked bits and only equal keys are compared. More blocks mean more tables but longer keys, hence fewer
random candidates (they grow as tables * N^2 / 2^(key bits + 1)): the default b = k + 2 (21 tables of 18-bit keys
at k = 5); timings in bench/results/simhash.md. Exact duplicates
(same content) are collapsed before the search, so a pair copied 1000 times is one fingerprint in the tables, and
verified candidates are deduplicated.
"""

from __future__ import annotations

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

#: decision codes of `decide`, and the reject reasons they stand for
KEEP, EXACT, NEAR, CONFLICTS = 0, 1, 2, 3
REASONS = {EXACT: "exact_duplicate", NEAR: "near_duplicate", CONFLICTS: "too_many_conflicts"}

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
        num_blocks: pigeonhole blocks (> k); None for k + 2
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
        return self.num_blocks if self.num_blocks is not None else self.k + 2


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


# --- fingerprints ---------------------------------------------------------------------------------------


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


def _features(texts: pl.Series, char: np.ndarray, config: SimHashConfig) -> tuple[np.ndarray, np.ndarray]:
    """(row of each feature, feature hash) for one side of a batch; rows ascending."""
    lower = texts.str.to_lowercase()
    tokens = pl.select(
        pl.when(pl.Series(char)).then(lower.str.extract_all(_CHAR_RE)).otherwise(lower.str.extract_all(_WORD_RE))
    ).to_series()
    rows = np.repeat(np.arange(len(texts)), tokens.list.len().fill_null(0).to_numpy())
    hashes = tokens.explode().drop_nulls().hash(seed=config.seed).to_numpy()
    parts = [_ngrams(rows[char[rows] == is_char], hashes[char[rows] == is_char], n)
             for is_char, n in ((True, config.char_ngram), (False, config.word_ngram))]
    rows, hashes = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    order = np.argsort(rows, kind="stable")
    return rows[order], hashes[order]


def _bit_counts(rows: np.ndarray, hashes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: how many of its features have each of the 64 bits set, and how many features it has (one
    weighted bincount per bit: 2-3x faster than a reduceat over the unpacked bit matrix)."""
    counts = np.empty((n, 64), np.int32)
    for bit in range(64):
        counts[:, bit] = np.bincount(rows, weights=(hashes >> np.uint64(bit)) & np.uint64(1), minlength=n)
    return counts, np.bincount(rows, minlength=n)


def _normalised(texts: pl.Series) -> pl.Series:
    return texts.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()


def content_hash(sources: pl.Series, targets: pl.Series, seed: int) -> np.ndarray:
    """Hash of the normalised pair: lower-cased, whitespace collapsed, source TAB target."""
    return (_normalised(sources) + "\t" + _normalised(targets)).hash(seed=seed).to_numpy()


def fingerprint_batch(sources: list[str], targets: list[str], src_codes: list[str], trg_codes: list[str],
                      config: SimHashConfig) -> Fingerprints:
    """Fingerprints of a batch of pairs (lists, or anything polars takes as a string column)."""
    n = len(sources)
    src, tgt = pl.Series(sources, dtype=pl.String), pl.Series(targets, dtype=pl.String)
    counts, total = np.zeros((n, 64), np.int32), np.zeros(n, np.int64)
    for texts, codes in ((src, src_codes), (tgt, trg_codes)):
        char = np.fromiter((mode_of(c) == CHAR for c in codes), bool, n)
        side_counts, side_total = _bit_counts(*_features(texts, char, config), n)
        counts += side_counts
        total += side_total
    bits = (2 * counts > total[:, None]).astype(np.uint8)
    fp = np.packbits(bits, axis=1, bitorder="little").view("<u8").ravel().astype(np.uint64)
    content = content_hash(src, tgt, config.seed)
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


# --- candidate search -----------------------------------------------------------------------------------


def table_masks(config: SimHashConfig) -> list[int]:
    """One 64-bit mask per table: the bits of one choice of `blocks - k` of the `blocks` blocks."""
    bounds = np.linspace(0, 64, config.blocks + 1).round().astype(int)
    block_masks = [((1 << int(hi)) - 1) ^ ((1 << int(lo)) - 1) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    return [sum(chosen) for chosen in combinations(block_masks, config.blocks - config.k)]


def _pairs_in_runs(order: np.ndarray, keys: np.ndarray, chunk: int = 5_000_000):
    """All pairs of positions (in `order`) whose sorted keys are equal, in chunks of about `chunk` pairs."""
    n = len(keys)
    if n < 2:
        return
    new_run = np.r_[True, keys[1:] != keys[:-1]]
    run_end = np.r_[np.flatnonzero(new_run)[1:], n]
    ends = np.repeat(run_end, np.diff(np.r_[np.flatnonzero(new_run), n]))
    partners = ends - np.arange(n) - 1  # later members of the same run
    has = np.flatnonzero(partners)
    if not len(has):
        return
    cum = np.cumsum(partners[has])
    cut = np.searchsorted(cum, np.arange(chunk, cum[-1], chunk), side="right")
    for part in np.split(has, cut):
        counts = partners[part]
        left = np.repeat(part, counts)
        step = np.arange(len(left)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
        yield order[left], order[left + step]


def table_pairs(fp: np.ndarray, mask: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of positions in `fp` that agree on the bits of `mask` and lie within distance k."""
    keys = fp & np.uint64(mask)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    found_a, found_b = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for a, b in _pairs_in_runs(order, keys):
        ok = hamming(fp[a], fp[b]) <= k
        a, b = a[ok], b[ok]
        found_a.append(np.minimum(a, b))
        found_b.append(np.maximum(a, b))
    return np.concatenate(found_a), np.concatenate(found_b)


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deduplicated pairs, sorted."""
    if not len(a):
        return a, b
    both = np.unique(np.stack([a, b], axis=1), axis=0)
    return both[:, 0], both[:, 1]


def content_reps(fps: Fingerprints) -> np.ndarray:
    """Positions of the first pair of every content among the pairs that take part in the near search."""
    candidates = np.flatnonzero(~fps.exact)
    _, first = np.unique(fps.content[candidates], return_index=True)
    return candidates[np.sort(first)]


def near_pairs(fps: Fingerprints, config: SimHashConfig) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (positions i < j) of distinct-content, non-exact pairs within distance k, deduplicated."""
    reps = content_reps(fps)
    found = [table_pairs(fps.fp[reps], mask, config.k) for mask in table_masks(config)]
    a, b = unique_pairs(np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found]))
    return reps[a], reps[b]


# --- decisions ------------------------------------------------------------------------------------------


@dataclass
class Decisions:
    """Per pair: KEEP / EXACT / NEAR / CONFLICTS, the position of its cluster's representative, the distance
    to it, and its number of conflicts (pairs within distance k, exact copies included)."""

    code: np.ndarray  # int8
    ref: np.ndarray  # int64
    distance: np.ndarray  # int8
    conflicts: np.ndarray  # int64

    @property
    def dropped(self) -> np.ndarray:
        return self.code != KEEP


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of nodes 0..n-1 with edges (a, b): each node's label is its component's smallest
    node (min-label hooking with pointer jumping, all in numpy)."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[a], label[b])
        before = label.copy()
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        while not np.array_equal(label, jumped := label[label]):
            label = jumped
        if np.array_equal(label, before):
            return label


def decide(fps: Fingerprints, pair_a: np.ndarray, pair_b: np.ndarray, config: SimHashConfig) -> Decisions:
    """Decisions for pairs in their deterministic order (position = (task, index) order), given the near pairs
    found by the search (positions, any order, duplicates allowed). The first pair of a cluster is its
    representative."""
    n = len(fps)
    _, first, group = np.unique(fps.content, return_index=True, return_inverse=True)
    rep = first[group]  # first pair with the same content
    a, b = np.sort(np.stack([rep[pair_a], rep[pair_b]]), axis=0)
    a, b = unique_pairs(a[a != b], b[a != b])
    ref = _components(n, np.r_[np.arange(n), a], np.r_[rep, b])
    size = np.bincount(rep, minlength=n)
    conflicts = size[rep] - 1
    neighbours = np.zeros(n, np.int64)
    np.add.at(neighbours, a, size[b])
    np.add.at(neighbours, b, size[a])
    conflicts = conflicts + neighbours[rep]
    distance = hamming(fps.fp, fps.fp[ref]).astype(np.int8)
    if config.policy == "keep_one":
        code = np.where(ref == np.arange(n), KEEP, np.where(fps.content == fps.content[ref], EXACT, NEAR))
    else:
        code = np.where(conflicts > config.max_conflicts, CONFLICTS, KEEP)
    return Decisions(code.astype(np.int8), ref, distance, conflicts)


def detail(code: int, ref_label: str, distance: int, conflicts: int, config: SimHashConfig) -> str:
    """The rejects `detail` of a dropped pair; `ref_label` names its cluster's representative."""
    if code == CONFLICTS:
        return f"{conflicts} conflicts > {config.max_conflicts} (cluster of {ref_label}, distance {distance})"
    return f"of {ref_label} (distance {distance})"
