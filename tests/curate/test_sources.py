"""Sources as published today (NLLB gz, OPUS Moses zip, OPUS-100 parquet), served over real HTTP on 127.0.0.1,
built from the real samples in ../shared/data; and the one-line errors of a 404, a timeout and a truncated gzip."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xplus.curate.errors import DataError, InputError
from xplus.curate.readers.hf import HFBitextReader
from xplus.curate.readers.moses import MosesReader
from xplus.curate.readers.tsv import TsvReader
from xplus.curate.record import sides
from xplus.curate.sources import source_folder, source_info
from xplus.curate.writers import rejects_writer

from ..http_server import serve

NLLB_BN = "ben_Beng-eng_Latn.gz"
OPUS_ZIP = "en-sw.txt.zip"
OPUS100 = "opus-100/en-sw/train-00000-of-00001.parquet"


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").rstrip("\n").split("\n")


def nllb_rows(bitext: Path) -> list[list[str]]:
    """Tatoeba ben-eng in NLLB's published layout: Bengali first (`ben_Beng` < `eng_Latn`), then the scores."""
    folder = bitext / "tatoeba-laser-v1" / "ben-eng"
    ben, eng = lines(folder / "tatoeba.ben-eng.ben"), lines(folder / "tatoeba.ben-eng.eng")
    return [[b, e, f"{1.0 + (i % 40) / 100:.3f}", "0.97", "1.0", "tatoeba", f"https://tatoeba.org/s/{i}",
             "tatoeba", f"https://tatoeba.org/s/{i}e"] for i, (b, e) in enumerate(zip(ben, eng, strict=True))]


def build_layouts(bitext: Path, root: Path) -> Path:
    """The three published layouts, from real samples: NLLB gz (Tatoeba ben-eng), an OPUS Moses zip (OPUS
    GlobalVoices en-sw, with README and LICENSE members) and an OPUS-100 parquet (TICO-19 en-sw)."""
    root.mkdir(parents=True, exist_ok=True)
    with gzip.open(root / NLLB_BN, "wt", encoding="utf-8") as f:
        f.writelines("\t".join(row) + "\n" for row in nllb_rows(bitext))
    gv = bitext / "opus-globalvoices" / "en-sw"
    with zipfile.ZipFile(root / OPUS_ZIP, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(gv / "GlobalVoices.en", "GlobalVoices.en-sw.en")
        archive.write(gv / "GlobalVoices.sw", "GlobalVoices.en-sw.sw")
        archive.writestr("README", "OPUS GlobalVoices en-sw (test copy)\n")
        archive.writestr("LICENSE", "CC-BY 3.0\n")
    tico = bitext / "tico19" / "eng-swa"
    rows = [{"translation": {"en": en, "sw": sw}} for en, sw in
            zip(lines(tico / "tico19-test.eng"), lines(tico / "tico19-test.swa"), strict=True)]
    (root / OPUS100).parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / OPUS100, row_group_size=500)
    hub = root / "hub" / "Helsinki-NLP" / OPUS100  # the same file where a Hub mirror serves it (HF_ENDPOINT)
    hub.parent.mkdir(parents=True)
    shutil.copyfile(root / OPUS100, hub)
    return root


@pytest.fixture(scope="module")
def served(bitext, tmp_path_factory):
    root = build_layouts(bitext, tmp_path_factory.mktemp("served"))
    with serve(root, slow_seconds=3.0) as (url, log):
        yield url, root, log


def test_nllb_gz_over_http_maps_sides_from_the_file_name(served, bitext, tmp_path):
    url, root, _ = served
    rows = nllb_rows(bitext)
    reader = TsvReader(f"{url}/{NLLB_BN}", "en", "bn", layout="nllb", min_laser_score=1.1,
                       exclusion_writer=rejects_writer(tmp_path, "unify"))
    docs = list(reader.run())
    kept = [(i, r) for i, r in enumerate(rows) if float(r[2]) >= 1.1]
    assert len(docs) == len(kept) < len(rows)
    i, row = kept[0]
    assert sides(docs[0]) == (row[1], row[0])  # English is the file's second column
    assert docs[0].metadata["src"] == "eng_Latn" and docs[0].metadata["trg"] == "ben_Beng"
    assert docs[0].metadata["file"] == NLLB_BN and docs[0].metadata["line"] == i + 1
    extra = docs[0].metadata["extra"]
    assert extra["laser_score"] == float(row[2]) and isinstance(extra["laser_score"], float)
    assert extra["trg_lid"] == 0.97 and extra["src_lid"] == 1.0  # NLLB's "source" is the first (Bengali) side
    assert extra["trg_url"] == row[6] and extra["src_url"] == row[8]
    assert reader.stats["dropped_laser_score_below_min"].total == len(rows) - len(kept)
    # the other direction of the same file
    reverse = list(TsvReader(f"{url}/{NLLB_BN}", "bn", "en", layout="nllb").run())
    assert sides(reverse[0]) == (rows[0][0], rows[0][1]) and len(reverse) == len(rows)


def test_nllb_file_name_must_match_the_languages(served):
    url, _, _ = served
    with pytest.raises(DataError, match=r"ben_Beng-eng_Latn\.gz: an NLLB file is named"):
        list(TsvReader(f"{url}/{NLLB_BN}", "en", "sw", layout="nllb").run())


def test_opus_moses_zip_members_read_in_lockstep_over_http(served, bitext):
    url, _, log = served
    gv = bitext / "opus-globalvoices" / "en-sw"
    before = len(log)
    reader = MosesReader(f"{url}/{OPUS_ZIP}", "en", "sw")
    docs = list(reader.run())
    assert len(docs) == 5000 and sides(docs[41]) == (lines(gv / "GlobalVoices.en")[41],
                                                     lines(gv / "GlobalVoices.sw")[41])
    assert docs[0].metadata["file"] == f"{OPUS_ZIP}/GlobalVoices.en-sw.en"
    assert reader.stats["skipped_files"].total == 2  # README, LICENSE: listed, never read as bitext
    # streamed by ranges straight from the archive: no request fetches the whole zip at once
    requests = log[before:]
    assert requests and all(r.startswith("HEAD") or "bytes=" in r for r in requests)
    with pytest.raises(DataError, match=r"en-sw\.txt\.zip: no member pair \*\.en \+ \*\.swh_Latn \(members: "):
        list(MosesReader(f"{url}/{OPUS_ZIP}", "en", "swh_Latn").run())


def test_opus100_parquet_over_http(served, bitext):
    url, _, _ = served
    docs = list(HFBitextReader(f"{url}/{OPUS100}", "en", "sw").run())
    tico = bitext / "tico19" / "eng-swa"
    assert len(docs) == 2100 and docs[7].metadata["tgt_line"] == lines(tico / "tico19-test.swa")[7]
    assert docs[0].metadata["file"] == "train-00000-of-00001.parquet"


def test_opus100_through_hf_paths(served, bitext, hub_mirror):
    url, root, log = served
    hub_mirror(url)
    before = len(log)
    path = "hf://datasets/Helsinki-NLP/opus-100@main/en-sw"
    one_file = list(HFBitextReader(f"{path}/train-00000-of-00001.parquet", "en", "sw").run())
    folder = list(HFBitextReader(path, "en", "sw", glob_pattern="train-*.parquet").run())
    tico = bitext / "tico19" / "eng-swa"
    assert len(one_file) == len(folder) == 2100 and one_file[9].text == lines(tico / "tico19-test.eng")[9]
    assert [sides(d) for d in one_file] == [sides(d) for d in folder]
    # read through the Hub client's file API, by ranges
    assert any(r.startswith("GET /datasets/Helsinki-NLP/opus-100/resolve/") and "bytes=" in r for r in log[before:])
    info = source_info(f"{path}/train-00000-of-00001.parquet")
    assert (info.size, info.error) == ((root / OPUS100).stat().st_size, None)
    folder_info = source_info(path)  # a folder: one listing, sizes included
    assert (folder_info.files, folder_info.size) == (1, info.size)
    assert "not found" in source_info("hf://datasets/Helsinki-NLP/opus-100@main/xx-yy/train.parquet").error


def test_sha256_is_checked_while_the_file_streams(served):
    url, root, _ = served
    digest = hashlib.sha256((root / NLLB_BN).read_bytes()).hexdigest()
    assert len(list(TsvReader(f"{url}/{NLLB_BN}", "en", "bn", layout="nllb", sha256=digest).run())) == 1000
    with pytest.raises(InputError, match=rf"{NLLB_BN}: sha256 mismatch: expected 00+, got {digest}"):
        list(TsvReader(f"{url}/{NLLB_BN}", "en", "bn", layout="nllb", sha256="0" * 64).run())


def test_404_is_one_line_naming_the_url(served):
    url, _, _ = served
    with pytest.raises(InputError) as err:
        list(TsvReader(f"{url}/nllb/eng_Latn-swh_Latn.gz", "en", "sw", layout="nllb").run())
    assert str(err.value) == f"{url}/nllb/eng_Latn-swh_Latn.gz: not found (no such file, or HTTP 404)"


def test_timeout_is_one_line_naming_the_url_after_bounded_retries(served, monkeypatch):
    url, _, log = served
    monkeypatch.setenv("XPLUS_HTTP_TIMEOUT", "0.3")
    monkeypatch.setenv("XPLUS_HTTP_RETRIES", "2")
    before = len(log)
    with pytest.raises(InputError) as err:
        list(TsvReader(f"{url}/slow/{NLLB_BN}", "en", "bn", layout="nllb").run())
    assert str(err.value).startswith(f"{url}/slow/{NLLB_BN}: timed out")
    assert "\n" not in str(err.value)
    # tried twice (each try is fsspec's stat: a HEAD, then a GET), then given up
    assert [r.split()[0] for r in log[before:] if "/slow/" in r] == ["HEAD", "GET"] * 2


def test_truncated_gzip_over_http_is_one_line_naming_the_url(served, tmp_path):
    url, root, _ = served
    data = (root / NLLB_BN).read_bytes()
    (root / "cut").mkdir(exist_ok=True)
    (root / "cut" / NLLB_BN).write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        list(TsvReader(f"{url}/cut/{NLLB_BN}", "en", "bn", layout="nllb").run())
    message = str(err.value)
    assert message.startswith(f"{url}/cut/{NLLB_BN}: truncated or corrupt compressed data (EOFError")
    assert "after " in message and "record(s)" in message and "\n" not in message


def test_source_info_resolves_size_without_reading(served):
    url, root, log = served
    before = len(log)
    info = source_info(f"{url}/{OPUS_ZIP}")
    assert (info.files, info.size, info.error) == (1, (root / OPUS_ZIP).stat().st_size, None)
    assert all(not r.startswith("GET") or "bytes=" not in r for r in log[before:])
    assert source_info(f"{url}/missing.gz").error == "not found (no such file, or HTTP 404)"


def test_hf_paths_resolve_to_the_hub_filesystem_without_a_request():
    folder, name = source_folder("hf://datasets/Helsinki-NLP/opus-100@main/en-sw/train-00000-of-00001.parquet")
    assert type(folder.fs).__name__ == "HfFileSystem" and name == "train-00000-of-00001.parquet"
    folder, name = source_folder("hf://datasets/Helsinki-NLP/opus-100@main/en-sw")
    assert name is None and folder.path.endswith("opus-100@main/en-sw")
