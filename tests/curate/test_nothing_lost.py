"""Steps 1-2 over every real corpus in ../shared/data and over a bad-input corpus: every pair ends in the
output or in the rejects with a step and a reason, and the run's counts reconcile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xplus.curate.accounting import AccountingError, Funnel
from xplus.curate.clean import Cleaner
from xplus.curate.languages import RECIPE_LANGUAGES
from xplus.curate.readers.hf import HFBitextReader
from xplus.curate.readers.moses import MosesReader
from xplus.curate.readers.tmx import TmxReader
from xplus.curate.readers.tsv import PARACRAWL_V3_COLUMNS, TsvReader
from xplus.curate.writers import BitextJsonlWriter, rejects_writer

from ..conftest import run_pipeline


def curate(readers, run: Path, **cleaner_args) -> tuple[Funnel, list[dict], list[dict]]:
    """Readers -> Cleaner -> writer in a real executor; returns the checked funnel, output and rejects rows."""
    run_pipeline([*readers, Cleaner(exclusion_writer=rejects_writer(run, "clean"), **cleaner_args),
                  BitextJsonlWriter(run / "output")], run / "logs")
    funnel = Funnel.from_logging_dirs(run / "logs", rejects_dir=run / "rejects").check()
    rows = lambda folder: [json.loads(x) for p in sorted(folder.rglob("*.jsonl")) for x in p.read_text().splitlines()]  # noqa: E731
    return funnel, rows(run / "output"), rows(run / "rejects")


def test_flores_dev_all_recipe_directions(shared_data, tmp_path):
    """FLORES is clean text: all 16 en->x directions pass steps 1-2 whole."""
    dev = shared_data / "flores200" / "dev"
    run = tmp_path / "run"
    readers = [MosesReader(dev, "eng_Latn", code, pairs=[("eng_Latn.txt", f"{code}.txt")], corpus=f"flores-{code}",
                           exclusion_writer=rejects_writer(run, "unify", code))
               for code in RECIPE_LANGUAGES if code != "eng_Latn"]
    funnel, output, rejects = curate(readers, run)
    assert funnel.input == 16 * 997 and funnel.output == 16 * 997 and not rejects
    assert {r["trg"] for r in output} == set(RECIPE_LANGUAGES) - {"eng_Latn"}


def test_every_real_corpus_reconciles(bitext, tmp_path):
    run = tmp_path / "run"
    parts = iter(range(100))
    unify = lambda: rejects_writer(run, "unify", f"source{next(parts)}")  # noqa: E731 (one writer per reader)
    tatoeba = bitext / "tatoeba-laser-v1"
    readers = [
        MosesReader(bitext / "opus-globalvoices" / "en-sw", "en", "sw", exclusion_writer=unify()),
        MosesReader(bitext / "globalvoices-scraped" / "en-sw", "en", "sw", pairs=[("english.en", "swahili.sw")],
                    corpus="gv-scraped", exclusion_writer=unify()),
        MosesReader(bitext / "opus-elrc-2922" / "en-ru", "en", "ru", exclusion_writer=unify()),
        MosesReader(bitext / "opus-elrc-wikipedia-health" / "en-zh", "en", "zh", exclusion_writer=unify()),
        MosesReader(bitext / "opus-elra-w0308" / "en-fr", "en", "fr", exclusion_writer=unify()),
        MosesReader(bitext / "tico19" / "eng-swa", "eng", "swa", exclusion_writer=unify()),
        MosesReader(bitext / "tico19" / "eng-zho", "eng", "zho", exclusion_writer=unify()),
        *[MosesReader(folder, folder.name[:3], "eng", corpus=f"tatoeba-{folder.name}", exclusion_writer=unify())
          for folder in sorted(p for p in tatoeba.iterdir() if p.is_dir())],
        *[TsvReader(folder, "en", folder.name[3:], columns=PARACRAWL_V3_COLUMNS, corpus=f"paracrawl-{folder.name}",
                    exclusion_writer=unify())
          for folder in sorted((bitext / "paracrawl-v3-labelled").glob("en-*"))],
        TmxReader(bitext / "tmx-smriti" / "en-ne", "en", "ne", exclusion_writer=unify()),
    ]
    funnel, output, rejects = curate(readers, run)
    expected = 5000 + 3725 + 4072 + 145 + 98 + 2100 * 2 + 5 * 2000 + 2332
    assert funnel.input == expected + sum(block.total for block in funnel.blocks if "tatoeba" in block.name)
    assert funnel.input == funnel.output + len(rejects)
    # GlobalVoices' 215 + 87 empty pairs are rejected by the cleaner, not lost by the readers
    gv_empty = [r for r in rejects if r["corpus"] in ("en-sw", "gv-scraped") and r["reason"].startswith("empty")]
    assert len(gv_empty) >= 215 + 87
    assert {r["step"] for r in rejects} <= {"unify", "clean"}
    assert all(r["reason"] and r["detail"] for r in rejects if r["step"] == "unify")
    assert all(r["src_line"].strip() and r["tgt_line"].strip() for r in output)


def test_bad_input_corpus_nothing_crashes_nothing_vanishes(tmp_path):
    """The bad inputs of the foundation issue: each is a clear error or a counted reject with file and line."""
    moses, jsonl, tmx = tmp_path / "moses", tmp_path / "jsonl", tmp_path / "tmx"
    for folder in (moses, jsonl, tmx):
        folder.mkdir()
    (moses / "b.EN").write_bytes(b"\xef\xbb\xbfBOM first\r\nbad \xc3\x28 utf8\nnul\x00 byte\n\n" + b"a" * 1_000_000
                                 + b"\nhtml only\n")
    (moses / "b.DE").write_bytes(b"BOM zuerst\r\nkaputt\nnull\n\nlang\n<br/>\n")
    (jsonl / "b.jsonl").write_bytes(b'{"translation": {"EN-US": "fine", "de_DE": "gut"}}\n{"translation": \n'
                                    b'{"translation": {"en": "no target"}}\n{"translation": {"en": "", "de": ""}}\n')
    (tmx / "b.tmx").write_text('<tmx version="1.4"><body><tu><tuv xml:lang="EN"><seg>x</seg></tuv>'
                               '<tuv xml:lang="DE"/></tu></body></tmx>')
    run = tmp_path / "run"
    readers = [MosesReader(moses, "en", "de", src_suffix="EN", tgt_suffix="DE",
                           exclusion_writer=rejects_writer(run, "unify", "moses")),
               HFBitextReader(jsonl, "en", "de", exclusion_writer=rejects_writer(run, "unify", "jsonl")),
               TmxReader(tmx, "en", "de", exclusion_writer=rejects_writer(run, "unify", "tmx"))]
    funnel, output, rejects = curate(readers, run)
    assert (funnel.input, funnel.output, len(rejects)) == (6 + 4 + 1, 3, 8)
    assert [(r["src_line"], r["tgt_line"]) for r in output] == [("BOM first", "BOM zuerst"), ("nul byte", "null"),
                                                                ("fine", "gut")]
    reasons = sorted((r["step"], r["reason"], r["file"], r["line"]) for r in rejects)
    assert reasons == [
        ("clean", "empty_source", "b.EN", 4),
        ("clean", "empty_source", "b.jsonl", 4),
        ("clean", "empty_target", "b.EN", 6),
        ("clean", "too_long_source", "b.EN", 5),
        ("unify", "invalid_utf8", "b.EN", 2),
        ("unify", "malformed_json", "b.jsonl", 2),
        ("unify", "missing_field", "b.jsonl", 3),
        ("unify", "tmx_missing_seg", "b.tmx", 1),
    ]


def test_a_rejects_writer_serves_one_block(tmp_path):
    (tmp_path / "x.en").write_bytes(b"\xff\n")
    (tmp_path / "x.de").write_bytes(b"a\n")
    shared = rejects_writer(tmp_path / "run", "unify")
    readers = [MosesReader(tmp_path, "en", "de", exclusion_writer=shared) for _ in range(2)]
    with pytest.raises(RuntimeError, match="already served a block"):
        list(readers[1].run(readers[0].run()))


def test_accounting_catches_a_block_that_loses_pairs(tmp_path):
    from datatrove.pipeline.filters import LambdaFilter

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.en").write_text("a\nb\nc\n")
    (tmp_path / "in" / "x.de").write_text("a\nb\nc\n")
    run = tmp_path / "run"
    run_pipeline([MosesReader(tmp_path / "in", "en", "de"), LambdaFilter(lambda doc: doc.text != "b"),
                  BitextJsonlWriter(run / "output")], run / "logs")
    # the filter counted its drop but wrote no reject: the rows on disk give it away
    with pytest.raises(AccountingError, match="rejects files hold 0 rows, stats count 1"):
        Funnel.from_logging_dirs(run / "logs", rejects_dir=run / "rejects").check()


def test_accounting_counts_the_rows_on_disk_in_every_output(bitext, tmp_path, capsys):
    """Deleting 5 of 28 output rows after the run used to leave `xplus curate accounting` saying OK."""
    from xplus.pipelines.cli import main

    source = bitext / "opus-globalvoices" / "en-sw"
    pairs = [(en, sw) for en, sw in zip((source / "GlobalVoices.en").read_text().splitlines(),
                                        (source / "GlobalVoices.sw").read_text().splitlines(), strict=True)
             if en.strip() and sw.strip()][:28]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.en").write_text("".join(f"{en}\n" for en, _ in pairs))
    (tmp_path / "data" / "x.sw").write_text("".join(f"{sw}\n" for _, sw in pairs))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"sources:\n  - {{reader: moses, path: {tmp_path / 'data'}, src_lang: en, tgt_lang: sw}}\n"
                      f"steps:\n  clean: {{}}\n  template: {{}}\noutput:\n  formats: [jsonl, parquet]\n")
    run = tmp_path / "run"
    assert main(["curate", "run", str(recipe), "-o", str(run)]) == 0
    assert "accounting OK: input 28 = output 28 + rejects 0 (pairs; 56 chat records written)" in capsys.readouterr().out

    def accounting() -> tuple[int, str]:
        code = main(["curate", "accounting", str(run)])
        return code, capsys.readouterr().out

    assert accounting()[0] == 0
    rows = run / "output" / "jsonl" / "00000.jsonl"
    whole = rows.read_text()
    rows.write_text("".join(whole.splitlines(keepends=True)[5:]))  # 5 of 28 rows deleted
    code, printed = accounting()
    assert code == 1 and "accounting FAILED" in printed
    assert "output/jsonl holds 23 rows on disk, stats count 28 pairs" in printed
    rows.write_text(whole)
    chats = run / "output" / "chat-messages" / "00000.jsonl"
    chats.write_text("".join(chats.read_text().splitlines(keepends=True)[:-1]))
    code, printed = accounting()
    assert code == 1 and "output/chat-messages holds 55 rows on disk, stats count 56 chat records" in printed
    import shutil

    import pyarrow.parquet as pq

    shutil.rmtree(run / "output" / "chat-messages")
    (table,) = (run / "output" / "parquet").glob("*.parquet")
    pq.write_table(pq.read_table(table).slice(0, 20), table)
    code, printed = accounting()
    assert code == 1 and "output/parquet holds 20 rows on disk, stats count 28 pairs" in printed
    assert "output/ holds 0 folder(s) of chat records, the run's stats 1 writer(s)" in printed
