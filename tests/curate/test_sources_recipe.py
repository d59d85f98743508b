"""The xplus-17langs recipe end to end on the published layouts served from 127.0.0.1: its NLLB source's URL
swapped for the server's, its OPUS-100 `hf://` path kept and answered by the server as a Hub mirror
(`HF_ENDPOINT`), plus an OPUS Moses zip; and `xplus curate check` on the same sources."""

from __future__ import annotations

import contextlib
import io
import json
from importlib.resources import files
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from xplus.curate.accounting import run_funnel
from xplus.pipelines.cli import main

from .. import http_server
from ..http_server import serve
from .test_sources import NLLB_BN, OPUS_ZIP, build_layouts

NLLB_URL = "https://storage.googleapis.com/allennlp-data-bucket/nllb"
OPUS100_HUB = "hf://datasets/Helsinki-NLP/opus-100@main"


def paper_recipe() -> dict:
    return yaml.safe_load(files("xplus.pipelines").joinpath("recipes", "xplus-17langs.yaml").read_text())


def served_recipe(url: str, tmp_path: Path, extra_sources: list[dict] = ()) -> Path:
    """xplus-17langs with its en-bn NLLB source pointed at the local server and its en-sw OPUS-100 `hf://` path
    as it is (the server is the Hub mirror), plus an OPUS Moses zip; the steps are the paper's, with the offline
    LID model and no loss scorer (no network, no GPU)."""
    recipe = paper_recipe()
    keep = {"nllb-en-bn", "opus100-en-sw"}
    sources = [s for s in recipe["sources"] if s["corpus"] in keep]
    assert len(sources) == 2
    for source in sources:
        source["path"] = source["path"].replace(NLLB_URL, url)
    sources.append({"reader": "moses", "path": f"{url}/{OPUS_ZIP}", "src_lang": "en", "tgt_lang": "sw",
                    "corpus": "opus-globalvoices-en-sw"})
    recipe["sources"] = sources + list(extra_sources)
    recipe["steps"]["lid"] = {"model": "lid176"}
    recipe["steps"]["loss"] = {"model": None}
    path = tmp_path / "xplus-17langs-served.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def server(bitext, tmp_path_factory):
    root = build_layouts(bitext, tmp_path_factory.mktemp("published"))
    with serve(root) as (url, _):
        yield url, root


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


@pytest.mark.slow
def test_paper_recipe_reads_the_published_layouts_end_to_end(server, shared_data, tmp_path, hub_mirror):
    url, _ = server
    hub_mirror(url)
    recipe = served_recipe(url, tmp_path)
    run_dir = tmp_path / "run"
    code, printed = run_cli("curate", "run", str(recipe), "-o", str(run_dir), "--flores",
                            str(shared_data / "flores200"))
    assert code == 0
    funnel = run_funnel(run_dir).check()
    assert funnel.input == 1000 + 2100 + 5000  # Tatoeba ben-eng (NLLB gz), TICO-19 (parquet), GlobalVoices (zip)
    assert "accounting OK" in printed
    rows = pq.read_table(next((run_dir / "output" / "parquet").glob("*.parquet"))).to_pylist()
    assert {r["corpus"] for r in rows} == {"nllb-en-bn", "opus100-en-sw", "opus-globalvoices-en-sw"}
    nllb = [r for r in rows if r["corpus"] == "nllb-en-bn"]
    assert {(r["src"], r["trg"]) for r in nllb} == {("eng_Latn", "ben_Beng")}
    assert isinstance(json.loads(nllb[0]["extra"])["laser_score"], float)
    assert len(rows) > 0.5 * funnel.input


def test_check_lists_every_source_with_size_and_exits_1_on_a_404(server, tmp_path, hub_mirror):
    url, root = server
    hub_mirror(url)
    code, printed = run_cli("curate", "check", str(served_recipe(url, tmp_path)))
    lines = printed.splitlines()
    assert code == 0 and lines[-1] == "all 3 source(s) reachable"
    nllb = next(line for line in lines if "nllb-en-bn" in line)
    size_kb = (root / NLLB_BN).stat().st_size / 1000
    assert nllb.startswith("ok  sources[0] nllb-en-bn") and f"{url}/{NLLB_BN}  {size_kb:.1f} kB" in nllb
    assert "NOT PINNED" in nllb
    missing = {"reader": "tsv", "layout": "nllb", "path": f"{url}/nllb/eng_Latn-swh_Latn.gz", "src_lang": "en",
               "tgt_lang": "sw", "corpus": "nllb-en-sw"}
    code, printed = run_cli("curate", "check", str(served_recipe(url, tmp_path, [missing])))
    assert code == 1
    assert (f"UNREACHABLE  sources[3] nllb-en-sw  {url}/nllb/eng_Latn-swh_Latn.gz: not found (no such file, or "
            f"HTTP 404)") in printed.splitlines()


def test_check_pin_prints_the_sha256_of_an_unpinned_url(server, tmp_path, hub_mirror):
    import hashlib

    url, root = server
    hub_mirror(url)
    code, printed = run_cli("curate", "check", str(served_recipe(url, tmp_path)), "--pin")
    digest = hashlib.sha256((root / NLLB_BN).read_bytes()).hexdigest()
    assert code == 0 and f"    pin: sources[0].sha256: {digest}" in printed.splitlines()
    assert (f"    pin: sources[1].path: hf://datasets/Helsinki-NLP/opus-100@{http_server.HUB_COMMIT}/en-sw/"
            f"train-00000-of-00001.parquet") in printed.splitlines()


def test_paper_recipe_sources_are_published_files_not_scripts():
    sources = paper_recipe()["sources"]
    nllb = [s for s in sources if s["corpus"].startswith("nllb-")]
    opus = [s for s in sources if s["corpus"].startswith("opus100-")]
    assert len(nllb) == len(opus) == 16 and not any("hub_dataset" in s for s in sources)
    assert all(s["path"].startswith(f"{NLLB_URL}/") and s["layout"] == "nllb" for s in nllb)
    assert all(s["path"].startswith(f"{OPUS100_HUB}/") and s["path"].endswith(".parquet") for s in opus)
