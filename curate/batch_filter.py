"""A datatrove filter that does its accounting once per batch instead of once per pair.

datatrove's `BaseFilter.run` calls `stat_update` three to four times per document (`total`, `forwarded` or
`dropped` + `dropped_<reason>`, `doc_len`), each a running mean/variance update in Python: on sentence pairs
that is as much time as the filtering itself (~1 s per 100k pairs and block). `BatchFilter.run` makes the same
decisions, writes the same rejects (with `filter_reason`), yields the same documents in the same order, and adds
the same counts, one `stat_update(..., value=n)` per batch. Every stat's `total` is therefore what `BaseFilter`
gives, which is all the run's accounting reads (`xplus.curate.accounting`); the per-update `n`, mean, min and max
of a stat become per batch. A batch is counted as a whole once it is decided.

Every block decides its pairs a batch at a time (`filter_batch`); `filter`, the one-pair form datatrove's interface
asks for, is that batch of one, once, here. A block whose decision is per pair anyway may implement `filter`
instead and gets the batch loop from here.

`decision: flag` (on any block, or per reason) keeps the pairs a step would drop and records why in
`metadata["flags"]` (step, reason, detail, score): one run, then the thresholds chosen afterwards, as with
OpusFilter's `score`/`accept` split. Flagged pairs are forwarded, so `input = output + rejects` still holds; they
are counted as `flagged` and `flagged_<reason>` next to `forwarded`.
"""

from __future__ import annotations

import contextlib
from abc import ABC
from collections import Counter
from collections.abc import Mapping

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.batching import batched
from datatrove.utils.typeshelper import StatHints

from xplus.curate.record import FLAGS, REJECT_DETAIL, REJECT_REASON, REJECT_STEP

DROP, FLAG = "drop", "flag"
DECISIONS = (DROP, FLAG)
#: where a block leaves the score of the rule a pair broke (a probability, a share), for its flag
REJECT_SCORE = "reject_score"


def add_doc_stats(step, docs: list[Document]) -> None:
    """`PipelineStep.update_doc_stats` of `docs` in one update per stat: summed `doc_len` (characters) and
    `doc_len_tokens` (of the documents whose metadata has a `token_count`)."""
    if not docs:
        return
    step.stat_update("doc_len", value=sum(len(doc.text) for doc in docs), unit="doc")
    tokens = [count for doc in docs if (count := doc.metadata.get("token_count"))]
    if tokens:
        step.stat_update("doc_len_tokens", value=sum(tokens), unit="doc")


def add_filter_counts(step, total: int, kept: list[Document], reasons: Counter) -> None:
    """What `BaseFilter.run` counts for `total` decided documents, `kept` of them forwarded and the rest dropped
    (`reasons`: how many were dropped for each reason given), one update per stat."""
    if not total:
        return
    step.stat_update(StatHints.total, value=total)
    if kept:
        step.stat_update(StatHints.forwarded, value=len(kept))
        add_doc_stats(step, kept)
    if total > len(kept):
        step.stat_update(StatHints.dropped, value=total - len(kept))
    for reason, count in reasons.items():
        step.stat_update(f"dropped_{reason}", value=count)

def add_flag_counts(step, flagged: Counter) -> None:
    """`flagged` (pairs kept with a flag) and `flagged_<reason>`, one update per stat."""
    if flagged:
        step.stat_update("flagged", value=sum(flagged.values()))
        for reason, count in flagged.items():
            step.stat_update(f"flagged_{reason}", value=count)


def parse_decision(decision: str | Mapping[str, str]) -> dict[str | None, str]:
    """`decision` as {reason or rule: drop/flag}, the key None holding the decision for all others: a single
    `drop` / `flag`, or a mapping like `{number_mismatch: flag}` (a rule name covers its `_source`/`_target`
    reasons; `default` sets the others)."""
    if isinstance(decision, str):
        decision = {None: decision}
    found = {None if key == "default" else key: value for key, value in decision.items()}
    found.setdefault(None, DROP)
    if bad := [value for value in found.values() if value not in DECISIONS]:
        raise ValueError(f"decision: {' or '.join(DECISIONS)} (or a mapping from reason to one), not {bad[0]!r}")
    return found


def add_flag(doc: Document, step: str, reason: str, detail: str | None = None, score: float | None = None) -> None:
    """Record in `metadata["flags"]` that `step` would drop this pair for `reason` (with its detail and score)."""
    flag = {"step": step, "reason": reason}
    if detail:
        flag["detail"] = detail
    if score is not None:
        flag["score"] = score
    doc.metadata.setdefault(FLAGS, []).append(flag)


class BatchFilter(BaseFilter, ABC):
    """`BaseFilter` with per-batch accounting and `decision: flag`. Subclasses implement `filter_batch` (or, for a
    per-pair decision, `filter`); each block's constructor passes its `decision` on.

    Args:
        exclusion_writer: where dropped pairs go
        batch_size: pairs per `filter_batch`
        decision: `drop` (default), `flag` (keep, with the reason in `metadata["flags"]`), or a mapping from a
            reason or rule name to one of the two (`default` for the rest)
    """

    def __init__(self, exclusion_writer: DiskWriter | None = None, batch_size: int = 1,
                 decision: str | Mapping[str, str] = DROP):
        super().__init__(exclusion_writer, batch_size)
        self.decision = parse_decision(decision)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.filter is BatchFilter.filter and cls.filter_batch is BatchFilter.filter_batch:
            raise TypeError(f"{cls.__name__}: a BatchFilter implements filter_batch (or filter)")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        """One pair: a batch of one."""
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        """For blocks that decide one pair at a time (`filter`)."""
        return [self.filter(doc) for doc in batch]

    def flags(self, reason: str) -> bool:
        """Whether a pair broken for `reason` is kept and flagged rather than dropped."""
        found = self.decision.get(reason)
        if found is None:
            found = self.decision.get(reason.removesuffix("_source").removesuffix("_target"), self.decision[None])
        return found == FLAG

    def _flag(self, doc: Document, reason: str) -> None:
        meta = doc.metadata
        step = meta.pop(REJECT_STEP, None) or self.name
        detail, score = meta.pop(REJECT_DETAIL, None), meta.pop(REJECT_SCORE, None)
        meta.pop(REJECT_REASON, None)
        add_flag(doc, step, reason, detail, score)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        flagging = any(value == FLAG for value in self.decision.values())
        with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer:
            for batch in batched(data, self.batch_size):
                if self.batch_size > 1:
                    self.stat_update("batches")
                with self.track_time("batch" if self.batch_size > 1 else None):
                    results = self.filter_batch(batch)
                kept, reasons, flagged = [], Counter(), Counter()
                for doc, result in zip(batch, results, strict=True):
                    reason = None
                    if isinstance(result, tuple):
                        result, reason = result
                    if not result and flagging and reason and self.flags(reason):
                        self._flag(doc, reason)
                        flagged[reason] += 1
                        result = True
                    if result:
                        kept.append(doc)
                        continue
                    doc.metadata.pop(REJECT_SCORE, None)
                    if reason:
                        reasons[reason] += 1
                    if writer:
                        if reason:
                            doc.metadata["filter_reason"] = reason
                        writer.write(doc, rank)
                add_filter_counts(self, len(batch), kept, reasons)
                add_flag_counts(self, flagged)
                yield from kept
