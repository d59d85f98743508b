"""Bad input, each test on the exact input: a one-line error naming the file (exit 1), or a counted reject;
every advertised compression; folders read by suffix; one-file sources; sharing sources out over tasks."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest

from xplus.curate.errors import InputError
from xplus.curate.readers.base import BitextFormatError
from xplus.curate.readers.hf import HFBitextReader
from xplus.curate.readers.moses import MosesReader
from xplus.curate.readers.tsv import PARACRAWL_V3_COLUMNS, TsvReader
from xplus.curate.record import sides
from xplus.curate.writers import rejects_writer

from .test_readers import lines, read_all


# -- bad input: each on the exact input, each a one-line error naming the file or a counted reject ----------
def _zst(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


def test_jsonl_zst_and_tsv_zst_are_read(tmp_path):
    rows = [{"translation": {"en": f"Hello {i}", "de": f"Hallo {i}"}} for i in range(3)]
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "d.jsonl.zst").write_bytes(_zst(b"\n".join(orjson.dumps(r) for r in rows) + b"\n"))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "d.tsv.zst").write_bytes(_zst(b"Hello\tHallo\nBye\tTschuss\n"))
    assert [sides(d) for d in HFBitextReader(tmp_path / "j", "en", "de").run()] == [
        (f"Hello {i}", f"Hallo {i}") for i in range(3)]
    assert [sides(d) for d in TsvReader(tmp_path / "t", "en", "de").run()] == [("Hello", "Hallo"), ("Bye", "Tschuss")]


@pytest.mark.parametrize("suffix", [".gz", ".zst", ".bz2", ".xz"])
def test_truncated_compression_is_one_line_naming_the_file(tmp_path, bitext, suffix):
    import bz2
    import lzma

    compress = {".gz": gzip.compress, ".zst": _zst, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix]
    data = compress((bitext / "paracrawl-v3-labelled" / "en-de" / "sorted.en-de").read_bytes())
    (tmp_path / f"d.tsv{suffix}").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        list(TsvReader(tmp_path, "en", "de", columns=PARACRAWL_V3_COLUMNS).run())
    message = str(err.value)
    assert message.startswith(f"{tmp_path / f'd.tsv{suffix}'}: truncated or corrupt compressed data (EOFError")
    assert "\n" not in message and err.value.exit_code == 1


def test_non_parquet_file_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "train.parquet").write_text('{"translation": {"en": "a", "de": "b"}}\n')
    with pytest.raises(InputError, match=r"train\.parquet: not a readable parquet file \(") as err:
        list(HFBitextReader(tmp_path, "en", "de").run())
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind", ["tsv", "jsonl"])
def test_folder_is_read_by_suffix_and_skipped_files_are_listed(tmp_path, kind, caplog):
    (tmp_path / "README.md").write_text("# A corpus\n\nTwo\tcolumns of text\n")
    (tmp_path / "LICENSE").write_text("CC-BY 4.0\n")
    if kind == "tsv":
        (tmp_path / "train.tsv").write_text("Hello\tHallo\n")
        reader = TsvReader(tmp_path, "en", "de")
    else:
        (tmp_path / "train.jsonl").write_text('{"translation": {"en": "Hello", "de": "Hallo"}}\n')
        reader = HFBitextReader(tmp_path, "en", "de")
    docs = list(reader.run())
    assert [sides(d) for d in docs] == [("Hello", "Hallo")]
    assert reader.stats["skipped_files"].total == 2


def test_tsv_extra_columns_are_counted_rejects_unless_declared(tmp_path):
    (tmp_path / "a.tsv").write_text("Hello\tHallo\nA tab\tinside\tEin Tab\n")
    reader = TsvReader(tmp_path, "en", "de", exclusion_writer=rejects_writer(tmp_path / "run", "unify"))
    docs, rejects = read_all(reader)
    assert [sides(d) for d in docs] == [("Hello", "Hallo")]
    assert rejects[0]["reason"] == "extra_columns" and rejects[0]["line"] == 2
    assert "3 tab-separated fields, 2 column(s) declared" in rejects[0]["detail"]
    kept = list(TsvReader(tmp_path, "en", "de", extra_columns=True).run())
    assert kept[1].metadata["extra"] == {"col2": "Ein Tab"}
    declared = list(TsvReader(tmp_path, "en", "de", columns=("src", "trg", "note")).run())
    assert len(declared) == 2


def test_pretty_printed_json_array_is_a_file_error(tmp_path):
    rows = [{"translation": {"en": f"Hello {i}", "de": f"Hallo {i}"}} for i in range(30)]
    (tmp_path / "d.json").write_text(json.dumps(rows, indent=2))
    with pytest.raises(InputError) as err:
        list(HFBitextReader(tmp_path, "en", "de").run())
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'd.json'}: no record parses (")
    assert "malformed_json" in message and "JSON Lines" in message and err.value.exit_code == 1


def test_a_source_that_is_one_file_names_it(tmp_path, bitext):
    (tmp_path / "only.tsv").write_text("Hello\tHallo\n")
    docs = list(TsvReader(tmp_path / "only.tsv", "en", "de").run())
    assert docs[0].metadata["file"] == "only.tsv" and docs[0].id == "only.tsv/only.tsv:1"
    moses_file = bitext / "opus-globalvoices" / "en-sw" / "GlobalVoices.en"
    docs = list(MosesReader(moses_file, "en", "sw", corpus="gv").run())
    assert len(docs) == 5000 and docs[0].metadata["file"] == "GlobalVoices.en"


def test_compressed_moses_pairs_and_the_no_input_hint(tmp_path, bitext):
    folder = bitext / "tico19" / "eng-swa"
    for ext, name in (("en", "tico19-test.eng"), ("sw", "tico19-test.swa")):
        (tmp_path / f"x.{ext}.gz").write_bytes(gzip.compress((folder / name).read_bytes()))
    assert len(list(MosesReader(tmp_path, "en", "sw").run())) == 2100  # x.en.gz + x.sw.gz, default suffixes
    with pytest.raises(BitextFormatError) as err:
        list(MosesReader(folder, "en", "sw").run())
    assert "no file ends in .en, .sw, .en.gz" in str(err.value)
    assert "(found: tico19-test.eng, tico19-test.swa)" in str(err.value)


def test_a_script_hub_dataset_is_a_config_error_pointing_to_the_files(monkeypatch):
    """`datasets` >= 4 refuses loading scripts (allenai/nllb is one): the message it raises, as it raises it."""
    import datasets

    from xplus.curate.errors import ConfigError

    def refuse(*args, **kwargs):
        raise RuntimeError("Dataset scripts are no longer supported, but found nllb.py")

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(ConfigError, match=r"'allenai/nllb' is a loading-script dataset.*layout: nllb") as err:
        list(HFBitextReader(None, "en", "sw", hub_dataset="allenai/nllb", hub_config="eng_Latn-swh_Latn").run())
    assert err.value.exit_code == 2


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst", ".bz2", ".xz"])
def test_every_advertised_compression_is_read(tmp_path, bitext, suffix):
    import bz2
    import lzma

    compress = {"": bytes, ".gz": gzip.compress, ".zst": _zst, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix]
    source = bitext / "paracrawl-v3-labelled" / "en-de" / "sorted.en-de"
    (tmp_path / f"sorted.en-de.tsv{suffix}").write_bytes(compress(source.read_bytes()))
    docs = list(TsvReader(tmp_path, "en", "de", columns=PARACRAWL_V3_COLUMNS).run())
    assert len(docs) == 2000 and sides(docs[1]) == tuple(lines(source)[1].split("\t")[2:4])


def test_one_file_sources_spread_over_the_tasks(tmp_path, bitext):
    """A recipe of many one-file sources (NLLB) on many tasks: each file is read once, not all by task 0."""
    rows = lines(bitext / "paracrawl-v3-labelled" / "en-de" / "sorted.en-de")
    readers = []
    for i in range(16):
        (tmp_path / f"part{i}.tsv").write_text("\n".join(rows[i * 10:(i + 1) * 10]) + "\n")
        readers.append(TsvReader(tmp_path / f"part{i}.tsv", "en", "de", columns=PARACRAWL_V3_COLUMNS))
    read_by = {}
    for rank in range(32):
        for reader in readers:
            for doc in reader.run(rank=rank, world_size=32):
                read_by.setdefault(doc.metadata["file"], set()).add(rank)
    assert sorted(read_by) == sorted(f"part{i}.tsv" for i in range(16))
    assert all(len(ranks) == 1 for ranks in read_by.values())
    assert len(set.union(*read_by.values())) > 4
