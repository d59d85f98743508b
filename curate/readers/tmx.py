"""TMX 1.4 (and 1.1) translation memories, streamed with a SAX parser (never a whole-file DOM).

Each `<tu>` becomes one pair: its `<tuv>` for the source and the target language are found by their
`xml:lang` (or TMX 1.1 `lang`) attribute through the registry, so `EN-US`, `en_GB` and `eng` all match
English; a unit may hold any number of other `<tuv>`. Inline markup in `<seg>` keeps its text (`<hi>`) but
drops native codes (`<bpt>`, `<ept>`, `<ph>`, `<it>`, `<ut>`). A unit without a `<tuv>`/`<seg>` for one side is a
counted reject; the record's `line` is the line where its `<tu>` starts. A BOM is handled by the XML parser.
"""

from __future__ import annotations

import xml.sax
from collections.abc import Iterator
from functools import cache
from xml.sax.handler import ContentHandler

from datatrove.data import Document

from xplus.curate.languages import UnknownLanguageError, normalize
from xplus.curate.readers.base import BitextFormatError, BitextReader

CHUNK = 1 << 16
NATIVE_CODE_TAGS = frozenset({"bpt", "ept", "ph", "it", "ut"})
XML_LANG = "xml:lang"


@cache
def _canonical(lang: str) -> str | None:
    try:
        return normalize(lang)
    except UnknownLanguageError:
        return None


class _Unit:
    __slots__ = ("line", "segs", "missing_seg")

    def __init__(self, line: int):
        self.line = line
        self.segs: dict[str, str] = {}  # canonical code -> text of its first tuv with a seg
        self.missing_seg: list[str] = []  # languages whose tuv had no seg


class _TmxHandler(ContentHandler):
    """Collects finished units; the reader drains `done` after every chunk it feeds."""

    def __init__(self, locator):
        super().__init__()
        self.locator = locator  # the expat parser: feed() never calls setDocumentLocator
        self.done: list[_Unit] = []
        self.unit: _Unit | None = None
        self.lang: str | None = None
        self.seg: list[str] | None = None
        self.seg_seen = False
        self.skip_depth = 0

    def startElement(self, name, attrs):  # noqa: N802 (SAX API)
        if name == "tu":
            self.unit = _Unit(self.locator.getLineNumber())
        elif name == "tuv" and self.unit is not None:
            self.lang = _canonical(attrs.get(XML_LANG) or attrs.get("lang") or "")
            self.seg_seen = False
        elif name == "seg" and self.lang is not None:
            self.seg, self.seg_seen = [], True
        elif self.seg is not None and name in NATIVE_CODE_TAGS:
            self.skip_depth += 1

    def endElement(self, name):  # noqa: N802
        if name == "tu" and self.unit is not None:
            self.done.append(self.unit)
            self.unit = None
        elif name == "tuv" and self.unit is not None:
            if self.lang is not None and not self.seg_seen:
                self.unit.missing_seg.append(self.lang)
            self.lang = None
        elif name == "seg" and self.seg is not None:
            self.unit.segs.setdefault(self.lang, "".join(self.seg))
            self.seg = None
        elif self.seg is not None and name in NATIVE_CODE_TAGS:
            self.skip_depth -= 1

    def characters(self, content):
        if self.seg is not None and not self.skip_depth:
            self.seg.append(content)


class TmxReader(BitextReader):
    """Read `.tmx` files (plain or compressed) into pairs of `src_lang` -> `tgt_lang`; arguments: `BitextReader`'s."""

    name = "📖 TMX"

    def units(self) -> list[str]:
        return self.list_files((".tmx", ".tmx.gz", ".tmx.zst", ".tmx.bz2", ".tmx.xz"))

    def read_unit(self, unit: str) -> Iterator[Document]:
        parser = xml.sax.make_parser()
        handler = _TmxHandler(parser)
        parser.setContentHandler(handler)
        with self.open_input(unit) as f:
            try:
                while chunk := f.read(CHUNK):
                    parser.feed(chunk)
                    yield from self._drain(handler, unit)
                parser.close()
            except xml.sax.SAXParseException as err:
                raise BitextFormatError(
                    f"{self.data_folder.resolve_paths(unit)}:{err.getLineNumber()}:{err.getColumnNumber()}: "
                    f"malformed TMX: {err.getMessage()}"
                ) from err
        yield from self._drain(handler, unit)

    def _drain(self, handler: _TmxHandler, unit: str) -> Iterator[Document]:
        for tu in handler.done:
            yield self._record(tu, unit)
        handler.done.clear()

    def _record(self, tu: _Unit, unit: str) -> Document:
        src, tgt = tu.segs.get(self.src_lang), tu.segs.get(self.tgt_lang)
        if src is not None and tgt is not None:
            return self.pair(src, tgt, unit, tu.line)
        lang = self.src_lang if src is None else self.tgt_lang
        if lang in tu.missing_seg:
            return self.rejected("tmx_missing_seg", f"<tuv xml:lang={lang}> has no <seg>", unit, tu.line,
                                 src or "", tgt or "")
        return self.rejected("missing_field", f"no <tuv> for {lang} in this <tu>", unit, tu.line, src or "",
                             tgt or "")
