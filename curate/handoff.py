"""Hand pairs from one stage of a run to the next, unchanged and in order.

A barrier (the SimHash clustering, a GPU step with its own resources) splits a run into stages; the pairs
before it are written by `HandoffWriter` and read back by `HandoffReader` in the next stage. Task r reads
exactly the file task r wrote (datatrove's readers share files out by position, which shifts when a task
wrote nothing), so per-task positions, which the multi-stage SimHash relies on, survive the barrier. Pairs
with an empty side are kept too (datatrove's readers skip documents without text).

Both blocks are of type HANDOFF: the accounting leaves them out of input and output and checks instead that
every handed-off pair arrived.
"""

from __future__ import annotations

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.typeshelper import StatHints

HANDOFF = "🔀 - HANDOFF"
HANDOFF_OUT, HANDOFF_IN = "🔀 handoff out", "🔀 handoff in"
FILENAME = "{rank:05d}.jsonl"


class HandoffWriter(JsonlWriter):
    """Write every pair, whole (text, id, metadata), to `<folder>/<rank>.jsonl`."""

    name = HANDOFF_OUT
    type = HANDOFF

    def __init__(self, output_folder: DataFolderLike):
        super().__init__(output_folder, output_filename="${rank}.jsonl", compression=None)


class HandoffReader(PipelineStep):
    """Read back what `HandoffWriter` wrote for this task, in order."""

    name = HANDOFF_IN
    type = HANDOFF

    def __init__(self, input_folder: DataFolderLike):
        super().__init__()
        self.input_folder = get_datafolder(input_folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        path = FILENAME.format(rank=rank)
        if not self.input_folder.exists(path):
            return  # the task of the previous stage had no pairs
        with self.input_folder.open(path, "rb") as f:
            for line in f:
                row = orjson.loads(line)
                self.stat_update(StatHints.total, StatHints.forwarded)
                yield Document(text=row["text"], id=row["id"], metadata=row.get("metadata") or {})
