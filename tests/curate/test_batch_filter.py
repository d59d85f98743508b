"""Per-batch accounting (`BatchFilter`, `RowJsonlWriter`): the same documents, files and stats totals as
datatrove's per-document `BaseFilter.run` and `JsonlWriter`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers import JsonlWriter

from xplus.curate.accounting import Funnel
from xplus.curate.batch_filter import FLAGS, REJECT_SCORE, BatchFilter, parse_decision
from xplus.curate.readers.moses import MosesReader
from xplus.curate.record import REJECT_REASON, make_pair, mark_rejected
from xplus.curate.writers import BitextJsonlWriter, RejectsWriter, RowJsonlWriter, _unified_adapter, rejects_writer

from ..conftest import block_stats, run_pipeline


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


class PerPair(BatchFilter):
    """Implements only `filter`: BatchFilter batches it."""

    name = "per pair"

    def filter(self, doc):
        return decision(doc)


class Batched(BatchFilter):
    """Implements only `filter_batch`: BatchFilter owns `filter`; it leaves a score for flags."""

    name = "batched"

    def filter_batch(self, batch):
        results = [decision(doc) for doc in batch]
        for doc, result in zip(batch, results, strict=True):
            if result is not True:
                mark_rejected(doc, "batched-step", "r", "some detail")
                doc.metadata[REJECT_SCORE] = 0.25
        return results


def test_filter_is_a_batch_of_one_and_filter_alone_is_batched():
    block = Batched(batch_size=10)
    assert [block.filter(doc) for doc in docs(9)] == [decision(doc) for doc in docs(9)]
    assert type(PerPair()).filter_batch is not BaseFilter.filter_batch  # datatrove does not warn
    assert PerPair().filter_batch(docs(9)) == [decision(doc) for doc in docs(9)]
    with pytest.raises(TypeError, match="implements filter_batch"):
        type("Neither", (BatchFilter,), {"name": "neither"})


@pytest.mark.parametrize("block_type", [PerPair, Batched])
def test_flag_keeps_the_pairs_a_step_drops_for_a_reason(tmp_path, block_type):
    """Flagged: kept, the step, reason, detail and score in `metadata["flags"]`, counted; a pair dropped without a
    reason has nothing to flag and is dropped as before."""
    block = block_type(exclusion_writer=RejectsWriter(tmp_path / "rejects"), batch_size=7, decision="flag")
    out = list(block.run(iter(docs()), rank=0))
    bare = [doc.id for doc in docs() if decision(doc) is False]
    with_reason = [doc.id for doc in docs() if isinstance(decision(doc), tuple)]
    assert [doc.id for doc in out] == [doc.id for doc in docs() if doc.id not in bare]
    stats = totals(block)
    assert stats["forwarded"] == 50 - len(bare) and stats["dropped"] == len(bare)
    assert stats["flagged"] == len(with_reason) == sum(stats[f"flagged_reason_{i}"] for i in (0, 1))
    assert len(rows(tmp_path / "rejects")["00000.jsonl"].splitlines()) == len(bare)
    flagged = next(doc for doc in out if doc.id == with_reason[0])
    if block_type is Batched:
        assert flagged.metadata[FLAGS] == [{"step": "batched-step", "reason": "reason_1", "detail": "some detail",
                                           "score": 0.25}]
        assert REJECT_REASON not in flagged.metadata and REJECT_SCORE not in flagged.metadata
    else:
        assert flagged.metadata[FLAGS] == [{"step": "per pair", "reason": "reason_1"}]
    assert all(FLAGS not in doc.metadata for doc in out if doc.id not in with_reason)


class Reasoned(Batched):
    """Every drop with a reason (as every xplus block gives one)."""

    def filter_batch(self, batch):
        return [(False, "reason_2") if result is False else result for result in super().filter_batch(batch)]


def test_decision_per_reason_and_accounting_balances(tmp_path):
    run = tmp_path / "run"
    block = Reasoned(exclusion_writer=rejects_writer(run, "batched"), batch_size=7, decision={"reason_1": "flag"})
    run_pipeline([MosesReader(write_moses(tmp_path / "in", 50), "en", "de"), block, BitextJsonlWriter(run / "out")],
                 run / "logs")
    funnel = Funnel.from_logging_dirs(run / "logs", rejects_dir=run / "rejects").check()
    stats = block_stats(run / "logs", "batched")
    assert stats["flagged"] == stats["flagged_reason_1"] > 0 and stats["dropped_reason_0"] > 0
    assert "flagged_reason_0" not in stats and "dropped_reason_1" not in stats
    assert funnel.output == stats["forwarded"] == funnel.input - funnel.rejected
    row = next(line for line in funnel.table().splitlines() if line.startswith("| batched"))
    assert row.endswith(f"reason_0 {stats['dropped_reason_0']}; flagged (kept): reason_1 {stats['flagged_reason_1']} |")
    # the flags reach the output files, the same JSON array string in JSONL and parquet ("[]" when none)
    written = [json.loads(line) for line in rows(run / "out")["00000.jsonl"].splitlines()]
    by_line = {row["line"]: json.loads(row[FLAGS]) for row in written}
    assert by_line[1] == [{"step": "batched-step", "reason": "reason_1", "detail": "some detail", "score": 0.25}]
    assert by_line[3] == [] and len(by_line) == funnel.output


def test_decision_is_checked():
    assert parse_decision("flag") == {None: "flag"}
    assert parse_decision({"default": "flag", "x": "drop"}) == {None: "flag", "x": "drop"}
    assert parse_decision({"x": "flag"}) == {None: "drop", "x": "flag"}
    with pytest.raises(ValueError, match="drop or flag"):
        parse_decision("keep")
    block = Batched(decision={"repeated": "flag"})
    assert block.flags("repeated_source") and block.flags("repeated") and not block.flags("identical")


def write_moses(folder: Path, n: int) -> Path:
    """n Moses pairs whose 1-based line numbers drive `decision`."""
    folder.mkdir(parents=True)
    (folder / "x.en").write_text("".join(f"source {i}\n" for i in range(1, n + 1)))
    (folder / "x.de").write_text("".join(f"Ziel {i}\n" for i in range(1, n + 1)))
    return folder
