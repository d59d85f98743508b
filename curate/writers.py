"""Writers for curated pairs and for rejects.

`BitextJsonlWriter` / `BitextParquetWriter` write the paper's unified record (`src, trg, src_line, tgt_line`)
plus provenance. `RejectsWriter` writes every dropped pair with the `step` and `reason` that dropped it; give
each dropping block its own (`rejects_writer(run_dir, "clean")`), so the rejects of a run sit in
`rejects/<step>/` and can be counted per step.
"""

from __future__ import annotations

import os

import orjson
import pyarrow as pa
from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

from xplus.curate.export import ROW_LAYOUTS
from xplus.curate.record import CORPUS, EXTRA, FILE, LINE, SCORE_FIELDS, UNIFIED_FIELDS, rejected_row, unified

ARROW_TYPES = {int: pa.int64(), float: pa.float64(), str: pa.string()}
PARQUET_SCHEMA = pa.schema([(name, pa.string()) for name in (*UNIFIED_FIELDS, CORPUS, FILE)]
                           + [(LINE, pa.int64())]
                           + [(name, ARROW_TYPES[kind]) for name, kind in SCORE_FIELDS.items()]
                           + [(EXTRA, pa.string())])


def _folder(folder: DataFolderLike | os.PathLike) -> DataFolderLike:
    """datatrove takes str/DataFolder; users also pass pathlib.Path."""
    return os.fspath(folder) if isinstance(folder, os.PathLike) else folder


def _unified_adapter(_writer, document: Document) -> dict:
    return unified(document)


def _unified_parquet_adapter(_writer, document: Document) -> dict:
    row = unified(document)
    extra = row.pop(EXTRA, None)
    row[EXTRA] = orjson.dumps(extra).decode() if extra else None
    return row


class ChatJsonlWriter(JsonlWriter):
    """Chat records of step 6 as JSONL, in one of `export.LAYOUTS` (`messages`, `sharegpt`, `alpaca`)."""

    name = "💾 Chat JSONL"

    def __init__(self, output_folder: DataFolderLike, layout: str = "messages",
                 output_filename: str = "${rank}.jsonl", compression: str | None = None):
        if layout not in ROW_LAYOUTS:
            raise ValueError(f"layout must be one of {list(ROW_LAYOUTS)}, got {layout!r}")
        row = ROW_LAYOUTS[layout]
        super().__init__(_folder(output_folder), output_filename=output_filename, compression=compression,
                         adapter=lambda _writer, doc: row(doc))
        self.layout = layout
        self.name = f"{type(self).name} ({layout})"
        self.stats.name = str(self)


def _rejected_adapter(_writer, document: Document) -> dict:
    return rejected_row(document)


class BitextJsonlWriter(JsonlWriter):
    """Unified bitext records as JSONL (one file per task: `${rank}.jsonl`, gzip unless told otherwise)."""

    name = "💾 Bitext JSONL"

    def __init__(self, output_folder: DataFolderLike, output_filename: str = "${rank}.jsonl",
                 compression: str | None = None):
        super().__init__(_folder(output_folder), output_filename=output_filename, compression=compression,
                         adapter=_unified_adapter)


class BitextParquetWriter(ParquetWriter):
    """Unified bitext records as parquet (one file per task), with a fixed schema: sources differ in their
    extra fields (ParaCrawl labels, NLLB scores), so `extra` is a JSON string column here."""

    name = "💾 Bitext parquet"

    def __init__(self, output_folder: DataFolderLike, output_filename: str = "${rank}.parquet"):
        super().__init__(_folder(output_folder), output_filename=output_filename,
                         adapter=_unified_parquet_adapter, schema=PARQUET_SCHEMA)


class RejectsWriter(JsonlWriter):
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
