"""The bitext record: one translation pair carried on datatrove's `Document`.

Every xplus block reads and writes pairs through the helpers below, so the layout lives in one place:

- `doc.text`                  the source sentence (so datatrove's own text blocks see the source side)
- `doc.metadata["tgt_line"]`  the target sentence
- `doc.metadata["src"]`, `doc.metadata["trg"]`
                              canonical FLORES-200 codes of both sides (`eng_Latn`, `swh_Latn`), from the registry
- `doc.metadata["corpus"]`, `["file"]`, `["line"]`
                              provenance: corpus name, source file (the source-side file for Moses pairs) and the
                              1-based line (or TMX unit / parquet row) the pair came from
- `doc.metadata["extra"]`     anything else the source carried (ParaCrawl scores and labels, NLLB's LASER score)
- `doc.id`                    `corpus/file:line`, unique within a run

Written rows (`unified`) carry every column in every row, one type per column in JSONL and parquet alike: the
measured score fields of every step that ran (`measured_fields`; null where a step measured nothing for that
pair) and `extra` as a JSON string (null when the source carried nothing), since its keys differ per source.

A block that drops a pair calls `mark_rejected` so the rejects writer can record the step and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from datatrove.data import Document

SRC, TRG, TGT_LINE = "src", "trg", "tgt_line"
CORPUS, FILE, LINE, EXTRA = "corpus", "file", "line", "extra"
#: what `decision: flag` steps would have dropped the pair for (a list of {step, reason, detail, score})
FLAGS = "flags"
REJECT_STEP, REJECT_REASON, REJECT_DETAIL = "reject_step", "reject_reason", "reject_detail"

#: the fields of the paper's unified record, in order, followed by provenance
UNIFIED_FIELDS = ("src", "trg", "src_line", "tgt_line")
PROVENANCE_FIELDS = (CORPUS, FILE, LINE)
#: what the filters measured, kept in the output (when the step ran) for reports and later re-filtering
SCORE_FIELDS = {"length_src": int, "length_trg": int, "lid_src": str, "lid_src_prob": float,
                "lid_src_expected_prob": float, "lid_trg": str, "lid_trg_prob": float, "lid_trg_expected_prob": float,
                "copied_share": float, "loss": float}
#: the score fields each measuring step writes: a row carries a step's whole group once the step ran
SCORE_GROUPS = (("length_src", "length_trg"),
                ("lid_src", "lid_src_prob", "lid_src_expected_prob",
                 "lid_trg", "lid_trg_prob", "lid_trg_expected_prob"),
                ("copied_share",), ("loss",))
#: per-side fields, swapped with the sides when a chat runs in the pair's reverse direction
SIDE_SWAPS = (("length_src", "length_trg"), ("lid_src", "lid_trg"), ("lid_src_prob", "lid_trg_prob"),
              ("lid_src_expected_prob", "lid_trg_expected_prob"))
#: measured in the pair's own direction (src -> trg) only: unknown for the reverse direction
DIRECTED_FIELDS = ("copied_share", "loss")


def make_pair(
    src_text: str,
    tgt_text: str,
    src: str,
    trg: str,
    corpus: str,
    file: str,
    line: int,
    extra: dict[str, Any] | None = None,
) -> Document:
    """Build a pair record. `src`/`trg` must already be canonical registry codes."""
    metadata: dict[str, Any] = {TGT_LINE: tgt_text, SRC: src, TRG: trg, CORPUS: corpus, FILE: file, LINE: line}
    if extra:
        metadata[EXTRA] = extra
    return Document(text=src_text, id=f"{corpus}/{file}:{line}", metadata=metadata)


def sides(doc: Document) -> tuple[str, str]:
    """(source sentence, target sentence)."""
    return doc.text, doc.metadata[TGT_LINE]


def set_sides(doc: Document, src_side: str, tgt_side: str) -> None:
    doc.text = src_side
    doc.metadata[TGT_LINE] = tgt_side


def languages(doc: Document) -> tuple[str, str]:
    """(source code, target code), canonical FLORES-200 codes."""
    return doc.metadata[SRC], doc.metadata[TRG]


def mark_rejected(doc: Document, step: str, reason: str, detail: str | None = None) -> None:
    """Record why a block drops this pair; the rejects writer turns it into a rejects row."""
    doc.metadata[REJECT_STEP] = step
    doc.metadata[REJECT_REASON] = reason
    if detail:
        doc.metadata[REJECT_DETAIL] = detail


def reversed_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a pair seen in its reverse direction: per-side fields swapped, fields measured in the
    forward direction only (`loss`) unknown (null). `file`/`line` stay: they locate the pair, not one side."""
    meta = dict(metadata)
    for a, b in SIDE_SWAPS:
        if a in metadata or b in metadata:
            meta[a], meta[b] = metadata.get(b), metadata.get(a)
    for key in DIRECTED_FIELDS:
        if key in metadata:
            meta[key] = None
    return meta


def measured_fields(doc: Document) -> tuple[str, ...]:
    """The score fields of every step that measured this pair, each step's whole group (in `SCORE_FIELDS` order)."""
    present = {f for group in SCORE_GROUPS if any(k in doc.metadata for k in group) for f in group}
    return tuple(f for f in SCORE_FIELDS if f in present)


def flags_json(doc: Document) -> str:
    """The pair's flags as a JSON array string (`[]` when none): what a `decision: flag` step would drop it for."""
    return orjson.dumps(doc.metadata.get(FLAGS) or []).decode()


def extra_json(doc: Document) -> str:
    """The source's extras as a JSON object string (`{}` when none): one type in every row and format."""
    return orjson.dumps(doc.metadata.get(EXTRA) or {}, option=orjson.OPT_SORT_KEYS).decode()


def unified(doc: Document, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """The paper's unified record `{src, trg, src_line, tgt_line}`, then provenance, the score `fields` (default:
    `measured_fields(doc)`; null where this pair has none), the flags as a JSON array string and the source's
    extras as a JSON object string."""
    meta = doc.metadata
    row: dict[str, Any] = {
        "src": meta[SRC],
        "trg": meta[TRG],
        "src_line": doc.text,
        "tgt_line": meta[TGT_LINE],
        CORPUS: meta.get(CORPUS),
        FILE: meta.get(FILE),
        LINE: meta.get(LINE),
    }
    row.update({k: meta.get(k) for k in (measured_fields(doc) if fields is None else fields)})
    row[FLAGS] = flags_json(doc)
    row[EXTRA] = extra_json(doc)
    return row


def rejected_row(doc: Document, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """A rejects-file row: the unified record plus the step, reason and detail (`""` if none) of the drop."""
    meta = doc.metadata
    row = unified(doc, fields)
    row["step"] = meta.get(REJECT_STEP)
    row["reason"] = meta.get(REJECT_REASON) or meta.get("filter_reason")
    row["detail"] = meta.get(REJECT_DETAIL) or ""
    return row
