"""Tab-separated bitext: one pair per line, configurable columns, extra columns kept as metadata.

Lines are split on `\\t` only, with no quoting (sentences contain quote characters that CSV dialects would
eat). A line with more fields than the declared columns is a counted reject (`extra_columns`: a tab inside a
sentence would otherwise shift or cut it) unless `extra_columns=True` keeps them as `col<i>`.

Layouts:

- ParaCrawl's released layout (`url1 url2 src trg hunalign zipporah bicleaner label comment`) is
  `PARACRAWL_V3_COLUMNS`; its scores, human label and comment end up in the record's `extra`.
- `layout="nllb"`: NLLB as AllenAI publishes it, one gzipped TSV per pair named by the two FLORES-200 codes in
  sorted order (`ben_Beng-eng_Latn.gz`): text in the first code's language, text in the second's,
  `laser_score`, `source_sentence_lid`, `target_sentence_lid`, `source_sentence_source`, `source_sentence_url`,
  `target_sentence_source`, `target_sentence_url` ("source" is the file name's first language). The sides are
  mapped from the file name (for en->bn, English is the second column); `extra` holds the scores as numbers,
  renamed relative to the record (`laser_score`, `src_lid`, `trg_lid`, `src_source`, `src_url`, `trg_source`,
  `trg_url`). `min_laser_score` rejects pairs below it (counted, reason `laser_score_below_min`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.languages import UnknownLanguageError, normalize
from xplus.curate.readers.base import BitextFormatError, BitextReader, decode_line
from xplus.curate.sources import COMPRESSIONS

PARACRAWL_V3_COLUMNS = ("url1", "url2", "src", "trg", "hunalign", "zipporah", "bicleaner", "label", "comment")
TSV_SUFFIXES = (".tsv", *(f".tsv{c}" for c in COMPRESSIONS))
NLLB = "nllb"
#: NLLB's columns after the two texts, named for the file's first (`a`) and second (`b`) language
NLLB_REST = ("laser_score", "{a}_lid", "{b}_lid", "{a}_source", "{a}_url", "{b}_source", "{b}_url")
#: score columns of the published layouts, kept as numbers in `extra` (NLLB's LASER and LID scores, ParaCrawl's)
NUMERIC = ("laser_score", "src_lid", "trg_lid", "hunalign", "zipporah", "bicleaner")


@cache
def nllb_codes(name: str) -> tuple[str, str] | None:
    """The two canonical codes of an NLLB file name (`ben_Beng-eng_Latn.gz`), or None if it is not one."""
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0]
    try:
        first, second = stem.split("-")
        return normalize(first), normalize(second)
    except (ValueError, UnknownLanguageError):
        return None


class TsvReader(BitextReader):
    """Read TSV bitext files: `.tsv` (plain or compressed), files named for the pair (`sorted.en-de`), or one file.

    Args:
        data_folder / src_lang / tgt_lang / corpus / exclusion_writer / glob_pattern / recursive / limit:
            see `BitextReader`
        columns: names of the columns, in order (default: `src`, `trg`); names beyond the data are ignored
        src_column / tgt_column: the names of the two sides among `columns`
        header: the first line of each file names the columns (overrides `columns`)
        keep_extra: keep the other columns in the record's `extra` (empty trailing columns are left out)
        extra_columns: lines with more fields than `columns` are kept (fields as `col<i>`) instead of rejected
        layout: `nllb` for AllenAI's NLLB files (columns and sides from the file name, see the module)
        min_laser_score: with `layout: nllb`, reject pairs whose LASER score is below this
        suffixes: which files of a folder are read (default: `.tsv[.gz|.zst|.bz2|.xz]` and files ending in
            `.<src_lang>-<tgt_lang>` as given, like ParaCrawl's `sorted.en-de`; NLLB: `.gz`)
        sha256: checksum of the source when it is one file, checked while it is read
    """

    name = "📖 TSV"
    format_hint = "a TSV file has one pair per line, fields separated by tabs"

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
        extra_columns: bool = False,
        layout: str | None = None,
        min_laser_score: float | None = None,
        suffixes: Sequence[str] | None = None,
        sha256: str | None = None,
        corpus: str | None = None,
        exclusion_writer: DiskWriter | None = None,
        glob_pattern: str | None = None,
        recursive: bool = True,
        limit: int = -1,
        doc_progress: bool = False,
    ):
        super().__init__(data_folder, src_lang, tgt_lang, corpus, exclusion_writer, glob_pattern, recursive,
                         limit, doc_progress)
        if layout not in (None, NLLB):
            raise ValueError(f"unknown TSV layout {layout!r}; known: {NLLB}")
        if min_laser_score is not None and layout != NLLB:
            raise ValueError("min_laser_score needs layout: nllb (the LASER score column)")
        self.layout, self.min_laser_score = layout, min_laser_score
        self.columns = tuple(columns)
        self.src_column, self.tgt_column = ("src", "trg") if layout == NLLB else (src_column, tgt_column)
        self.header = header
        self.keep_extra, self.extra_columns = keep_extra, extra_columns
        pair = f".{src_lang}-{tgt_lang}"
        default = COMPRESSIONS if layout == NLLB else (*TSV_SUFFIXES, pair, *(pair + c for c in COMPRESSIONS))
        self.suffixes = tuple(suffixes) if suffixes is not None else default
        self.sha256 = sha256
        if not header and layout is None:
            self._check_columns(self.columns, str(self.data_folder.path))

    def _check_columns(self, columns: Sequence[str], where: str) -> None:
        missing = [c for c in (self.src_column, self.tgt_column) if c not in columns]
        if missing:
            raise ValueError(f"{where}: column(s) {missing} not among the TSV columns {list(columns)}")

    def units(self) -> list[str]:
        return self.list_files(self.suffixes)

    def nllb_columns(self, unit: str) -> tuple[str, ...]:
        """The columns of an NLLB file, named for this reader's sides (the file name says which comes first)."""
        codes = nllb_codes(unit)
        if codes == (self.src_lang, self.tgt_lang):
            a, b = "src", "trg"
        elif codes == (self.tgt_lang, self.src_lang):
            a, b = "trg", "src"
        else:
            raise BitextFormatError(
                f"{self.describe_unit(unit)}: an NLLB file is named <code>-<code>.gz for its two languages "
                f"({self.src_lang}, {self.tgt_lang}); this name does not match them")
        return (a, b, *(name.format(a=a, b=b) for name in NLLB_REST))

    def read_unit(self, unit: str) -> Iterator[Document]:
        columns = self.nllb_columns(unit) if self.layout == NLLB else self.columns
        with self.open_input(unit) as f:
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
        src, tgt = row.get(self.src_column, ""), row.get(self.tgt_column, "")
        extra = None
        if self.keep_extra:
            extra = {k: v for k, v in row.items() if k not in (self.src_column, self.tgt_column) and v != ""}
        if len(values) > len(columns) and not self.extra_columns:
            detail = (f"{len(values)} tab-separated fields, {len(columns)} column(s) declared (a tab inside a "
                      f"sentence?); declare the columns, or extra_columns: true to keep them")
            return self.rejected("extra_columns", detail, unit, line, src, tgt, extra)
        for column in (self.src_column, self.tgt_column):
            if column not in row:
                detail = (f"field {column!r} (column {columns.index(column) + 1}) missing: "
                          f"the line has {len(values)} column(s)")
                return self.rejected("missing_field", detail, unit, line, src, tgt, extra)
        scores = {}
        for key in NUMERIC:
            if row.get(key, "") != "":
                try:
                    scores[key] = float(row[key])
                except ValueError:
                    return self.rejected("malformed_score", f"{key} {row[key]!r} is not a number", unit, line,
                                         src, tgt, extra)
        if extra is not None:
            extra.update(scores)
        if self.layout == NLLB:
            return self._nllb_record(src, tgt, scores, extra, unit, line)
        return self.pair(src, tgt, unit, line, extra)

    def _nllb_record(self, src: str, tgt: str, scores: dict, extra: dict | None, unit: str, line: int) -> Document:
        score = scores.get("laser_score")
        if self.min_laser_score is not None and (score is None or score < self.min_laser_score):
            return self.rejected("laser_score_below_min", f"laser_score {score} < {self.min_laser_score}", unit,
                                 line, src, tgt, extra)
        return self.pair(src, tgt, unit, line, extra)
