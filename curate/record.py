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

A block that drops a pair calls `mark_rejected` so the rejects writer can record the step and the reason.
"""

from __future__ import annotations

from typing import Any

from datatrove.data import Document

SRC, TRG, TGT_LINE = "src", "trg", "tgt_line"
CORPUS, FILE, LINE, EXTRA = "corpus", "file", "line", "extra"
REJECT_STEP, REJECT_REASON, REJECT_DETAIL = "reject_step", "reject_reason", "reject_detail"

#: the fields of the paper's unified record, in order, followed by provenance
UNIFIED_FIELDS = ("src", "trg", "src_line", "tgt_line")
PROVENANCE_FIELDS = (CORPUS, FILE, LINE)
#: what the filters measured, kept in the output (when the step ran) for reports and later re-filtering
SCORE_FIELDS = {"length_src": int, "length_trg": int, "lid_src": str, "lid_src_prob": float,
                "lid_src_expected_prob": float, "lid_trg": str, "lid_trg_prob": float, "lid_trg_expected_prob": float,
                "loss": float}


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


def unified(doc: Document) -> dict[str, Any]:
    """The paper's unified record `{src, trg, src_line, tgt_line}`, then provenance, the scores the filters
    measured, and the source's extras."""
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
    row.update({k: meta[k] for k in SCORE_FIELDS if k in meta})
    if meta.get(EXTRA):
        row[EXTRA] = meta[EXTRA]
    return row


def rejected_row(doc: Document) -> dict[str, Any]:
    """A rejects-file row: the unified record plus the step, reason and detail of the drop."""
    meta = doc.metadata
    row = unified(doc)
    row["step"] = meta.get(REJECT_STEP)
    row["reason"] = meta.get(REJECT_REASON) or meta.get("filter_reason")
    if meta.get(REJECT_DETAIL):
        row["detail"] = meta[REJECT_DETAIL]
    return row
