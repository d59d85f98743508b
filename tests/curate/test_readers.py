"""Step 1, the unifier: every reader on real data, and on a bad-input corpus built here."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xplus.curate.accounting import Funnel
from xplus.curate.languages import UnknownLanguageError
from xplus.curate.readers import moses
from xplus.curate.readers.base import BitextFormatError, decode_line
from xplus.curate.readers.hf import HFBitextReader
from xplus.curate.readers.moses import MosesReader
from xplus.curate.readers.tmx import TmxReader
from xplus.curate.readers.tsv import PARACRAWL_V3_COLUMNS, TsvReader
from xplus.curate.record import sides
from xplus.curate.writers import BitextJsonlWriter, rejects_writer

from ..conftest import run_pipeline


def read_all(reader) -> tuple[list, list[dict]]:
    """Pairs a reader forwards, and the rows its rejects writer wrote (reader built with `tmp` rejects)."""
    docs = list(reader.run())
    rows = []
    if reader.exclusion_writer is not None:
        for path in Path(reader.exclusion_writer.output_folder.path).rglob("*.jsonl"):
            rows += [json.loads(line) for line in path.read_text().splitlines()]
    return docs, rows


def lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8").split("\n")


# -- Moses ------------------------------------------------------------------------------------------------
def test_moses_globalvoices_keeps_every_line_and_empty_pairs(bitext):
    folder = bitext / "opus-globalvoices" / "en-sw"
    docs, _ = read_all(MosesReader(folder, "en", "sw"))
    en, sw = lines(folder / "GlobalVoices.en"), lines(folder / "GlobalVoices.sw")
    assert len(docs) == 5000
    assert [d.metadata["line"] for d in docs] == list(range(1, 5001))
    assert sides(docs[41]) == (en[41], sw[41])
    assert sum(1 for d in docs if not d.text and not d.metadata["tgt_line"]) == 215
    assert docs[0].metadata["src"] == "eng_Latn" and docs[0].metadata["trg"] == "swh_Latn"
    assert docs[0].metadata["file"] == "GlobalVoices.en"
    assert docs[0].id == "en-sw/GlobalVoices.en:1"


def test_moses_explicit_pairs_and_suffixes(bitext):
    scraped = bitext / "globalvoices-scraped" / "en-sw"
    docs, _ = read_all(MosesReader(scraped, "EN", "sw", pairs=[("english.en", "swahili.sw")], corpus="gv"))
    assert len(docs) == 3725 and docs[0].metadata["corpus"] == "gv"
    tico = bitext / "tico19" / "eng-zho"
    docs, _ = read_all(MosesReader(tico, "eng", "zho", src_suffix="eng", tgt_suffix="zho"))
    assert len(docs) == 2100 and docs[0].metadata["trg"] == "zho_Hans"
    assert docs[5].metadata["tgt_line"] == lines(tico / "tico19-test.zho")[5]


def test_moses_unequal_files_name_both_files_and_counts(tmp_path):
    (tmp_path / "c.en").write_text("a\nb\nc\n")
    (tmp_path / "c.de").write_text("a\nb\n")
    with pytest.raises(BitextFormatError) as err:
        list(MosesReader(tmp_path, "en", "de").run())
    message = str(err.value)
    assert "c.en" in message and "c.de" in message and "3 lines" in message and "has 2" in message


def test_moses_file_without_partner_is_an_error(tmp_path):
    (tmp_path / "c.en").write_text("a\n")
    (tmp_path / "d.de").write_text("a\n")
    with pytest.raises(BitextFormatError, match="c.de"):
        list(MosesReader(tmp_path, "en", "de").run())


def test_moses_bad_bytes_are_rejects_not_crashes(tmp_path):
    src = b"\xef\xbb\xbfHello\r\nbad \xff byte\nnul\x00 inside\nstray\rcarriage return\n\n" + b"x" * 1_000_000 + b"\n"
    tgt = b"Hallo\r\nschlecht\nnul\ninnen\nstreunend\n\n" + b"y" * 10 + b"\n"
    tgt = tgt.replace(b"nul\ninnen", b"nul innen")  # keep 6 lines on both sides
    (tmp_path / "t.en").write_bytes(src)
    (tmp_path / "t.de").write_bytes(tgt)
    reader = MosesReader(tmp_path, "en", "de", exclusion_writer=rejects_writer(tmp_path / "run", "unify"))
    docs, rejects = read_all(reader)
    assert [d.metadata["line"] for d in docs] == [1, 3, 4, 5, 6]
    assert docs[0].text == "Hello" and docs[0].metadata["tgt_line"] == "Hallo"  # BOM and CRLF gone
    assert docs[1].text == "nul\x00 inside"  # NUL reaches the cleaner, which removes it
    assert docs[2].text == "stray\rcarriage return"  # a lone \r does not split the line
    assert docs[3].text == "" and docs[3].metadata["tgt_line"] == ""  # empty pair kept for the cleaner
    assert len(docs[4].text) == 1_000_000
    assert len(rejects) == 1
    assert rejects[0]["step"] == "unify" and rejects[0]["reason"] == "invalid_utf8"
    assert rejects[0]["detail"].startswith("t.en:2: source") and "byte 4" in rejects[0]["detail"]
    assert reader.stats["dropped_invalid_utf8"].total == 1 and reader.stats["total"].total == 6


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 1 << 20])
def test_moses_chunked_decoding_equals_line_by_line(tmp_path, monkeypatch, chunk):
    """Lines are decoded a chunk at a time; at every chunk size (so every split of a line, a CRLF, a BOM or a
    multi-byte character across chunks) the result is `decode_line` of each `\\n`-terminated line."""
    monkeypatch.setattr(moses, "COUNT_CHUNK", chunk)
    for data in ("\ufeffé\r\n\r\n中文 \u2028 x\x0b\x1c\r\r\n\ufeff\n".encode() + b"bad \xff \xc3\n\xc3\xa9\r" + b"z" * 9
                 + b"\n\xef\xbb",
                 b"\xef\xbb\xbfbad \xff\r\nok\n"):
        (tmp_path / "t.en").write_bytes(data)
        raws = data.split(b"\n")
        if data.endswith(b"\n"):
            raws.pop()
        assert list(MosesReader(tmp_path, "en", "de").decoded_lines("t.en")) == [
            decode_line(raw, first=i == 0) for i, raw in enumerate(raws)]


def test_unknown_language_code_is_a_clear_error(tmp_path):
    with pytest.raises(UnknownLanguageError, match="engl"):
        MosesReader(tmp_path, "engl", "de")


def test_moses_gzip_and_sharding(tmp_path, bitext):
    folder = bitext / "tatoeba-laser-v1"
    for i, name in enumerate(["deu-eng", "fra-eng"]):
        for side, ext in (("src", "eng"), ("tgt", "xxx")):
            source = next((folder / name).glob(f"*.{'eng' if side == 'src' else name[:3]}"))
            with gzip.open(tmp_path / f"part{i}.{ext}.gz", "wb") as f:
                f.write(source.read_bytes())
    # the two shards of a 2-task run cover each file pair exactly once
    shards = [list(MosesReader(tmp_path, "en", "de", src_suffix="eng.gz", tgt_suffix="xxx.gz").run(rank=r,
                                                                                                  world_size=2))
              for r in range(2)]
    assert {d.metadata["file"] for d in shards[0]} == {"part0.eng.gz"}
    assert {d.metadata["file"] for d in shards[1]} == {"part1.eng.gz"}
    assert len(shards[0]) == len(shards[1]) == 1000


# -- TSV ----------------------------------------------------------------------------------------------------
def test_tsv_paracrawl_layout_keeps_labels(bitext, tmp_path):
    folder = bitext / "paracrawl-v3-labelled" / "en-de"
    reader = TsvReader(folder, "en", "de", columns=PARACRAWL_V3_COLUMNS,
                       exclusion_writer=rejects_writer(tmp_path, "unify"))
    docs, rejects = read_all(reader)
    assert len(docs) + len(rejects) == 2000 and not rejects
    raw = lines(folder / "sorted.en-de")[1].split("\t")
    assert sides(docs[1]) == (raw[2], raw[3])
    assert docs[1].metadata["extra"]["label"] == "A" and docs[1].metadata["extra"]["url1"] == raw[0]
    labels = {d.metadata["extra"].get("label") for d in docs}
    assert {"V", "A", "L"} <= labels
    # the scores are numbers, as published (they were strings in extra, so parquet and JSONL typed them as text)
    assert docs[1].metadata["extra"]["bicleaner"] == float(raw[6])
    assert all(isinstance(d.metadata["extra"]["hunalign"], float) for d in docs)


def test_tsv_missing_column_and_header(tmp_path):
    (tmp_path / "a.tsv").write_text("source\ttarget\tscore\nHello\tHallo\t0.9\nonly one column\n")
    docs, rejects = read_all(TsvReader(tmp_path, "en", "de", columns=(), src_column="source",
                                       tgt_column="target", header=True,
                                       exclusion_writer=rejects_writer(tmp_path / "run", "unify")))
    assert [sides(d) for d in docs] == [("Hello", "Hallo")] and docs[0].metadata["extra"] == {"score": "0.9"}
    assert rejects[0]["reason"] == "missing_field" and rejects[0]["line"] == 3
    assert "'target' (column 2) missing" in rejects[0]["detail"] and rejects[0]["detail"].startswith("a.tsv:3")
    with pytest.raises(ValueError, match="not among the TSV columns"):
        TsvReader(tmp_path, "en", "de", columns=("a", "b"))


# -- HF JSONL / parquet -------------------------------------------------------------------------------------
def _tico_rows(bitext, n=50):
    folder = bitext / "tico19" / "eng-swa"
    en, sw = lines(folder / "tico19-test.eng")[:n], lines(folder / "tico19-test.swa")[:n]
    return en, sw


def test_hf_opus100_and_nllb_layouts(bitext, tmp_path):
    en, sw = _tico_rows(bitext)
    opus = [{"translation": {"en": e, "sw": s}} for e, s in zip(en, sw, strict=True)]
    nllb = [{"translation": {"eng_Latn": e, "swh_Latn": s}, "laser_score": 1.2, "source_sentence_lid": 0.9}
            for e, s in zip(en, sw, strict=True)]
    (tmp_path / "opus").mkdir()
    (tmp_path / "opus" / "train.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in opus) + b"\n")
    (tmp_path / "nllb").mkdir()
    pq.write_table(pa.Table.from_pylist(nllb), tmp_path / "nllb" / "train.parquet")
    opus_docs, _ = read_all(HFBitextReader(tmp_path / "opus", "eng_Latn", "swa"))
    nllb_docs, _ = read_all(HFBitextReader(tmp_path / "nllb", "en", "sw"))
    assert [sides(d) for d in opus_docs] == [sides(d) for d in nllb_docs] == list(zip(en, sw, strict=True))
    assert nllb_docs[0].metadata["extra"] == {"laser_score": 1.2, "source_sentence_lid": 0.9}
    assert nllb_docs[3].metadata["line"] == 4
    # the target-to-source direction of the same rows
    reverse, _ = read_all(HFBitextReader(tmp_path / "opus", "sw", "en"))
    assert sides(reverse[0]) == (sw[0], en[0])


def test_hf_bad_lines_are_counted_rejects(tmp_path):
    good = orjson.dumps({"translation": {"en": "Hi", "de": "Hallo"}})
    content = b"\n".join([
        good,
        b'{"translation": {"en": "broken"',
        orjson.dumps({"translation": {"en": "no german"}}),
        orjson.dumps({"other": 1}),
        b"[1, 2]",
        orjson.dumps({"translation": {"en": "Hi", "de": 5}}),
        b"\xff\xfe",
        good,
    ]) + b"\n"
    (tmp_path / "d.jsonl").write_bytes(content)
    reader = HFBitextReader(tmp_path, "en", "de", exclusion_writer=rejects_writer(tmp_path / "run", "unify"))
    docs, rejects = read_all(reader)
    assert [d.metadata["line"] for d in docs] == [1, 8]
    by_line = {r["line"]: r for r in rejects}
    assert by_line[2]["reason"] == "malformed_json" and by_line[2]["detail"].startswith("d.jsonl:2: invalid JSON")
    assert by_line[3]["reason"] == "missing_field" and "translation.'deu_Latn'" in by_line[3]["detail"]
    assert by_line[3]["src_line"] == "no german"
    assert "field 'translation' missing" in by_line[4]["detail"]
    assert "expected a JSON object" in by_line[5]["detail"]
    assert "not a string (int)" in by_line[6]["detail"]
    assert by_line[7]["reason"] == "invalid_utf8"
    assert reader.stats["total"].total == 8 and reader.stats["dropped"].total == 6


def test_hf_flat_fields(tmp_path):
    (tmp_path / "flat.jsonl").write_text('{"source": "Hello", "target": "Hola", "id": 7}\n')
    docs, _ = read_all(HFBitextReader(tmp_path, "en", "es", src_field="source", tgt_field="target"))
    assert sides(docs[0]) == ("Hello", "Hola") and docs[0].metadata["extra"] == {"id": 7}


# -- TMX ----------------------------------------------------------------------------------------------------
def test_tmx_real_translation_memory(bitext):
    folder = bitext / "tmx-smriti" / "en-ne"
    docs, _ = read_all(TmxReader(folder, "en", "ne"))
    assert len(docs) == 2332
    assert sides(docs[0]) == ("Phone Activity", "फोन क्रियाकलाप")
    assert docs[0].metadata["trg"] == "npi_Deva" and docs[0].metadata["line"] == 5


TMX_BAD = """\ufeff<?xml version="1.0" encoding="UTF-8"?>
<tmx version="1.4"><header srclang="EN-US" datatype="plaintext" segtype="sentence"/>
<body>
<tu>
  <tuv xml:lang="EN-US"><seg>Click <bpt i="1">&lt;b&gt;</bpt>Save<ept i="1">&lt;/b&gt;</ept> now</seg></tuv>
  <tuv xml:lang="FR-FR"><seg>Cliquez sur <hi>Enregistrer</hi></seg></tuv>
  <tuv xml:lang="de-DE"><seg>Klicken Sie auf <ph x="1"/>Speichern</seg></tuv>
</tu>
<tu>
  <tuv xml:lang="en-us"><seg>No German here</seg></tuv>
  <tuv xml:lang="de"></tuv>
</tu>
<tu>
  <tuv xml:lang="en"><seg>Only English and French</seg></tuv>
  <tuv xml:lang="fr"><seg>Seulement</seg></tuv>
</tu>
</body></tmx>
"""


def test_tmx_bom_case_several_tuv_and_missing_seg(tmp_path):
    (tmp_path / "m.tmx").write_text(TMX_BAD, encoding="utf-8")
    reader = TmxReader(tmp_path, "en", "de", exclusion_writer=rejects_writer(tmp_path / "run", "unify"))
    docs, rejects = read_all(reader)
    assert [sides(d) for d in docs] == [("Click Save now", "Klicken Sie auf Speichern")]
    reasons = sorted((r["line"], r["reason"]) for r in rejects)
    assert reasons == [(9, "tmx_missing_seg"), (13, "missing_field")]
    assert "m.tmx:9: <tuv xml:lang=deu_Latn> has no <seg>" in {r["detail"] for r in rejects}
    french, _ = read_all(TmxReader(tmp_path, "en", "fr"))
    assert [sides(d)[1] for d in french] == ["Cliquez sur Enregistrer", "Seulement"]


def test_tmx_malformed_xml_names_file_and_line(tmp_path):
    (tmp_path / "b.tmx").write_text('<tmx version="1.4"><body>\n<tu><tuv xml:lang="en"><seg>x</tuv></tu>\n')
    with pytest.raises(BitextFormatError, match=r"b\.tmx:2:\d+: malformed TMX"):
        list(TmxReader(tmp_path, "en", "de").run())


# -- a whole run: writers, rejects and the accounting ------------------------------------------------------
def test_reader_run_writes_unified_records_and_reconciles(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.en").write_bytes(b"one\nt\xffwo\n\nfour\n")
    (tmp_path / "in" / "x.de").write_bytes(b"eins\nzwei\n\nvier\n")
    run = tmp_path / "run"
    run_pipeline([MosesReader(tmp_path / "in", "en", "de", exclusion_writer=rejects_writer(run, "unify")),
                  BitextJsonlWriter(run / "output")], run / "logs")
    rows = [json.loads(x) for x in (run / "output" / "00000.jsonl").read_text().splitlines()]
    assert list(rows[0])[:7] == ["src", "trg", "src_line", "tgt_line", "corpus", "file", "line"]
    assert [r["line"] for r in rows] == [1, 3, 4]
    funnel = Funnel.from_logging_dirs(run / "logs", rejects_dir=run / "rejects").check()
    assert (funnel.input, funnel.output, funnel.rejected, funnel.rejects_on_disk) == (4, 3, 1, 1)


def test_hf_hub_dataset_is_streamed_and_shared_out(monkeypatch):
    """The Hub code path without the network: `load_dataset` is replaced by a local stream."""
    import datasets

    rows = [{"translation": {"en": f"sentence {i}", "sw": f"sentensi {i}"}, "score": i} for i in range(10)]
    calls = []

    def fake_load_dataset(path, name=None, split=None, revision=None, streaming=False):
        calls.append((path, name, split, revision, streaming))
        return datasets.IterableDataset.from_generator(lambda: iter(rows)).shard(num_shards=1, index=0)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    make = lambda: HFBitextReader(None, "en", "sw", hub_dataset="Helsinki-NLP/opus-100", hub_config="en-sw",  # noqa: E731
                                  hub_revision="abc123")
    docs = list(make().run())
    assert calls[0] == ("Helsinki-NLP/opus-100", "en-sw", "train", "abc123", True)
    assert [d.metadata["line"] for d in docs] == list(range(1, 11))
    assert docs[0].metadata["corpus"] == "Helsinki-NLP/opus-100" and docs[3].metadata["extra"] == {"score": 3}
    shards = [list(make().run(rank=r, world_size=2)) for r in range(2)]
    assert sorted(d.text for shard in shards for d in shard) == sorted(d.text for d in docs)
    assert all(shards) and len({d.id for shard in shards for d in shard}) == 10
    assert shards[1][0].metadata["file"] == "Helsinki-NLP/opus-100:train#1/2"
