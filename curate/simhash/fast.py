"""SimHash dedup on one node: one block that fingerprints, searches and decides within its task.

`SimHashDedup` must see every pair of the run in one task (tasks=1, or one task per independent corpus). It
holds the task's Documents until the decisions are made, because the kept ones are re-emitted in input order:
memory is the Documents themselves (a few hundred bytes each for sentence pairs, ~0.5-1 GB per million) plus
~25 bytes of arrays per pair (fingerprint, content hash, flags). Past a few million pairs per run, use the
multi-stage blocks of `stages`, which keep only the arrays and re-read the pairs.
"""

from __future__ import annotations

import contextlib
import gc
from collections import Counter
from collections.abc import Iterator

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import add_filter_counts
from xplus.curate.record import SRC, TGT_LINE, TRG, mark_rejected
from xplus.curate.simhash.decisions import REASONS, Decision, detail, search_and_decide
from xplus.curate.simhash.fingerprint import STEP, Fingerprints, SimHashConfig, fingerprint_docs


def _distinct(docs: list[Document]) -> tuple[list[Document], np.ndarray]:
    """The first pair of each distinct (source, target, source language, target language), and for every pair
    the position of its first copy among those. A fingerprint depends on nothing else, so copies (common in
    web-mined bitext, which is why it is deduplicated) are fingerprinted once and given their first's."""
    first: dict[tuple[str, str, str, str], int] = {}
    distinct, copy_of = [], []
    for doc in docs:
        meta = doc.metadata
        key = (doc.text, meta[TGT_LINE], meta[SRC], meta[TRG])
        position = first.get(key)
        if position is None:
            position = first[key] = len(distinct)
            distinct.append(doc)
        copy_of.append(position)
    return distinct, np.array(copy_of, dtype=np.int64)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the task's Documents are gathered: with 100k+ of them alive, each full
    collection walks them all (~7% of a steps 1-4 run on sentence pairs), and pairs hold no reference cycles.
    Reference counting still frees everything else; collection resumes (if it was on) when they are all in."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SimHashDedup(PipelineStep):
    """Drop near-duplicate pairs (SimHash of source + target within Hamming distance `config.k`).

    Under `keep_one` the first pair of every cluster (in input order) is kept and the others are dropped as
    `exact_duplicate` (same normalised content) or `near_duplicate`, with detail `of <kept id> (distance d)`;
    under `max_conflicts` every pair with more than `max_conflicts` near-duplicates is dropped as
    `too_many_conflicts`. Counters are datatrove's filter counters (`total`, `forwarded`, `dropped`,
    `dropped_<reason>`), plus `exact_fallback` (pairs too short for a SimHash) and `near_pairs` (verified pairs
    within distance k, between distinct contents; under `keep_one` candidates already in one cluster are not
    verified).

    Args:
        config: the shared `SimHashConfig`
        exclusion_writer: where dropped pairs go, e.g. `rejects_writer(run_dir, "dedup")`
    """

    type = "🫂 - DEDUP"
    name = "🫧 SimHash dedup"

    def __init__(self, config: SimHashConfig | None = None, exclusion_writer: DiskWriter | None = None):
        super().__init__()
        self.config = config or SimHashConfig()
        self.exclusion_writer = exclusion_writer

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer:
            with _cyclic_gc_paused():
                docs = list(data)
            with self.track_time():
                distinct, copy_of = _distinct(docs)
                fps = Fingerprints.concat([
                    fingerprint_docs(distinct[i: i + self.config.batch_size], self.config)
                    for i in range(0, len(distinct), self.config.batch_size)
                ])
                fps = Fingerprints(fps.fp[copy_of], fps.content[copy_of], fps.exact[copy_of])
                decisions, near = search_and_decide(fps, self.config)
            self.stat_update("exact_fallback", value=int(fps.exact.sum()))
            self.stat_update("near_pairs", value=near)
            self._add_counts(docs, decisions.code)
            ids = [doc.id for doc in docs]
            for i, code in enumerate(decisions.code.tolist()):
                doc, docs[i] = docs[i], None  # let the emitted ones go
                if code == Decision.KEEP:
                    yield doc
                    continue
                reason = Decision(code).reason
                mark_rejected(doc, STEP, reason, detail(code, ids[decisions.ref[i]], int(decisions.distance[i]),
                                                       int(decisions.conflicts[i]), self.config))
                if writer:
                    writer.write(doc, rank)

    def _add_counts(self, docs: list[Document], codes: np.ndarray) -> None:
        """The filter counters of the task's decisions, one update per stat (all pairs are decided at once)."""
        per_code = np.bincount(codes, minlength=len(Decision)).tolist()
        kept = [doc for doc, code in zip(docs, codes.tolist(), strict=True) if code == Decision.KEEP]
        add_filter_counts(self, len(docs), kept, Counter({reason: per_code[code] for code, reason in REASONS.items()
                                                          if per_code[code]}))
