"""Moses-style paired files: `GlobalVoices.en` + `GlobalVoices.sw`, one sentence per line, read in lockstep.

Lines are split on `\\n` only, on bytes: Python's text mode would also split on a stray `\\r`, `\\x0b`,
`\\x1c`-`\\x1e`, U+0085 or U+2028 inside a sentence and silently shift every later pair. Both files are counted
before any pair is emitted: unequal counts are an error naming both files and both counts (OpusFilter and
stopes truncate to the shorter file, which hides a misaligned corpus).

Files may be compressed (`X.en.gz` + `X.sw.gz`), and OPUS's Moses zips (`en-sw.txt.zip` holding
`NLLB.en-sw.en`, `NLLB.en-sw.sw`, README, LICENSE) are read in place: both members stream straight from the
archive (a local file, or HTTP range requests), and the other members are listed as skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger

from xplus.curate.readers.base import BitextFormatError, BitextReader, decode_line
from xplus.curate.record import make_pair
from xplus.curate.sources import COMPRESSIONS, zip_members

COUNT_CHUNK = 1 << 20


class MosesReader(BitextReader):
    """Read Moses-style file pairs.

    Pairs are found by suffix: every file `X.<src_suffix>` in `data_folder` goes with `X.<tgt_suffix>`
    (suffixes default to the language codes as given, e.g. `en`/`sw`, or `eng`/`swa` for TICO-19), also
    compressed (`X.en.gz` with `X.sw.gz`) and inside `.zip` archives (`en-sw.txt.zip/NLLB.en-sw.en`). Pass
    `pairs=[("english.en", "swahili.sw")]` for files whose stems differ. A pair's `file` is the source-side file.

    Args:
        data_folder / src_lang / tgt_lang / corpus / exclusion_writer / glob_pattern / recursive / limit:
            see `BitextReader`
        src_suffix / tgt_suffix: file suffixes of each side (default: `src_lang` / `tgt_lang` as given)
        pairs: explicit (source file, target file) paths relative to `data_folder`
    """

    name = "📖 Moses pairs"

    def __init__(
        self,
        data_folder: DataFolderLike,
        src_lang: str,
        tgt_lang: str,
        src_suffix: str | None = None,
        tgt_suffix: str | None = None,
        pairs: Sequence[tuple[str, str]] | None = None,
        corpus: str | None = None,
        exclusion_writer: DiskWriter | None = None,
        glob_pattern: str | None = None,
        recursive: bool = True,
        limit: int = -1,
        doc_progress: bool = False,
    ):
        super().__init__(data_folder, src_lang, tgt_lang, corpus, exclusion_writer, glob_pattern, recursive,
                         limit, doc_progress)
        self.src_suffix = "." + (src_suffix or src_lang).lstrip(".")
        self.tgt_suffix = "." + (tgt_suffix or tgt_lang).lstrip(".")
        self.pairs = [tuple(p) for p in pairs] if pairs else None

    def units(self) -> list[tuple[str, str]]:
        if self.pairs:
            return self.pairs
        variants = [(self.src_suffix + c, self.tgt_suffix + c) for c in ("", *COMPRESSIONS)]
        suffixes = (*(s for pair in variants for s in pair), ".zip")
        files = self.list_files(suffixes)
        if self.single_file and not self.single_file.endswith(".zip"):
            files += [self._partner(self.single_file, variants) or self.single_file]
        units = []
        for file in files:
            if file.endswith(".zip"):
                units += self._zip_units(file)
            elif (partner := self._partner(file, variants)) and not file.endswith(tuple(t for _, t in variants)):
                if partner not in files:
                    raise BitextFormatError(
                        f"{self.data_folder.path}: {file} has no partner {partner} "
                        f"(pass pairs=[(src, tgt)] when the file stems differ)")
                units.append((file, partner))
        return sorted(set(units))

    def _partner(self, file: str, variants: list[tuple[str, str]]) -> str | None:
        """The target-side name of a source-side file (None if `file` has no source suffix)."""
        for src_suffix, tgt_suffix in sorted(variants, key=lambda v: -len(v[0])):
            if file.endswith(src_suffix):
                return file[: -len(src_suffix)] + tgt_suffix
        return None

    def _zip_units(self, archive: str) -> list[tuple[str, str]]:
        """The source/target member pairs of a zip archive; its other members are listed as skipped."""
        members = zip_members(self.data_folder, archive)
        units, used = [], set()
        for member in members:
            partner = member[: -len(self.src_suffix)] + self.tgt_suffix
            if member.endswith(self.src_suffix) and partner in members:
                units.append((f"{archive}/{member}", f"{archive}/{partner}"))
                used |= {member, partner}
        if not units:
            raise BitextFormatError(
                f"{self.data_folder.resolve_paths(archive)}: no member pair *{self.src_suffix} + *{self.tgt_suffix} "
                f"(members: {', '.join(members[:10])}); set src_suffix / tgt_suffix")
        if skipped := [m for m in members if m not in used]:
            logger.warning(f"{self.name}: skipped {len(skipped)} member(s) of {archive} that are not a "
                           f"*{self.src_suffix} / *{self.tgt_suffix} pair: {', '.join(skipped[:10])}")
            self.stat_update("skipped_files", value=len(skipped))
        return units

    def count_lines(self, path: str) -> int:
        """Lines as this reader sees them: `\\n`-terminated, plus a last line without a newline."""
        count, last = 0, b"\n"
        with self.open_input(path) as f:
            while chunk := f.read(COUNT_CHUNK):
                count += chunk.count(b"\n")
                last = chunk[-1:]
        return count + (last != b"\n")

    def read_unit(self, unit: tuple[str, str]) -> Iterator[Document]:
        src_file, tgt_file = unit
        src_count, tgt_count = self.count_lines(src_file), self.count_lines(tgt_file)
        if src_count != tgt_count:
            raise BitextFormatError(
                f"Moses pair with unequal line counts: {self.data_folder.resolve_paths(src_file)} has "
                f"{src_count} lines, {self.data_folder.resolve_paths(tgt_file)} has {tgt_count}; "
                f"refusing to truncate (the pairs after the first missing line would be misaligned)"
            )
        src_lines, tgt_lines = self.decoded_lines(src_file), self.decoded_lines(tgt_file)
        src, tgt, corpus = self.src_lang, self.tgt_lang, self.corpus
        for line, ((src_text, src_problem), (tgt_text, tgt_problem)) in enumerate(
                zip(src_lines, tgt_lines, strict=True), start=1):
            if src_problem or tgt_problem:
                field, problem = ("source", src_problem) if src_problem else ("target", tgt_problem)
                where = src_file if src_problem else tgt_file
                yield self.rejected("invalid_utf8", f"{field} ({where}): {problem}", src_file, line, src_text,
                                    tgt_text)
            else:
                yield make_pair(src_text, tgt_text, src, tgt, corpus, src_file, line)

    def decoded_lines(self, path: str) -> Iterator[tuple[str, str | None]]:
        """`decode_line` of every line of `path`, decoded a chunk of lines at a time.

        A chunk of whole lines that is valid UTF-8 is decoded at once and split on `\\n` (which, in UTF-8,
        is never part of another character, so the lines are the byte lines); a chunk with invalid bytes
        falls back to `decode_line` line by line, so the problem is reported for its line.
        """
        first, rest = True, b""
        with self.open_input(path) as f:
            while True:
                chunk = f.read(COUNT_CHUNK)
                data = rest + chunk
                end = len(data) if not chunk else data.rfind(b"\n") + 1
                data, rest = data[:end], data[end:]
                if data:
                    yield from _decode_chunk(data, first)
                    first = False
                if not chunk:
                    return


def _decode_chunk(data: bytes, first: bool) -> list[tuple[str, str | None]]:
    """`decode_line` of each line of `data` (whole lines; the last one may lack its `\\n` at the end of a file)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raws = data.split(b"\n")
        if data.endswith(b"\n"):
            raws.pop()
        return [decode_line(raw, first and i == 0) for i, raw in enumerate(raws)]
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    if first and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return [(line, None) for line in lines]
