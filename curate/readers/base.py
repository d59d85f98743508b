"""What every bitext reader shares: language codes, sharding, line decoding, rejects and stats.

A reader turns one source family into bitext records (`xplus.curate.record`). It never drops a pair silently:
a unit it cannot turn into a pair (undecodable bytes, a malformed JSON line, a TMX unit without a `seg`) is
still yielded by `read_unit` with `mark_rejected(...)` set, and `run` sends it to the exclusion writer and
counts it. Stats follow datatrove's filters (`total`, `forwarded`, `dropped`, `dropped_<reason>`), so the
run's accounting treats readers and filters alike. Problems that make a whole input unusable (Moses files of
different lengths, broken XML, a truncated gzip, a file in which no record parses) raise `BitextFormatError` /
`InputError` naming the file(s) or URL, line and field instead, and the run stops (exit 1).

Inputs are opened through `xplus.curate.sources`: a local path, an `https://` URL or an `hf://` path, one file
or a folder. A folder is read by the suffixes the reader declares; the files it holds that do not match
(README, LICENSE) are listed in the log and counted (`skipped_files`), never read as bitext.

Empty sides are *not* dropped here: they keep their line numbers and reach the cleaner, which rejects them
with a reason (datatrove's own readers skip documents without text, silently).
"""

from __future__ import annotations

import contextlib
import os
import zlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger
from datatrove.utils.typeshelper import StatHints
from tqdm import tqdm

from xplus.curate.errors import DataError, InputError
from xplus.curate.languages import normalize
from xplus.curate.record import REJECT_DETAIL, REJECT_REASON, make_pair, mark_rejected
from xplus.curate.sources import describe_error, open_input, read_errors, source_folder

STEP = "unify"
UTF8_BOM = b"\xef\xbb\xbf"
MAX_LOGGED_REJECTS = 5
MAX_LISTED_FILES = 10
#: reject reasons that mean "this line is not a record of the declared format": a file with only these is an error
PARSE_REASONS = frozenset({"malformed_json", "missing_field", "extra_columns"})


class BitextFormatError(DataError, ValueError):
    """An input that cannot be read as bitext at all; the message names the file, line and field."""


def decode_line(raw: bytes, first: bool) -> tuple[str, str | None]:
    """Decode one raw line: drop the line end (`\\n`, `\\r\\n`) and a leading BOM on the first line.

    Returns `(text, problem)`; undecodable bytes give the text with U+FFFD and a problem description, so the
    pair can be rejected while its content stays readable in the rejects file.
    """
    raw = raw.rstrip(b"\n").rstrip(b"\r")
    if first and raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return raw.decode("utf-8", "replace"), f"invalid UTF-8 at byte {err.start}"


class BitextReader(PipelineStep, ABC):
    """Base of the xplus readers.

    Args:
        data_folder: local or remote folder or one file (a path, `https://` URL, `hf://` path, or anything
            datatrove's `get_datafolder` takes)
        src_lang / tgt_lang: language codes in any form the registry knows (`en`, `EN-US`, `eng_Latn`, `swa`)
        corpus: corpus name stored in each record (default: the data folder's name)
        exclusion_writer: where pairs rejected while reading go (with step `unify` and a reason)
        glob_pattern / recursive: which files of the folder to read
        limit: stop after this many pairs per task (-1: all)
        doc_progress: show a progress bar of pairs
    """

    type = "📖 - READER"
    #: said when no record of a file parses
    format_hint = "is it in the format this reader expects?"

    def __init__(
        self,
        data_folder: DataFolderLike,
        src_lang: str,
        tgt_lang: str,
        corpus: str | None = None,
        exclusion_writer: DiskWriter | None = None,
        glob_pattern: str | None = None,
        recursive: bool = True,
        limit: int = -1,
        doc_progress: bool = False,
    ):
        super().__init__()
        if isinstance(data_folder, str | os.PathLike):
            self.data_folder, self.single_file = source_folder(os.fspath(data_folder))
        else:
            self.data_folder, self.single_file = get_datafolder(data_folder), None
        self.src_lang = normalize(src_lang)
        self.tgt_lang = normalize(tgt_lang)
        if self.src_lang == self.tgt_lang:
            raise ValueError(f"source and target language are the same ({src_lang!r}, {tgt_lang!r})")
        self.corpus = corpus or (self.single_file or self.data_folder.path.rstrip("/").rsplit("/", 1)[-1])
        self.name = f"{type(self).name} ({self.corpus})"  # tells the readers of a run apart in stats
        self.stats.name = str(self)
        self.exclusion_writer = exclusion_writer
        self.glob_pattern = glob_pattern
        self.recursive = recursive
        self.limit = limit
        self.doc_progress = doc_progress
        self.sha256: str | None = None  # readers that take `sha256=` set it: checked while the one file streams
        self._logged_rejects: dict[str, int] = {}
        self._listing: tuple[tuple[str, ...] | None, list[str]] = (None, [])

    # -- what a reader implements -------------------------------------------------------------------------
    @abstractmethod
    def units(self) -> list[Any]:
        """All input units (files, file pairs), in a deterministic order; tasks take every world_size-th."""

    @abstractmethod
    def read_unit(self, unit: Any) -> Iterator[Document]:
        """Yield one record per input pair, rejected ones included (marked with `mark_rejected`)."""

    # -- shared helpers ----------------------------------------------------------------------------------
    def list_files(self, suffixes: Iterable[str] | None = None) -> list[str]:
        """The input files: the one file the source names, or the folder's files ending in one of `suffixes`;
        the others are listed in the log and counted as `skipped_files`."""
        if self.single_file:
            return [self.single_file]
        files = sorted(self.data_folder.list_files(recursive=self.recursive, glob_pattern=self.glob_pattern))
        if suffixes is None:
            return files
        suffixes = tuple(suffixes)
        kept = [f for f in files if f.endswith(suffixes)]
        skipped = [f for f in files if not f.endswith(suffixes)]
        self._listing = (suffixes, skipped)
        if skipped and kept:
            logger.warning(f"{self.name}: skipped {len(skipped)} file(s) of {self.data_folder.path} not ending in "
                           f"{', '.join(suffixes)}: {_listed(skipped)}")
            self.stat_update("skipped_files", value=len(skipped))
        return kept

    def open_input(self, path: str):
        """`path` of the data folder as a binary line stream (decompressed; pinned by `sha256` if it is the one
        file of the source)."""
        return open_input(self.data_folder, path, self.sha256 if path == self.single_file else None)

    def no_input_error(self) -> BitextFormatError:
        suffixes, skipped = self._listing
        hint = ""
        if suffixes:
            hint = f": no file ends in {', '.join(suffixes)}"
            hint += f" (found: {_listed(skipped)})" if skipped else " (the folder is empty)"
        return BitextFormatError(f"{self.name}: no input found in {self.data_folder.path}{hint}")

    def pair(self, src_text: str, tgt_text: str, file: str, line: int, extra: dict | None = None) -> Document:
        return make_pair(src_text, tgt_text, self.src_lang, self.tgt_lang, self.corpus, file, line, extra)

    def rejected(self, reason: str, detail: str, file: str, line: int, src_text: str = "", tgt_text: str = "",
                 extra: dict | None = None) -> Document:
        """A record for an input unit that cannot become a pair; it goes to the rejects, never vanishes."""
        doc = self.pair(src_text, tgt_text, file, line, extra)
        mark_rejected(doc, STEP, reason, f"{file}:{line}: {detail}")
        return doc

    def _log_reject(self, reason: str, doc: Document) -> None:
        """Log the first few rejects of each reason in full; the rest are in the rejects file and stats."""
        seen = self._logged_rejects.get(reason, 0)
        if seen < MAX_LOGGED_REJECTS:
            suffix = " (further rejects of this kind: see the rejects file)" if seen + 1 == MAX_LOGGED_REJECTS else ""
            logger.warning(f"{self.name}: rejected ({reason}) {doc.metadata.get('reject_detail')}{suffix}")
        self._logged_rejects[reason] = seen + 1

    # -- the datatrove step ------------------------------------------------------------------------------
    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        units = self.units()
        if not units:
            raise self.no_input_error()
        shard = units[rank::world_size] if len(units) >= world_size else self._spread(units, rank, world_size)
        with (
            self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as writer,
            tqdm(desc=f"{self.corpus} pairs", unit="pair", disable=not self.doc_progress) as progress,
        ):
            forwarded = 0
            for unit in shard:
                logger.info(f"{self.name}: reading {unit}")
                self.stat_update("input_units")
                # the unit's counts are added when it ends (or the task stops in it), in one update per stat:
                # per-pair `stat_update`s would cost as much as the reading
                total = kept = chars = tokens = 0
                parse_rejects: Counter[str] = Counter()
                first_reject = ""
                try:
                    for doc in self._guarded(unit):
                        if self.limit != -1 and forwarded >= self.limit:
                            return
                        total += 1
                        if self.doc_progress:
                            progress.update()
                        reason = doc.metadata.get(REJECT_REASON)
                        if reason:
                            self.stat_update(StatHints.dropped, f"dropped_{reason}")
                            self._log_reject(reason, doc)
                            if reason in PARSE_REASONS:
                                parse_rejects[reason] += 1
                                first_reject = first_reject or doc.metadata.get(REJECT_DETAIL, "")
                            if writer:
                                writer.write(doc, rank)
                            continue
                        kept += 1
                        chars += len(doc.text)
                        if token_count := doc.metadata.get("token_count"):
                            tokens += token_count
                        forwarded += 1
                        yield doc
                finally:
                    self._add_unit_counts(total, kept, chars, tokens)
                if total and parse_rejects.total() == total:
                    self._unparsable(unit, parse_rejects, first_reject)

    def _spread(self, units: list[Any], rank: int, world_size: int) -> list[Any]:
        """This task's units when there are fewer units than tasks: counted from a rank of the source's own (a
        stable hash), so that many one-file sources (a recipe of NLLB files) spread over the tasks instead of
        all landing on task 0."""
        start = zlib.crc32(f"{self.corpus}|{self.data_folder.path}|{self.single_file}".encode()) % world_size
        return [unit for i, unit in enumerate(units) if (start + i) % world_size == rank]

    def _guarded(self, unit: Any) -> Iterator[Document]:
        """`read_unit(unit)`, with a failure to read the input (truncated compression, not parquet, HTTP 404,
        timeout) raised as one `InputError` naming the file or URL and how far the reading got."""
        docs = self.read_unit(unit)
        count = 0
        while True:
            try:
                doc = next(docs)
            except StopIteration:
                return
            except read_errors() as err:
                where = self.describe_unit(unit)
                after = f" after {count} record(s)" if count else ""
                raise InputError(where, None, describe_error(err, where) + after) from err
            count += 1
            yield doc

    def describe_unit(self, unit: Any) -> str:
        """The unit as the user knows it: its full path or URL."""
        paths = unit if isinstance(unit, tuple) else (unit,)
        return " + ".join(self.data_folder.resolve_paths(p) if isinstance(p, str) else str(p) for p in paths)

    def _unparsable(self, unit: Any, reasons: Counter, first: str) -> None:
        counts = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
        raise InputError(self.describe_unit(unit), None,
                         f"no record parses ({counts}; first: {first}); {self.format_hint}")

    def _add_unit_counts(self, total: int, kept: int, chars: int, tokens: int) -> None:
        """One input unit's `total`, `forwarded` and `doc_len` (`doc_len_tokens`) counts, in one update each."""
        if total:
            self.stat_update(StatHints.total, value=total)
        if kept:
            self.stat_update(StatHints.forwarded, value=kept)
            self.stat_update("doc_len", value=chars, unit="doc")
        if tokens:
            self.stat_update("doc_len_tokens", value=tokens, unit="doc")


def _listed(files: list[str]) -> str:
    more = f" and {len(files) - MAX_LISTED_FILES} more" if len(files) > MAX_LISTED_FILES else ""
    return ", ".join(files[:MAX_LISTED_FILES]) + more
