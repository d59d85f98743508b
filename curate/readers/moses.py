"""Moses-style paired files: `GlobalVoices.en` + `GlobalVoices.sw`, one sentence per line, read in lockstep.

Lines are split on `\\n` only, on bytes: Python's text mode would also split on a stray `\\r`, `\\x0b`,
`\\x1c`-`\\x1e`, U+0085 or U+2028 inside a sentence and silently shift every later pair. Both files are counted
before any pair is emitted: unequal counts are an error naming both files and both counts (OpusFilter and
stopes truncate to the shorter file, which hides a misaligned corpus).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.readers.base import BitextFormatError, BitextReader, decode_line
from xplus.curate.record import make_pair

COUNT_CHUNK = 1 << 20


class MosesReader(BitextReader):
    """Read Moses-style file pairs.

    Pairs are found by suffix: every file `X.<src_suffix>` in `data_folder` goes with `X.<tgt_suffix>`
    (suffixes default to the language codes as given, e.g. `en`/`sw`, or `eng`/`swa` for TICO-19). Pass
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
        files = set(self.list_files())
        units = []
        for src_file in sorted(f for f in files if f.endswith(self.src_suffix)):
            tgt_file = src_file[: -len(self.src_suffix)] + self.tgt_suffix
            if tgt_file not in files:
                raise BitextFormatError(
                    f"{self.data_folder.path}: {src_file} has no partner {tgt_file} "
                    f"(pass pairs=[(src, tgt)] when the file stems differ)"
                )
            units.append((src_file, tgt_file))
        return units

    def count_lines(self, path: str) -> int:
        """Lines as this reader sees them: `\\n`-terminated, plus a last line without a newline."""
        count, last = 0, b"\n"
        with self.data_folder.open(path, "rb", compression="infer") as f:
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
        with self.data_folder.open(path, "rb", compression="infer") as f:
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
