"""SimHash fingerprints of bitext pairs, the candidate search and the two decision policies (step 3b).

Everything both dedup paths (`fast.SimHashDedup` on one node, `stages.*` on a datatrove executor) compute lives
here, so they cannot drift apart:

- `fingerprint_batch`: one 64-bit SimHash per pair over the features of source + target, columnar (one polars
  pass over both sides tokenises and hashes, each regex only on the rows of its segmentation mode; numpy counts
  bits 8 at a time with a byte table); pairs with too few features get an exact-content hash instead;
- `search` / `near_pairs`: the sub-quadratic search for pairs within Hamming distance k, table by table;
- `Clustering` / `search_and_decide` / `decide`: turn fingerprints + near pairs (streamed, or given) into keep /
  drop decisions under `keep_one` or `max_conflicts`.

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
the table's key (its blocks' bits, packed next to the position into one uint64 and sorted as such) and only
equal keys are compared, at most `CHUNK` candidates at a time. More blocks mean more tables but longer keys,
hence fewer random candidates (they grow as tables * N^2 / 2^(key bits + 1)): the default b = k + 3 (56 tables
of 24-bit keys at k = 5) stays linear to millions of pairs where k + 2 (21 tables of 18-bit keys) is 2.4x slower
at 2M and k + 1 20x slower at 1M (bench/results/simhash.md, "num_blocks"). Exact duplicates (same content) are
collapsed before the search, so a pair copied 1000 times is one fingerprint in the tables.

**Clustering, bounded.** No list of all near pairs is built. Under `keep_one` only the clusters matter: each
table's candidates are merged into a union-find as they are verified, candidates already in one cluster are
skipped, and a run of more than `LARGE_RUN` equal keys is first compared with its first `LEADERS` members and
then only across the clusters left, so a dense cluster of m near-copies costs ~`LEADERS` * m comparisons, not
m^2 / 2. Under `max_conflicts` every pair within k counts, once: a pair is only taken in the first table (in
lexicographic order of block choices) whose blocks it shares ("first matching block", Manku et al.), so the
counts need no global set of pairs; memory is O(pairs of the run) plus one chunk.

**Hash stability.** Token and content hashes are polars' seeded `Series.hash`, which polars does not promise to
keep across versions: fingerprints written by one polars version (the multi-stage files) must not be compared
with those of another; a run (all its stages) must use one polars version. Within a version they are stable
across processes, machines and batchings.
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


def content_hash(sources: pl.Series, targets: pl.Series, seed: int) -> np.ndarray:
    """Hash of the normalised pair: lower-cased, whitespace collapsed, source TAB target."""
    return _content_hash(sources.str.to_lowercase(), targets.str.to_lowercase(), seed)


def _content_hash(lower_sources: pl.Series, lower_targets: pl.Series, seed: int) -> np.ndarray:
    return (_normalised(lower_sources) + "\t" + _normalised(lower_targets)).hash(seed=seed).to_numpy()


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


# --- candidate search -----------------------------------------------------------------------------------

#: candidate pairs compared at once (bounds the search's transient memory: ~100 bytes a candidate)
CHUNK = 1 << 21
#: runs of equal keys longer than this are first compared against their first `LEADERS` members (keep_one)
LARGE_RUN, LEADERS = 32, 8


def _blocks(config: SimHashConfig) -> list[tuple[int, int]]:
    """(low bit, high bit) of each pigeonhole block."""
    bounds = np.linspace(0, 64, config.blocks + 1).round().astype(int).tolist()
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _mask(lo: int, hi: int) -> int:
    return ((1 << hi) - 1) ^ ((1 << lo) - 1)


def table_blocks(config: SimHashConfig) -> list[tuple[int, ...]]:
    """The blocks of each table: every choice of `blocks - k` of the `blocks` blocks, in lexicographic order."""
    return list(combinations(range(config.blocks), config.blocks - config.k))


def table_masks(config: SimHashConfig) -> list[int]:
    """One 64-bit mask per table: the bits of its blocks."""
    blocks = _blocks(config)
    return [sum(_mask(*blocks[j]) for j in chosen) for chosen in table_blocks(config)]


def _sorted_table(fp: np.ndarray, config: SimHashConfig, t: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, keys) of `fp` sorted by the key of table t, positions ascending within a key. The key's bits
    are packed next to the position and sorted as one uint64 (30x faster than a stable argsort) when they fit."""
    blocks, chosen = _blocks(config), table_blocks(config)[t]
    width = sum(blocks[j][1] - blocks[j][0] for j in chosen)
    shift = max(len(fp) - 1, 1).bit_length()
    if width + shift > 64:
        keys = fp & np.uint64(table_masks(config)[t])
        order = np.argsort(keys, kind="stable")
        return order, keys[order]
    key, offset = np.zeros(len(fp), np.uint64), 0
    for j in chosen:
        lo, hi = blocks[j]
        key |= ((fp >> np.uint64(lo)) & np.uint64(_mask(0, hi - lo))) << np.uint64(offset)
        offset += hi - lo
    packed = np.sort((key << np.uint64(shift)) | np.arange(len(fp), dtype=np.uint64))
    return (packed & np.uint64(_mask(0, shift))).astype(np.int64), packed >> np.uint64(shift)


def _range_pairs(lo: np.ndarray, hi: np.ndarray):
    """Chunks (p, q) of all pairs of p with q in [lo[p], hi[p]), about `CHUNK` pairs each."""
    count = np.maximum(hi - lo, 0)
    has = np.flatnonzero(count)
    if not len(has):
        return
    cum = np.cumsum(count[has])
    for part in np.split(has, np.searchsorted(cum, np.arange(CHUNK, cum[-1], CHUNK), side="right")):
        counts = count[part]
        p = np.repeat(part, counts)
        yield p, np.arange(len(p)) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo[part], counts)


class _Forest:
    """Union-find over 0..n-1, vectorised; every root is the smallest member of its set."""

    def __init__(self, parent: np.ndarray):
        self.parent = parent  # parent[i] <= i; roots point to themselves

    def find(self, v: np.ndarray) -> np.ndarray:
        root = self.parent[v]
        while not np.array_equal(up := self.parent[root], root):
            root = up
        self.parent[v] = root
        return root

    def union(self, a: np.ndarray, b: np.ndarray) -> None:
        ra, rb = self.find(a), self.find(b)
        apart = ra != rb
        if apart.any():
            roots, inverse = np.unique(np.r_[ra[apart], rb[apart]], return_inverse=True)
            m = int(apart.sum())
            self.parent[roots] = roots[_components(len(roots), inverse[:m], inverse[m:])]

    def labels(self) -> np.ndarray:
        """Each node's root (its set's smallest member)."""
        while not np.array_equal(up := self.parent[self.parent], self.parent):
            self.parent = up
        return self.parent


def _search_table(fp: np.ndarray, config: SimHashConfig, t: int, forest: _Forest | None, found: list[int]):
    """The pairs (positions a < b in `fp`) that agree on the key of table t and lie within distance k.

    Without `forest`: yields, in chunks, every such pair whose lexicographically first choice of `blocks - k`
    agreeing blocks is table t's ("first matching block", Manku et al.), so over all tables each pair within k
    comes exactly once, without a global set of pairs. With `forest` (keep_one, where only the clusters
    matter): yields nothing and merges the pairs into `forest`, skipping candidates already in one cluster;
    runs of more than `LARGE_RUN` equal keys are first compared with their first `LEADERS` members, then only
    across the clusters left, so a dense cluster costs ~`LEADERS` comparisons a member instead of its size.
    `found[0]` counts the verified pairs."""
    n = len(fp)
    if n < 2:
        return
    order, keys = _sorted_table(fp, config, t)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, n])
    run_start, run_size = np.repeat(starts, sizes), np.repeat(sizes, sizes)
    pos = np.arange(n)
    if forest is None:
        blocks, chosen = _blocks(config), table_blocks(config)[t]
        earlier = [np.uint64(_mask(*blocks[j])) for j in range(chosen[-1]) if j not in chosen]
        for p, q in _range_pairs(pos + 1, run_start + run_size):
            a, b = order[p], order[q]
            d = fp[a] ^ fp[b]
            ok = np.bitwise_count(d) <= config.k
            for block in earlier:  # counted here only if no earlier block outside the key agrees too
                ok &= (d & block) != 0
            found[0] += int(ok.sum())
            yield np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
        return

    def link(a: np.ndarray, b: np.ndarray) -> None:
        apart = forest.find(a) != forest.find(b)
        a, b = a[apart], b[apart]
        ok = np.bitwise_count(fp[a] ^ fp[b]) <= config.k
        found[0] += int(ok.sum())
        forest.union(a[ok], b[ok])

    large = run_size > LARGE_RUN
    for p, q in _range_pairs(pos + 1, np.where(large, 0, run_start + run_size)):
        link(order[p], order[q])
    if not large.any():
        return
    for p, q in _range_pairs(run_start, np.where(large, np.minimum(run_start + LEADERS, pos), 0)):
        link(order[q], order[p])
    members = np.flatnonzero(large)  # then every pair of members of different clusters, by cluster
    members = members[np.lexsort((forest.find(order[members]), run_start[members]))]
    run, cluster = run_start[members], forest.find(order[members])
    new_run = np.r_[True, run[1:] != run[:-1]]
    new_cluster = new_run | np.r_[True, cluster[1:] != cluster[:-1]]
    cluster_end = np.r_[np.flatnonzero(new_cluster)[1:], len(members)]
    run_end = np.r_[np.flatnonzero(new_run)[1:], len(members)]
    first_cluster = np.cumsum(new_cluster) - 1
    first_run = np.cumsum(new_run) - 1
    for p, q in _range_pairs(cluster_end[first_cluster], run_end[first_run]):
        link(order[members[p]], order[members[q]])


def search(fp: np.ndarray, config: SimHashConfig, tables: list[int] | None = None, found: list[int] | None = None,
           spanning: bool = False):
    """Chunks (a, b) of near pairs of positions in `fp` (within distance k; a < b).

    `spanning=False`: every pair within k, each exactly once. `spanning=True`: one edge (member, smallest member)
    per member of every cluster of size 2+ (clusters = connected components of the near pairs), which is all
    that `keep_one` needs and at most one edge a fingerprint however dense the clusters. `tables`: the pigeonhole
    tables to search (all by default); `found[0]` is increased by the number of pairs verified.
    """
    found = [0] if found is None else found
    tables = range(len(table_blocks(config))) if tables is None else tables
    forest = _Forest(np.arange(len(fp))) if spanning else None
    for t in tables:
        yield from _search_table(fp, config, t, forest, found)
    if spanning:
        label = forest.labels()
        linked = np.flatnonzero(label != np.arange(len(fp)))
        yield linked, label[linked]


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
    """All pairs (positions i < j) of distinct-content, non-exact pairs within distance k, each once, sorted."""
    reps = content_reps(fps)
    found = list(search(fps.fp[reps], config))
    a, b = np.concatenate([np.empty(0, np.int64)] + [f[0] for f in found]), np.concatenate(
        [np.empty(0, np.int64)] + [f[1] for f in found])
    order = np.lexsort((b, a))
    return reps[a[order]], reps[b[order]]


# --- decisions ------------------------------------------------------------------------------------------


@dataclass
class Decisions:
    """Per pair: KEEP / EXACT / NEAR / CONFLICTS, the position of its cluster's representative, the distance
    to it, and, under `max_conflicts`, its number of conflicts (pairs within distance k, exact copies
    included; -1 under `keep_one`, which does not need them and so never enumerates all pairs of a cluster)."""

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


class Clustering:
    """Decisions built from near pairs fed in chunks, so no list of all pairs is ever held.

    Positions are mapped to the first pair of their content; clusters are a union-find whose roots are the
    smallest positions; under `max_conflicts` each pair adds the other's content count to both conflict counts,
    so every pair must come exactly once (`search` without `spanning` guarantees it; `decide` deduplicates).
    """

    def __init__(self, fps: Fingerprints, config: SimHashConfig):
        self.fps, self.config = fps, config
        n = len(fps)
        _, first, group = np.unique(fps.content, return_index=True, return_inverse=True)
        self.rep = first[group.ravel()]  # first pair with the same content
        self.size = np.bincount(self.rep, minlength=n)
        self.forest = _Forest(self.rep.copy())
        self.neighbours = np.zeros(n, np.int64) if config.policy == "max_conflicts" else None

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        """Near pairs (positions); under `max_conflicts`, each distinct pair of contents exactly once."""
        a, b = self.rep[a], self.rep[b]
        apart = a != b
        a, b = a[apart], b[apart]
        if self.neighbours is not None:
            np.add.at(self.neighbours, a, self.size[b])
            np.add.at(self.neighbours, b, self.size[a])
        self.forest.union(a, b)

    def decisions(self) -> Decisions:
        n, fps, config = len(self.fps), self.fps, self.config
        ref = self.forest.labels()
        distance = hamming(fps.fp, fps.fp[ref]).astype(np.int8)
        if self.neighbours is None:
            conflicts = np.full(n, -1, np.int64)
            code = np.where(ref == np.arange(n), KEEP, np.where(fps.content == fps.content[ref], EXACT, NEAR))
        else:
            conflicts = self.size[self.rep] - 1 + self.neighbours[self.rep]
            code = np.where(conflicts > config.max_conflicts, CONFLICTS, KEEP)
        return Decisions(code.astype(np.int8), ref, distance, conflicts)


def search_and_decide(fps: Fingerprints, config: SimHashConfig) -> tuple[Decisions, int]:
    """The single-node path: search the distinct contents, stream the pairs into a `Clustering`. Returns the
    decisions and the number of verified near pairs (under `keep_one`, candidates already in one cluster are
    not verified)."""
    reps = content_reps(fps)
    clustering, found = Clustering(fps, config), [0]
    for a, b in search(fps.fp[reps], config, found=found, spanning=config.policy == "keep_one"):
        clustering.add(reps[a], reps[b])
    return clustering.decisions(), found[0]


def decide(fps: Fingerprints, pair_a: np.ndarray, pair_b: np.ndarray, config: SimHashConfig) -> Decisions:
    """Decisions for pairs in their deterministic order (position = (task, index) order), given near pairs
    (positions, any order, duplicates allowed). The first pair of a cluster is its representative."""
    clustering = Clustering(fps, config)
    a, b = np.sort(np.stack([clustering.rep[pair_a], clustering.rep[pair_b]]), axis=0)
    clustering.add(*unique_pairs(a[a != b], b[a != b]))
    return clustering.decisions()


def detail(code: int, ref_label: str, distance: int, conflicts: int, config: SimHashConfig) -> str:
    """The rejects `detail` of a dropped pair; `ref_label` names its cluster's representative."""
    if code == CONFLICTS:
        return f"{conflicts} conflicts > {config.max_conflicts} (cluster of {ref_label}, distance {distance})"
    return f"of {ref_label} (distance {distance})"
