"""SimHash dedup as datatrove stages, for runs too big for one node (the shape of datatrove's MinHash dedup).

1. `SimHashSignature` (one task per input shard): fingerprints of the task's pairs, written as
   `fingerprints/<task>.npy` (fingerprint, content hash, exact flag, in input order: 17 bytes a pair, the only
   signature file; a table's keys are the fingerprints' bits under its mask, worked out where they are used).
2. `SimHashBuckets` (any number of tasks up to the number of tables): per table, the (key, fingerprint, content,
   id) records of every task's non-exact pairs, id = task << 32 | index in task, sorted; collapses equal contents,
   compares the fingerprints with equal keys (`search.NearPairSearch`) and writes to `<t>.pairs`: under
   `keep_one` one edge per member of each of the table's clusters (a spanning forest: at most one a pair),
   under `max_conflicts` every pair within distance k whose first matching block is this table's (so each
   pair is in one file only).
3. `SimHashCluster` (one task): all fingerprints, then the pair files one at a time into a
   `decisions.Clustering`, the class the single-node block uses -> `<task>.remove`, the pairs each task
   drops, with reason, representative and distance.
4. `SimHashFilter` (the same tasks as stage 1, after the same reader): reads the pairs again and drops those
   listed, with the same reasons as `SimHashDedup`; the detail names the representative as `task t index i`.

Memory: stage 1 holds its task's arrays (~25 bytes a pair, the Documents are not kept); stage 2 the fingerprints
of all tasks (32 bytes a pair, as records), one table (32 bytes a pair) and one chunk of candidates; stage 3 the
arrays of the whole run (~60 bytes a pair: 0.6 GB for 10M pairs) and one pair file.
"""

from __future__ import annotations

import contextlib
from pathlib import PurePosixPath

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.batching import batched
from datatrove.utils.typeshelper import StatHints

from xplus.curate.record import mark_rejected
from xplus.curate.simhash.decisions import Clustering, Decision, detail
from xplus.curate.simhash.fingerprint import STEP, Fingerprints, SimHashConfig, fingerprint_docs, table_masks
from xplus.curate.simhash.search import NearPairSearch, unique_pairs

FINGERPRINT = np.dtype([("fp", "<u8"), ("content", "<u8"), ("exact", "?")])
TABLE_RECORD = np.dtype([("key", "<u8"), ("fp", "<u8"), ("content", "<u8"), ("id", "<u8")])
PAIR = np.dtype([("a", "<u8"), ("b", "<u8")])
REMOVAL = np.dtype([("index", "<u4"), ("code", "i1"), ("ref", "<u8"), ("distance", "i1"), ("conflicts", "<i8")])
_TASK_SHIFT = np.uint64(32)


def _save(folder, path: str, array: np.ndarray) -> None:
    with folder.open(path, mode="wb") as f:
        f.write(array.tobytes())


def _load(folder, path: str, dtype: np.dtype) -> np.ndarray:
    with folder.open(path, mode="rb") as f:
        return np.frombuffer(f.read(), dtype=dtype)


def _task_of(path: str) -> int:
    return int(PurePosixPath(path).name.split(".")[0])


def _ref_label(ref_id: int) -> str:
    return f"task {ref_id >> 32} index {ref_id & 0xFFFFFFFF}"


class _SimHashStage(PipelineStep):
    type = "🫂 - DEDUP"

    def __init__(self, config: SimHashConfig | None = None):
        super().__init__()
        self.config = config or SimHashConfig()


class SimHashSignature(_SimHashStage):
    """Stage 1: per task, the fingerprints in input order (the per-table records are built by stage 2).

    Args:
        output_folder: where the fingerprints and tables go
        config: the shared `SimHashConfig`
    """

    name = "🫧 SimHash stage 1: signatures"

    def __init__(self, output_folder: DataFolderLike, config: SimHashConfig | None = None):
        super().__init__(config)
        self.output_folder = get_datafolder(output_folder)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.track_time():
            parts = []
            for batch in batched(data, self.config.batch_size):
                self.stat_update(StatHints.total, value=len(batch))
                parts.append(fingerprint_docs(batch, self.config))
            fps = Fingerprints.concat(parts)
            self.stat_update("exact_fallback", value=int(fps.exact.sum()))
            rows = np.empty(len(fps), FINGERPRINT)
            rows["fp"], rows["content"], rows["exact"] = fps.fp, fps.content, fps.exact
            _save(self.output_folder, f"fingerprints/{rank:05d}.npy", rows)
        return
        yield


class SimHashBuckets(_SimHashStage):
    """Stage 2: per pigeonhole table, the pairs of distinct contents within distance k (task r takes tables
    r, r + tasks, ...).

    Args:
        input_folder: the output folder of `SimHashSignature`
        output_folder: where `<table>.pairs` go
        config: the shared `SimHashConfig`
    """

    name = "🫧 SimHash stage 2: buckets"

    def __init__(self, input_folder: DataFolderLike, output_folder: DataFolderLike,
                 config: SimHashConfig | None = None):
        super().__init__(config)
        self.input_folder = get_datafolder(input_folder)
        self.output_folder = get_datafolder(output_folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        masks = table_masks(self.config)
        if world_size > len(masks):
            raise ValueError(f"{world_size} tasks for {len(masks)} tables: use at most {len(masks)}")
        with self.track_time():
            near = self._near_pairs()
            for t in range(rank, len(masks), world_size):
                self.stat_update("near_pairs", value=self._table(near, t, masks[t]))
        return
        yield

    def _near_pairs(self) -> np.ndarray:
        """(fingerprint, content, id) of the non-exact pairs of every task, key left to fill per table."""
        parts = []
        for f in self.input_folder.list_files(subdirectory="fingerprints"):
            rows = _load(self.input_folder, f, FINGERPRINT)
            near = np.flatnonzero(~rows["exact"])
            records = np.empty(len(near), TABLE_RECORD)
            records["fp"], records["content"] = rows["fp"][near], rows["content"][near]
            records["id"] = (np.uint64(_task_of(f)) << _TASK_SHIFT) | near.astype(np.uint64)
            parts.append(records)
        return np.concatenate(parts or [np.empty(0, TABLE_RECORD)])

    def _table(self, near: np.ndarray, t: int, mask: int) -> int:
        records = near.copy()
        records["key"] = records["fp"] & np.uint64(mask)
        records.sort(order=["key", "content", "id"])
        first = np.r_[True, records["content"][1:] != records["content"][:-1]] if len(records) else []
        reps = records[first]  # equal contents share a key: the first of each run has the smallest id
        search = NearPairSearch(reps["fp"], self.config, tables=[t], spanning=self.config.policy == "keep_one")
        with self.output_folder.open(f"{t:03d}.pairs", mode="wb") as out:
            for a, b in search:
                pairs = np.empty(len(a), PAIR)
                pairs["a"], pairs["b"] = reps["id"][a], reps["id"][b]
                out.write(pairs.tobytes())
        return search.verified


class SimHashCluster(_SimHashStage):
    """Stage 3 (one task): decisions for the whole run, as per-task removal files `<task>.remove`.

    Args:
        input_folder: the output folder of `SimHashBuckets`
        output_folder: where the removal files go
        signature_folder: the output folder of `SimHashSignature`
        config: the shared `SimHashConfig`
    """

    name = "🫧 SimHash stage 3: clusters"

    def __init__(self, input_folder: DataFolderLike, output_folder: DataFolderLike,
                 signature_folder: DataFolderLike, config: SimHashConfig | None = None):
        super().__init__(config)
        self.input_folder = get_datafolder(input_folder)
        self.output_folder = get_datafolder(output_folder)
        self.signature_folder = get_datafolder(signature_folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError("SimHashCluster runs as a single task")
        with self.track_time():
            files = sorted(self.signature_folder.list_files(subdirectory="fingerprints"), key=_task_of)
            tables = [_load(self.signature_folder, f, FINGERPRINT) for f in files]
            ids = np.concatenate([(np.uint64(_task_of(f)) << _TASK_SHIFT) | np.arange(len(rows), dtype=np.uint64)
                                  for f, rows in zip(files, tables, strict=True)] or [np.empty(0, np.uint64)])
            rows = np.concatenate(tables or [np.empty(0, FINGERPRINT)])
            fps = Fingerprints(rows["fp"], rows["content"], rows["exact"])
            decisions, pairs = self._decide(fps, ids)
            self.stat_update("near_pairs", value=pairs)
            self.stat_update("to_remove", value=int(decisions.dropped.sum()))
            for f in files:
                task = _task_of(f)
                mine = np.flatnonzero(decisions.dropped & ((ids >> _TASK_SHIFT) == task))
                removal = np.empty(len(mine), REMOVAL)
                removal["index"] = ids[mine] & np.uint64(0xFFFFFFFF)
                removal["code"], removal["ref"] = decisions.code[mine], ids[decisions.ref[mine]]
                removal["distance"], removal["conflicts"] = decisions.distance[mine], decisions.conflicts[mine]
                _save(self.output_folder, f"{task:05d}.remove", removal)
        return
        yield

    def _decide(self, fps: Fingerprints, ids: np.ndarray):
        """Decisions from the pair files, read one at a time. Under `max_conflicts` a pair must count once: the
        buckets give each pair of (content, fingerprint) once, so only contents seen with two fingerprints (the
        same text under languages of different segmentation) can repeat; their pairs are deduplicated apart."""
        clustering, total, held = Clustering(fps, self.config), 0, []
        varied = np.zeros(len(fps), bool)
        if self.config.policy == "max_conflicts":
            near = np.flatnonzero(~fps.exact)
            variants = np.unique(np.stack([clustering.rep[near].astype(np.uint64), fps.fp[near]], axis=1),
                                 axis=0)[:, 0].astype(np.int64)
            varied[variants[np.r_[variants[1:] == variants[:-1], False]]] = True
            varied = varied[clustering.rep]
        for f in self.input_folder.list_files():
            pairs = _load(self.input_folder, f, PAIR)
            total += len(pairs)
            a, b = np.searchsorted(ids, pairs["a"]), np.searchsorted(ids, pairs["b"])
            apart = ~(varied[a] | varied[b])
            clustering.add(a[apart], b[apart])
            held.append(np.sort(np.stack([clustering.rep[a[~apart]], clustering.rep[b[~apart]]]), axis=0))
        if held:
            a, b = np.concatenate(held, axis=1)
            clustering.add(*unique_pairs(a[a != b], b[a != b]))
        return clustering.decisions(), total


class SimHashFilter(_SimHashStage):
    """Stage 4: drop the pairs `SimHashCluster` listed for this task, reading the same input as stage 1.

    Args:
        input_folder: the output folder of `SimHashCluster`
        config: the shared `SimHashConfig`
        exclusion_writer: where dropped pairs go, e.g. `rejects_writer(run_dir, "dedup")`
    """

    name = "🫧 SimHash dedup"

    def __init__(self, input_folder: DataFolderLike, config: SimHashConfig | None = None,
                 exclusion_writer: DiskWriter | None = None):
        super().__init__(config)
        self.input_folder = get_datafolder(input_folder)
        self.exclusion_writer = exclusion_writer

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        removal = _load(self.input_folder, f"{rank:05d}.remove", REMOVAL)
        by_index = dict(zip(removal["index"].tolist(), range(len(removal)), strict=True))
        with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer:
            for index, doc in enumerate(data):
                self.stat_update(StatHints.total)
                row = by_index.get(index)
                if row is None:
                    self.stat_update(StatHints.forwarded)
                    self.update_doc_stats(doc)
                    yield doc
                    continue
                code = Decision(int(removal["code"][row]))
                self.stat_update(StatHints.dropped, f"dropped_{code.reason}")
                mark_rejected(doc, STEP, code.reason, detail(
                    code, _ref_label(int(removal["ref"][row])), int(removal["distance"][row]),
                    int(removal["conflicts"][row]), self.config))
                if writer:
                    writer.write(doc, rank)
