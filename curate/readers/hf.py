"""HuggingFace-style bitext: rows with a `translation: {lang: text}` dict, as JSONL, parquet or a Hub dataset.

Covers OPUS-100 on the Hub (`translation: {"en": ..., "sw": ...}`) and NLLB (`translation: {"eng_Latn": ...,
"swh_Latn": ...}` plus `laser_score`, `source_sentence_lid`, ...). The dict's keys may be any code the registry
knows; they are matched to the reader's languages by canonical code. Other row fields (scores) are kept in the
record's `extra`. Layouts with the sides in plain columns work with `src_field` / `tgt_field`.

A malformed JSON line or a row without one of the two sides is a counted reject naming file, line and field;
a file in which no line parses (a pretty-printed `.json` array) is an error naming the file.

OPUS-100 as the Hub serves it today (parquet per config, no loading script) is read as files:
`hf://datasets/Helsinki-NLP/opus-100@<revision>/en-sw/train-00000-of-00001.parquet`, streamed a row group at
a time through the Hub's filesystem. (`hub_dataset` goes through `datasets.load_dataset`, which refuses script
datasets such as `allenai/nllb` since `datasets` 4: read NLLB with `TsvReader(layout="nllb")`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.errors import ConfigError
from xplus.curate.languages import UnknownLanguageError, normalize
from xplus.curate.readers.base import BitextReader, decode_line
from xplus.curate.sources import COMPRESSIONS

JSONL_SUFFIXES = tuple(f"{ext}{c}" for ext in (".jsonl", ".json") for c in ("", *COMPRESSIONS))
PARQUET_SUFFIXES = (".parquet",)
NLLB_HINT = ("allenai/nllb: `reader: tsv`, `layout: nllb`, `path: https://storage.googleapis.com/allennlp-data-bucket/"
             "nllb/<code>-<code>.gz`")
HUB = "hub"


class HFBitextReader(BitextReader):
    """Read `translation`-dict rows from local/remote JSONL or parquet files, or stream a Hub dataset.

    Args:
        data_folder: folder with `.jsonl[.gz]` / `.parquet` files; ignored when `hub_dataset` is given
        src_lang / tgt_lang / corpus / exclusion_writer / glob_pattern / recursive / limit: see `BitextReader`
        translation_field: the dict holding both sides (`translation`)
        src_field / tgt_field: read the sides from these top-level fields instead of the dict
        hub_dataset / hub_config / hub_split / hub_revision: stream this Hub dataset (pin `hub_revision` for
            reproducible runs); each task reads its share (`split_dataset_by_node`)
        parquet_batch_size: rows per parquet batch
        sha256: checksum of the source when it is one JSONL file, checked while it is read (a parquet file is
            read by ranges, not whole: pin it by its Hub revision, `hf://datasets/<id>@<revision>/...`)
    """

    name = "📖 HF bitext"
    format_hint = "JSON input must be JSON Lines, one object per line (a pretty-printed JSON array is not)"

    def __init__(
        self,
        data_folder: DataFolderLike | None,
        src_lang: str,
        tgt_lang: str,
        translation_field: str = "translation",
        src_field: str | None = None,
        tgt_field: str | None = None,
        hub_dataset: str | None = None,
        hub_config: str | None = None,
        hub_split: str = "train",
        hub_revision: str | None = None,
        parquet_batch_size: int = 10_000,
        sha256: str | None = None,
        corpus: str | None = None,
        exclusion_writer: DiskWriter | None = None,
        glob_pattern: str | None = None,
        recursive: bool = True,
        limit: int = -1,
        doc_progress: bool = False,
    ):
        if (src_field is None) != (tgt_field is None):
            raise ValueError("give both src_field and tgt_field, or neither (to read the translation dict)")
        if data_folder is None and hub_dataset is None:
            raise ValueError("give a data_folder or a hub_dataset")
        super().__init__(data_folder or ".", src_lang, tgt_lang, corpus or hub_dataset, exclusion_writer,
                         glob_pattern, recursive, limit, doc_progress)
        self.translation_field = translation_field
        self.src_field, self.tgt_field = src_field, tgt_field
        self.hub_dataset, self.hub_config = hub_dataset, hub_config
        self.hub_split, self.hub_revision = hub_split, hub_revision
        self.parquet_batch_size = parquet_batch_size
        self.sha256 = sha256
        self._rank, self._world_size = 0, 1
        self._key_cache: dict[tuple[str, ...], tuple[str | None, str | None]] = {}

    def units(self) -> list[str]:
        if self.hub_dataset:
            return [HUB]
        return self.list_files(JSONL_SUFFIXES + PARQUET_SUFFIXES)

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        # a Hub stream is one unit that every task shares out by itself
        self._rank, self._world_size = rank, world_size
        return super().run(data, 0 if self.hub_dataset else rank, 1 if self.hub_dataset else world_size)

    def read_unit(self, unit: str) -> Iterator[Document]:
        if unit == HUB:
            # rows are numbered within this task's share, so the task is part of the name (ids stay unique)
            share = f"#{self._rank}/{self._world_size}" if self._world_size > 1 else ""
            yield from self._read_rows(self._hub_rows(), f"{self.hub_dataset}:{self.hub_split}{share}")
        elif unit.endswith(PARQUET_SUFFIXES):
            yield from self._read_rows(self._parquet_rows(unit), unit)
        else:
            yield from self._read_jsonl(unit)

    # -- sources ---------------------------------------------------------------------------------------
    def _read_jsonl(self, unit: str) -> Iterator[Document]:
        with self.open_input(unit) as f:
            for line, raw in enumerate(f, start=1):
                text, problem = decode_line(raw, first=line == 1)
                if problem:
                    yield self.rejected("invalid_utf8", problem, unit, line, text)
                    continue
                try:
                    row = orjson.loads(text)
                except orjson.JSONDecodeError as err:
                    yield self.rejected("malformed_json", f"invalid JSON: {err}", unit, line, text[:1000])
                    continue
                yield self._record(row, unit, line)

    def _read_rows(self, rows: Iterator[Any], unit: str) -> Iterator[Document]:
        for line, row in enumerate(rows, start=1):
            yield self._record(row, unit, line)

    def _parquet_rows(self, unit: str) -> Iterator[dict]:
        import pyarrow.parquet as pq

        # one row group at a time through a small read buffer: memory is bounded by the file's row group size,
        # not by the file (pyarrow's default pre-buffering holds more of it)
        with self.data_folder.open(unit, "rb") as f:
            parquet = pq.ParquetFile(f, pre_buffer=False, buffer_size=1 << 20)
            for batch in parquet.iter_batches(batch_size=self.parquet_batch_size):
                yield from batch.to_pylist()

    def _hub_rows(self) -> Iterator[dict]:
        from datasets import load_dataset
        from datasets.distributed import split_dataset_by_node

        try:
            stream = load_dataset(self.hub_dataset, self.hub_config, split=self.hub_split,
                                  revision=self.hub_revision, streaming=True)
        except RuntimeError as err:
            if "script" not in str(err).lower():
                raise
            raise ConfigError(f"hub_dataset {self.hub_dataset!r} is a loading-script dataset, which `datasets` >= 4 "
                              f"refuses: read the files it points to instead ({NLLB_HINT})") from err
        if self._world_size > 1:
            stream = split_dataset_by_node(stream, rank=self._rank, world_size=self._world_size)
        yield from stream

    # -- one row -----------------------------------------------------------------------------------------
    def _record(self, row: Any, unit: str, line: int) -> Document:
        if not isinstance(row, dict):
            return self.rejected("malformed_json", f"expected a JSON object, got {type(row).__name__}", unit, line)
        if self.src_field:
            container, keys, prefix = row, (self.src_field, self.tgt_field), ""
        else:
            container = row.get(self.translation_field)
            if not isinstance(container, dict):
                return self.rejected("missing_field", f"field {self.translation_field!r} missing or not a dict",
                                     unit, line)
            keys, prefix = self._translation_keys(container), f"{self.translation_field}."
        extra = {k: v for k, v in row.items() if k not in (self.translation_field, *keys)} or None
        values = []
        for key, lang in zip(keys, (self.src_lang, self.tgt_lang), strict=True):
            value = container.get(key) if key else None
            if not isinstance(value, str):
                what = "missing" if value is None else f"not a string ({type(value).__name__})"
                name = key or lang
                return self.rejected("missing_field", f"field {prefix}{name!r} {what}", unit, line,
                                     *values, extra=extra)
            values.append(value)
        return self.pair(values[0], values[1], unit, line, extra)

    def _translation_keys(self, translation: dict) -> tuple[str | None, str | None]:
        """The dict keys of the source and target sides, matched by canonical language code (cached per key set)."""
        key_set = tuple(translation)
        if key_set not in self._key_cache:
            found: dict[str, str] = {}
            for key in key_set:
                try:
                    found.setdefault(normalize(key), key)
                except UnknownLanguageError:
                    continue
            self._key_cache[key_set] = (found.get(self.src_lang), found.get(self.tgt_lang))
        return self._key_cache[key_set]
