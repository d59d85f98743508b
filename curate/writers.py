"""Writers for curated pairs and for rejects.

`BitextJsonlWriter` / `BitextParquetWriter` write the paper's unified record (`src, trg, src_line, tgt_line`)
plus provenance, the same columns with the same types in both formats: every row carries every column (the
score fields of the steps that measured the writer's first pair, null where a pair has none; `flags` as a JSON
array string, `extra` as a JSON object string). `ChatJsonlWriter` writes step 6's chats and, when it closes,
its entry in LLaMA-Factory's `dataset_info.json` beside its folder. `RejectsWriter` writes every dropped pair
with the `step` and `reason` that dropped it; give each dropping block its own (`rejects_writer(run_dir,
"clean")`), so the rejects of a run sit in `rejects/<step>/` and can be counted per step.
"""

from __future__ import annotations

import os
from string import Template

import pyarrow as pa
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
from datatrove.utils.batching import batched
from datatrove.utils.typeshelper import StatHints
from fsspec.implementations.local import LocalFileSystem

from xplus.curate.export import ROW_LAYOUTS, write_dataset_info
from xplus.curate.record import (
    CORPUS,
    EXTRA,
    FILE,
    FLAGS,
    LINE,
    SCORE_FIELDS,
    UNIFIED_FIELDS,
    measured_fields,
    rejected_row,
    unified,
)

ARROW_TYPES = {int: pa.int64(), float: pa.float64(), str: pa.string()}


def parquet_schema(fields: tuple[str, ...]) -> pa.Schema:
    """The unified record's parquet schema with the score `fields` a run measured."""
    return pa.schema([(name, pa.string()) for name in (*UNIFIED_FIELDS, CORPUS, FILE)] + [(LINE, pa.int64())]
                     + [(name, ARROW_TYPES[SCORE_FIELDS[name]]) for name in fields]
                     + [(FLAGS, pa.string()), (EXTRA, pa.string())])


def _fields(writer, document: Document) -> tuple[str, ...]:
    """The score columns of a writer, fixed by its first document: every pair a writer sees went through the same
    steps, so its later rows get the same columns (null where a step measured nothing for a pair)."""
    if getattr(writer, "score_fields", None) is None:
        writer.score_fields = measured_fields(document)
    return writer.score_fields


def _folder(folder: DataFolderLike | os.PathLike) -> DataFolderLike:
    """datatrove takes str/DataFolder; users also pass pathlib.Path."""
    return os.fspath(folder) if isinstance(folder, os.PathLike) else folder


#: documents `RowJsonlWriter.run` writes between two reads of its clock
WRITE_BATCH = 1000


def _rank_only(template: Template) -> bool:
    """Whether a file-name template names no placeholder but `rank` (the file is then the same for every row)."""
    return all((m.group("named") or m.group("braced") or "rank") == "rank"
               for m in template.pattern.finditer(template.template))


class RowJsonlWriter(JsonlWriter):
    """datatrove's `JsonlWriter`, with its per-row bookkeeping done once per file and batch: the same files, rows
    and stats totals.

    `DiskWriter.write` works out the row's file name twice (a template substitution over all its metadata), runs
    three `stat_update`s and, from `run`, a timer per row: 3x what the adapter and orjson cost on sentence pairs.
    When the file name template names only `${rank}` and files are not split by size, this writer opens each
    task's file once, adds its counts (`total`, the file's row count, `doc_len`) when it closes, and `run` times
    batches of `WRITE_BATCH` rows. Other templates and `max_file_size` take datatrove's path.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._per_rank = self.max_file_size <= 0 and _rank_only(self.output_filename)
        self._files: dict[int | str, tuple] = {}  # rank -> (file name, stat key, open file)
        self._counts: dict[str, list[int]] = {}  # stat key -> [rows, characters, tokens] not yet in the stats

    def write(self, document: Document, rank: int = 0, **kwargs):
        if kwargs or not self._per_rank:
            return super().write(document, rank, **kwargs)
        if rank not in self._files:
            name = self.output_filename.substitute(rank=str(rank).zfill(5))
            key = self.output_filename.substitute(rank="XXXXX")
            self._files[rank] = (name, key, self._get_output_file_with_retry(name))
            self._counts.setdefault(key, [0, 0, 0])
        name, key, file = self._files[rank]
        self._write(self.adapter(document), file, name)
        counts = self._counts[key]
        counts[0] += 1
        counts[1] += len(document.text)
        if token_count := document.metadata.get("token_count"):
            counts[2] += token_count

    def close(self):
        for key, (rows, chars, tokens) in self._counts.items():
            if rows:
                self.stat_update(key, StatHints.total, value=rows)
                self.stat_update("doc_len", value=chars, unit="doc")
            if tokens:
                self.stat_update("doc_len_tokens", value=tokens, unit="doc")
        self._files.clear()
        self._counts.clear()
        super().close()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self:
            for batch in batched(data, WRITE_BATCH):
                with self.track_time("batch"):
                    for document in batch:
                        self.write(document, rank)
                yield from batch


def _unified_adapter(writer, document: Document) -> dict:
    return unified(document, _fields(writer, document))


def _unified_parquet_adapter(writer, document: Document) -> dict:
    if writer.schema is None:
        writer.schema = parquet_schema(_fields(writer, document))
    return unified(document, writer.score_fields)


class ChatJsonlWriter(RowJsonlWriter):
    """Chat records of step 6 as JSONL, in one of `export.LAYOUTS` (`messages`, `sharegpt`, `alpaca`)."""

    name = "💾 Chat JSONL"

    def __init__(self, output_folder: DataFolderLike, layout: str = "messages",
                 output_filename: str = "${rank}.jsonl", compression: str | None = None):
        if layout not in ROW_LAYOUTS:
            raise ValueError(f"layout must be one of {list(ROW_LAYOUTS)}, got {layout!r}")
        row = ROW_LAYOUTS[layout]
        super().__init__(_folder(output_folder), output_filename=output_filename, compression=compression,
                         adapter=lambda writer, doc: row(doc, _fields(writer, doc)))
        self.layout = layout
        self.name = f"{type(self).name} ({layout})"
        self.stats.name = str(self)

    def close(self):
        """Close the files, then declare the layout in `dataset_info.json` beside the folder (local folders; a
        remote one gets it from `export.write_dataset_info` once downloaded)."""
        super().close()
        if isinstance(self.output_folder.fs, LocalFileSystem) and not self.compression:
            folder = self.output_folder.path.rstrip("/")
            write_dataset_info(os.path.dirname(folder), self.layout, file_name=os.path.basename(folder))


def _rejected_adapter(writer, document: Document) -> dict:
    return rejected_row(document, _fields(writer, document))


class BitextJsonlWriter(RowJsonlWriter):
    """Unified bitext records as JSONL (one file per task: `${rank}.jsonl`, gzip unless told otherwise)."""

    name = "💾 Bitext JSONL"

    def __init__(self, output_folder: DataFolderLike, output_filename: str = "${rank}.jsonl",
                 compression: str | None = None):
        super().__init__(_folder(output_folder), output_filename=output_filename, compression=compression,
                         adapter=_unified_adapter)


class BitextParquetWriter(ParquetWriter):
    """Unified bitext records as parquet (one file per task), with the columns and types of `BitextJsonlWriter`
    (the schema is fixed by the first document's measured fields)."""

    name = "💾 Bitext parquet"

    def __init__(self, output_folder: DataFolderLike, output_filename: str = "${rank}.parquet"):
        super().__init__(_folder(output_folder), output_filename=output_filename,
                         adapter=_unified_parquet_adapter, schema=None)
        self.score_fields: tuple[str, ...] | None = None


class RejectsWriter(RowJsonlWriter):
    """Dropped pairs with `step`, `reason` (and `detail` where a block gives one).

    One writer serves one block: a block opens its writer when it starts and closes it when it ends, so a
    second block reopening the same writer would truncate the first one's file. That is refused.
    """

    name = "🗑 Rejects"

    def __init__(self, output_folder: DataFolderLike, output_filename: str = "${rank}.jsonl"):
        super().__init__(_folder(output_folder), output_filename=output_filename, compression=None,
                         adapter=_rejected_adapter)
        self._opened = False

    def __enter__(self):
        if self._opened:
            raise RuntimeError(f"{self.output_folder.path}: this rejects writer already served a block; give each "
                               f"block its own (rejects_writer(run_dir, step, part=...))")
        self._opened = True
        return super().__enter__()


def rejects_writer(run_dir: DataFolderLike | os.PathLike, step: str, part: str | None = None) -> RejectsWriter:
    """The rejects writer of one block of a run: `<run_dir>/rejects/<step>/[<part>/]`; blocks of the same step
    (the readers of several sources) each need their own `part`."""
    run_dir = _folder(run_dir)
    base = run_dir if isinstance(run_dir, str) else run_dir.path
    return RejectsWriter("/".join([base.rstrip("/"), "rejects", step, *([part] if part else [])]))
