"""Per-batch accounting (`BatchFilter`, `RowJsonlWriter`): the same documents, files and stats totals as
datatrove's per-document `BaseFilter.run` and `JsonlWriter`."""

from __future__ import annotations

from pathlib import Path

from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers import JsonlWriter

from xplus.curate.batch_filter import BatchFilter
from xplus.curate.record import make_pair
from xplus.curate.writers import BitextJsonlWriter, RejectsWriter, RowJsonlWriter, _unified_adapter


def decision(doc):
    """Keep, drop with a reason, or drop without one, by line number; some documents carry a token count."""
    line = doc.metadata["line"]
    return True if line % 3 == 0 else (False, f"reason_{line % 2}") if line % 3 == 1 else False


class Decides:
    """The same decisions for datatrove's `BaseFilter` and for `BatchFilter`."""

    def filter(self, doc):
        return decision(doc)

    def filter_batch(self, batch):
        return [decision(doc) for doc in batch]


class PerDocument(Decides, BaseFilter):
    name = "per document"


class PerBatch(Decides, BatchFilter):
    name = "per batch"


def docs(n: int = 50) -> list:
    out = [make_pair("x" * i, "y", "eng_Latn", "deu_Latn", "c", "f", i) for i in range(n)]
    for doc in out[::4]:
        doc.metadata["token_count"] = doc.metadata["line"]
    return out


def totals(step) -> dict:
    return {key: stat.total for key, stat in step.stats.stats.items()}


def rows(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*.jsonl")}


def test_batch_filter_equals_base_filter(tmp_path):
    results = {}
    for name, block_type in (("doc", PerDocument), ("batch", PerBatch)):
        block = block_type(exclusion_writer=RejectsWriter(tmp_path / name), batch_size=7)
        kept = [doc.id for doc in block.run(iter(docs()), rank=3)]
        results[name] = (kept, rows(tmp_path / name), totals(block))
    assert results["doc"] == results["batch"]
    kept, rejects, stats = results["batch"]
    assert stats["total"] == 50 and stats["forwarded"] == len(kept) == 17 and stats["dropped_reason_1"] > 0
    assert b'"reason":"reason_0"' in rejects["00003.jsonl"]


def test_row_writer_equals_jsonl_writer(tmp_path):
    written = {}
    for name, writer_type in (("datatrove", JsonlWriter), ("rows", RowJsonlWriter)):
        writer = writer_type(str(tmp_path / name), output_filename="${rank}.jsonl", compression=None,
                             adapter=_unified_adapter)
        for rank in (0, 1):
            assert [doc.id for doc in writer.run(iter(docs()), rank=rank)] == [doc.id for doc in docs()]
        written[name] = (rows(tmp_path / name), totals(writer))
    assert written["datatrove"] == written["rows"]
    assert written["rows"][1]["XXXXX.jsonl"] == written["rows"][1]["total"] == 100


def test_row_writer_takes_datatrove_path_for_per_document_names(tmp_path):
    writer = BitextJsonlWriter(tmp_path, output_filename="${corpus}/${rank}.jsonl")
    with writer:
        for doc in docs(3):
            writer.write(doc, rank=2)
    assert list(rows(tmp_path)) == ["00002.jsonl"] and (tmp_path / "c" / "00002.jsonl").is_file()
    assert totals(writer)["c/XXXXX.jsonl"] == 3
