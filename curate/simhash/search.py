"""The near-pair search over SimHash fingerprints: pigeonhole tables, never all pairs.

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
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from xplus.curate.simhash.fingerprint import (
    Fingerprints,
    SimHashConfig,
    bit_mask,
    block_bounds,
    table_blocks,
    table_masks,
)

#: candidate pairs compared at once (bounds the search's transient memory: ~100 bytes a candidate)
CHUNK = 1 << 21
#: runs of equal keys longer than this are first compared against their first `LEADERS` members (keep_one)
LARGE_RUN, LEADERS = 32, 8


def _sorted_table(fp: np.ndarray, config: SimHashConfig, t: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, keys) of `fp` sorted by the key of table t, positions ascending within a key. The key's bits
    are packed next to the position and sorted as one uint64 (30x faster than a stable argsort) when they fit."""
    blocks, chosen = block_bounds(config), table_blocks(config)[t]
    width = sum(blocks[j][1] - blocks[j][0] for j in chosen)
    shift = max(len(fp) - 1, 1).bit_length()
    if width + shift > 64:
        keys = fp & np.uint64(table_masks(config)[t])
        order = np.argsort(keys, kind="stable")
        return order, keys[order]
    key, offset = np.zeros(len(fp), np.uint64), 0
    for j in chosen:
        lo, hi = blocks[j]
        key |= ((fp >> np.uint64(lo)) & np.uint64(bit_mask(0, hi - lo))) << np.uint64(offset)
        offset += hi - lo
    packed = np.sort((key << np.uint64(shift)) | np.arange(len(fp), dtype=np.uint64))
    return (packed & np.uint64(bit_mask(0, shift))).astype(np.int64), packed >> np.uint64(shift)


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


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
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


class Forest:
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
            self.parent[roots] = roots[components(len(roots), inverse[:m], inverse[m:])]

    def labels(self) -> np.ndarray:
        """Each node's root (its set's smallest member)."""
        while not np.array_equal(up := self.parent[self.parent], self.parent):
            self.parent = up
        return self.parent


class NearPairSearch:
    """The pairs of positions a < b in `fp` within Hamming distance `config.k`; iterate for chunks (a, b).

    `spanning=False`: every pair within k, each exactly once. `spanning=True`: one edge (member, smallest member)
    per member of every cluster of size 2+ (clusters = connected components of the near pairs), which is all
    that `keep_one` needs and at most one edge a fingerprint however dense the clusters. `tables`: the pigeonhole
    tables to search (all by default). After the iteration, `verified` is the number of candidate pairs found
    within distance k (with `spanning`, candidates already in one cluster are not verified).
    """

    def __init__(self, fp: np.ndarray, config: SimHashConfig, tables: list[int] | None = None,
                 spanning: bool = False):
        self.fp, self.config, self.spanning = fp, config, spanning
        self.tables = range(len(table_blocks(config))) if tables is None else tables
        self.verified = 0

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self.verified = 0
        forest = Forest(np.arange(len(self.fp))) if self.spanning else None
        for t in self.tables:
            if len(self.fp) < 2:
                continue
            if forest is None:
                yield from self._first_matching(t)
            else:
                self._merge(t, forest)
        if forest is not None:
            label = forest.labels()
            linked = np.flatnonzero(label != np.arange(len(self.fp)))
            yield linked, label[linked]

    def _runs(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions sorted by table t's key, and for each sorted position its run of equal keys (start, size)."""
        order, keys = _sorted_table(self.fp, self.config, t)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, len(self.fp)])
        return order, np.repeat(starts, sizes), np.repeat(sizes, sizes)

    def _first_matching(self, t: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every pair within k that agrees on table t's key and whose lexicographically first choice of
        `blocks - k` agreeing blocks is table t's ("first matching block", Manku et al.), so over all tables each
        pair within k comes exactly once, without a global set of pairs."""
        fp, config = self.fp, self.config
        order, run_start, run_size = self._runs(t)
        blocks, chosen = block_bounds(config), table_blocks(config)[t]
        earlier = [np.uint64(bit_mask(*blocks[j])) for j in range(chosen[-1]) if j not in chosen]
        for p, q in _range_pairs(np.arange(len(fp)) + 1, run_start + run_size):
            a, b = order[p], order[q]
            d = fp[a] ^ fp[b]
            ok = np.bitwise_count(d) <= config.k
            for block in earlier:  # counted here only if no earlier block outside the key agrees too
                ok &= (d & block) != 0
            self.verified += int(ok.sum())
            yield np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])

    def _link(self, forest: Forest, a: np.ndarray, b: np.ndarray) -> None:
        """Merge into `forest` the candidates (a, b) within k that are not yet in one cluster."""
        apart = forest.find(a) != forest.find(b)
        a, b = a[apart], b[apart]
        ok = np.bitwise_count(self.fp[a] ^ self.fp[b]) <= self.config.k
        self.verified += int(ok.sum())
        forest.union(a[ok], b[ok])

    def _merge(self, t: int, forest: Forest) -> None:
        """keep_one, where only the clusters matter: merge table t's pairs within k into `forest`, skipping
        candidates already in one cluster; runs of more than `LARGE_RUN` equal keys are first compared with their
        first `LEADERS` members, then only across the clusters left, so a dense cluster costs ~`LEADERS`
        comparisons a member instead of its size."""
        order, run_start, run_size = self._runs(t)
        pos = np.arange(len(self.fp))
        large = run_size > LARGE_RUN
        for p, q in _range_pairs(pos + 1, np.where(large, 0, run_start + run_size)):
            self._link(forest, order[p], order[q])
        if not large.any():
            return
        for p, q in _range_pairs(run_start, np.where(large, np.minimum(run_start + LEADERS, pos), 0)):
            self._link(forest, order[q], order[p])
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
            self._link(forest, order[members[p]], order[members[q]])


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
    found = list(NearPairSearch(fps.fp[reps], config))
    a, b = np.concatenate([np.empty(0, np.int64)] + [f[0] for f in found]), np.concatenate(
        [np.empty(0, np.int64)] + [f[1] for f in found])
    order = np.lexsort((b, a))
    return reps[a[order]], reps[b[order]]
