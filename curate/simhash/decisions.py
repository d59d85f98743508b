"""Keep / drop decisions of the SimHash dedup step from fingerprints and their near pairs.

`keep_one` keeps the first pair (in input order) of every cluster of near pairs and drops the others as exact or
near duplicates; `max_conflicts` (the paper's rule) drops every pair with more than `max_conflicts` pairs within
distance k, copies included. `search_and_decide` is the single-node path, `decide` takes near pairs found
elsewhere (the multi-stage path and the tests' brute force), and `Clustering` is what both feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from xplus.curate.simhash.fingerprint import Fingerprints, SimHashConfig, hamming
from xplus.curate.simhash.search import Forest, NearPairSearch, content_reps, unique_pairs


class Decision(IntEnum):
    """What happens to a pair; stored as int8 codes in `Decisions.code` and the multi-stage removal files."""

    KEEP = 0
    EXACT = 1
    NEAR = 2
    CONFLICTS = 3

    @property
    def reason(self) -> str:
        """The reject reason of a dropped pair."""
        return REASONS[self]


#: the reject reason of each dropping decision
REASONS = {Decision.EXACT: "exact_duplicate", Decision.NEAR: "near_duplicate",
           Decision.CONFLICTS: "too_many_conflicts"}


@dataclass
class Decisions:
    """Per pair: its `Decision` (as int8 codes), the position of its cluster's representative, the distance
    to it, and, under `max_conflicts`, its number of conflicts (pairs within distance k, exact copies
    included; -1 under `keep_one`, which does not need them and so never enumerates all pairs of a cluster)."""

    code: np.ndarray  # int8
    ref: np.ndarray  # int64
    distance: np.ndarray  # int8
    conflicts: np.ndarray  # int64

    @property
    def dropped(self) -> np.ndarray:
        return self.code != Decision.KEEP


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
        self.forest = Forest(self.rep.copy())
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
            code = np.where(ref == np.arange(n), Decision.KEEP,
                            np.where(fps.content == fps.content[ref], Decision.EXACT, Decision.NEAR))
        else:
            conflicts = self.size[self.rep] - 1 + self.neighbours[self.rep]
            code = np.where(conflicts > config.max_conflicts, Decision.CONFLICTS, Decision.KEEP)
        return Decisions(code.astype(np.int8), ref, distance, conflicts)


def search_and_decide(fps: Fingerprints, config: SimHashConfig) -> tuple[Decisions, int]:
    """The single-node path: search the distinct contents, stream the pairs into a `Clustering`. Returns the
    decisions and the number of verified near pairs (under `keep_one`, candidates already in one cluster are
    not verified)."""
    reps = content_reps(fps)
    clustering = Clustering(fps, config)
    search = NearPairSearch(fps.fp[reps], config, spanning=config.policy == "keep_one")
    for a, b in search:
        clustering.add(reps[a], reps[b])
    return clustering.decisions(), search.verified


def decide(fps: Fingerprints, pair_a: np.ndarray, pair_b: np.ndarray, config: SimHashConfig) -> Decisions:
    """Decisions for pairs in their deterministic order (position = (task, index) order), given near pairs
    (positions, any order, duplicates allowed). The first pair of a cluster is its representative."""
    clustering = Clustering(fps, config)
    a, b = np.sort(np.stack([clustering.rep[pair_a], clustering.rep[pair_b]]), axis=0)
    clustering.add(*unique_pairs(a[a != b], b[a != b]))
    return clustering.decisions()


def detail(code: Decision | int, ref_label: str, distance: int, conflicts: int, config: SimHashConfig) -> str:
    """The rejects `detail` of a dropped pair; `ref_label` names its cluster's representative."""
    if code == Decision.CONFLICTS:
        return f"{conflicts} conflicts > {config.max_conflicts} (cluster of {ref_label}, distance {distance})"
    return f"of {ref_label} (distance {distance})"
