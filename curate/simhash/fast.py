"""SimHash dedup on one node: one block that fingerprints, searches and decides within its task.

`SimHashDedup` must see every pair of the run in one task (tasks=1, or one task per independent corpus). It
holds the task's Documents until the decisions are made, because the kept ones are re-emitted in input order:
memory is the Documents themselves (a few hundred bytes each for sentence pairs, ~0.5-1 GB per million) plus
~25 bytes of arrays per pair (fingerprint, content hash, flags). Past a few million pairs per run, use the
multi-stage blocks of `stages`, which keep only the arrays and re-read the pairs.
"""

from __future__ import annotations

import contextlib

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.typeshelper import StatHints

from xplus.curate.record import mark_rejected
from xplus.curate.simhash.fingerprint import (
    KEEP,
    REASONS,
    STEP,
    Fingerprints,
    SimHashConfig,
    detail,
    fingerprint_docs,
    search_and_decide,
)


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
            docs = list(data)
            with self.track_time():
                fps = Fingerprints.concat([
                    fingerprint_docs(docs[i: i + self.config.batch_size], self.config)
                    for i in range(0, len(docs), self.config.batch_size)
                ])
                decisions, near = search_and_decide(fps, self.config)
            self.stat_update("exact_fallback", value=int(fps.exact.sum()))
            self.stat_update("near_pairs", value=near)
            ids = [doc.id for doc in docs]
            for i in range(len(docs)):
                doc, docs[i] = docs[i], None  # let the emitted ones go
                self.stat_update(StatHints.total)
                code = int(decisions.code[i])
                if code == KEEP:
                    self.stat_update(StatHints.forwarded)
                    self.update_doc_stats(doc)
                    yield doc
                    continue
                reason = REASONS[code]
                self.stat_update(StatHints.dropped, f"dropped_{reason}")
                mark_rejected(doc, STEP, reason, detail(code, ids[decisions.ref[i]], int(decisions.distance[i]),
                                                       int(decisions.conflicts[i]), self.config))
                if writer:
                    writer.write(doc, rank)
