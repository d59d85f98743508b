"""The decision of steps 2-4 (`xplus.curate.rules.rule_steps`, the quality bench's "2-4 together") on every pair of
the shared data the rules run on: the 10,000 labelled ParaCrawl v3 pairs of the quality bench, FLORES-200 dev
(English to each of the 16 other recipe languages) and TICO-19 (en-sw, en-zh). Each corpus goes through its own
fresh blocks, as the quality bench runs ParaCrawl.

A pair's row: its id (`corpus/file:line`), `kept` or the `step/reason` that dropped it with the block's detail,
the flags a kept pair carries (`step/reason`), and, for a kept pair whose text a block rewrote, a digest of
the text it comes out with (source TAB target). `test_rule_decisions.py` compares a fresh run with the recorded
`rule_decisions.jsonl.gz`.

Re-record only when a change is meant to move decisions, in the commit that makes it, and then re-run the tables
those decisions feed (`python bench/selection_protocol.py`, `python bench/quality_paracrawl.py`):
    python -m tests.curate.rule_decisions
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from xplus.curate.flores import ENGLISH, Flores
from xplus.curate.readers.moses import MosesReader
from xplus.curate.readers.tsv import PARACRAWL_V3_COLUMNS, TsvReader
from xplus.curate.record import FLAGS, REJECT_DETAIL, REJECT_REASON, REJECT_STEP, TGT_LINE, make_pair
from xplus.curate.rules import rule_steps
from xplus.pipelines.shared_data import shared_data_dir

RECORDED = Path(__file__).with_name("rule_decisions.jsonl.gz")
PARACRAWL_LANGUAGES = ("cs", "de", "es", "fr", "hu")
TICO19 = {"eng-swa": ("en", "sw", "swa"), "eng-zho": ("en", "zh", "zho")}


def paracrawl(shared: Path) -> list:
    folder = shared / "bitext" / "paracrawl-v3-labelled"
    return [doc for xx in PARACRAWL_LANGUAGES
            for doc in TsvReader(folder / f"en-{xx}", "en", xx, columns=PARACRAWL_V3_COLUMNS,
                                 corpus=f"paracrawl-en-{xx}").run()]


def flores_dev(shared: Path) -> list:
    flores = Flores(str(shared / "flores200"), "dev")
    english = flores.lines(ENGLISH)
    return [make_pair(source, target, ENGLISH, code, "flores200-dev", path.name, line)
            for code, path in flores.files().items() if code != ENGLISH
            for line, (source, target) in enumerate(zip(english, flores.lines(code), strict=True), 1)]


def tico19(shared: Path) -> list:
    return [doc for folder, (src, tgt, suffix) in TICO19.items()
            for doc in MosesReader(shared / "bitext" / "tico19" / folder, src, tgt, src_suffix="eng", tgt_suffix=suffix,
                                   corpus=f"tico19-{folder}").run()]


CORPORA = {"paracrawl-v3-labelled": paracrawl, "flores200-dev": flores_dev, "tico19": tico19}


def text_digest(text: str) -> str:
    """A short digest of a pair's output text (the file stays small; a failure shows the text itself)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def decide(docs: list) -> Iterator[tuple[dict, str | None]]:
    """Each pair's row, in input order, after all of steps 2-4 ran on `docs` (which the blocks rewrite), with
    the text a kept pair comes out with (source TAB target; None for a dropped pair)."""
    before = [f"{doc.text}\t{doc.metadata[TGT_LINE]}" for doc in docs]
    stream = iter(docs)
    for block in rule_steps():
        stream = block.run(stream)
    kept = {id(doc) for doc in stream}
    for doc, text in zip(docs, before, strict=True):
        meta = doc.metadata
        if id(doc) not in kept:
            if not meta.get(REJECT_STEP):
                raise AssertionError(f"{doc.id}: dropped without a step and reason")
            yield {"id": doc.id, "decision": f"{meta[REJECT_STEP]}/{meta[REJECT_REASON]}",
                   "detail": meta.get(REJECT_DETAIL, "")}, None
            continue
        row, out = {"id": doc.id, "decision": "kept"}, f"{doc.text}\t{meta[TGT_LINE]}"
        if meta.get(FLAGS):
            row["flags"] = [f"{flag['step']}/{flag['reason']}" for flag in meta[FLAGS]]
        if out != text:
            row["text"] = text_digest(out)
        yield row, out


def decisions(shared: Path | None = None) -> tuple[dict[str, dict], dict[str, str]]:
    """Pair id -> row over every corpus of `CORPORA` (ids are unique across them), and pair id -> output text of
    each kept pair."""
    shared = shared or shared_data_dir()
    rows, texts = {}, {}
    for read in CORPORA.values():
        for row, out in decide(read(shared)):
            if row["id"] in rows:
                raise AssertionError(f"pair id {row['id']} is not unique")
            rows[row["id"]] = row
            if out is not None:
                texts[row["id"]] = out
    return rows, texts


def load(path: Path = RECORDED) -> dict[str, dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return {row["id"]: row for row in map(json.loads, f)}


def record(path: Path = RECORDED) -> int:
    """Write today's decisions (mtime 0 in the gzip header: the same decisions give the same bytes)."""
    rows, _ = decisions()
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows.values()).encode())
    return len(rows)


if __name__ == "__main__":
    print(f"{record()} pairs' decisions written to {RECORDED}")
