"""Tab-separated bitext: one pair per line, configurable columns, extra columns kept as metadata.

Lines are split on `\\t` only, with no quoting (sentences contain quote characters that CSV dialects would
eat). ParaCrawl's released layout (`url1 url2 src trg hunalign zipporah bicleaner label comment`) is
`PARACRAWL_V3_COLUMNS`; its scores, human label and comment end up in the record's `extra`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.readers.base import BitextReader, decode_line

PARACRAWL_V3_COLUMNS = ("url1", "url2", "src", "trg", "hunalign", "zipporah", "bicleaner", "label", "comment")


class TsvReader(BitextReader):
    """Read TSV bitext files (`.tsv`, `.tsv.gz`, or anything `glob_pattern` selects).

    Args:
        data_folder / src_lang / tgt_lang / corpus / exclusion_writer / glob_pattern / recursive / limit:
            see `BitextReader`
        columns: names of the columns, in order (default: `src`, `trg`); names beyond the data are ignored,
            unnamed extra columns are kept as `col<i>`
        src_column / tgt_column: the names of the two sides among `columns`
        header: the first line of each file names the columns (overrides `columns`)
        keep_extra: keep the other columns in the record's `extra` (empty trailing columns are left out)
    """

    name = "📖 TSV"

    def __init__(
        self,
        data_folder: DataFolderLike,
        src_lang: str,
        tgt_lang: str,
        columns: Sequence[str] = ("src", "trg"),
        src_column: str = "src",
        tgt_column: str = "trg",
        header: bool = False,
        keep_extra: bool = True,
        corpus: str | None = None,
        exclusion_writer: DiskWriter | None = None,
        glob_pattern: str | None = None,
        recursive: bool = True,
        limit: int = -1,
        doc_progress: bool = False,
    ):
        super().__init__(data_folder, src_lang, tgt_lang, corpus, exclusion_writer, glob_pattern, recursive,
                         limit, doc_progress)
        self.columns = tuple(columns)
        self.src_column, self.tgt_column = src_column, tgt_column
        self.header = header
        self.keep_extra = keep_extra
        if not header:
            self._check_columns(self.columns, str(self.data_folder.path))

    def _check_columns(self, columns: Sequence[str], where: str) -> None:
        missing = [c for c in (self.src_column, self.tgt_column) if c not in columns]
        if missing:
            raise ValueError(f"{where}: column(s) {missing} not among the TSV columns {list(columns)}")

    def units(self) -> list[str]:
        return self.list_files()

    def read_unit(self, unit: str) -> Iterator[Document]:
        columns = self.columns
        with self.data_folder.open(unit, "rb", compression="infer") as f:
            for line, raw in enumerate(f, start=1):
                text, problem = decode_line(raw, first=line == 1)
                if self.header and line == 1:
                    columns = tuple(text.split("\t"))
                    self._check_columns(columns, f"{unit}:1 (header)")
                    continue
                if problem:
                    yield self.rejected("invalid_utf8", problem, unit, line, text)
                    continue
                yield self._record(text.split("\t"), columns, unit, line)

    def _record(self, values: list[str], columns: Sequence[str], unit: str, line: int) -> Document:
        row = {columns[i] if i < len(columns) else f"col{i}": value for i, value in enumerate(values)}
        extra = None
        if self.keep_extra:
            extra = {k: v for k, v in row.items() if k not in (self.src_column, self.tgt_column) and v != ""}
        for column in (self.src_column, self.tgt_column):
            if column not in row:
                detail = (f"field {column!r} (column {columns.index(column) + 1}) missing: "
                          f"the line has {len(values)} column(s)")
                return self.rejected("missing_field", detail, unit, line, row.get(self.src_column, ""),
                                     row.get(self.tgt_column, ""), extra)
        return self.pair(row[self.src_column], row[self.tgt_column], unit, line, extra)
