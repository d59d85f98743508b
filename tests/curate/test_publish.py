"""Publishing a run: the Hub layout loads with `datasets`, the card validates, the upload is one commit."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import datasets
import pytest
from huggingface_hub import DatasetCard, DatasetCardData

from xplus.curate.languages import all_languages
from xplus.curate.publish import (
    build_dataset_folder,
    config_counts,
    config_name,
    hub_language,
    scrub_local_paths,
    short_codes,
    size_category,
)
from xplus.pipelines.cli import main

RESOURCES = Path(datasets.__file__).parent / "utils" / "resources"  # the Hub's card vocabularies, as datasets ships


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["curate", "run", "demo", "-o", str(run_dir), "--overwrite"]) == 0
    return run_dir


def test_config_names():
    assert config_name("eng_Latn", "swh_Latn") == config_name("swh_Latn", "eng_Latn") == "en-sw"
    assert config_name("deu_Latn", "fra_Latn") == "de-fr" and config_name("ace_Arab", "eng_Latn") == "en-ace_Arab"


def test_config_names_are_unique_where_iso_codes_collide():
    """zho_Hans and zho_Hant both became en-zh (kas_Arab and kas_Deva both en-ks): two pairs in one config."""
    codes = {"eng_Latn", "zho_Hans", "zho_Hant", "kas_Arab", "kas_Deva", "swh_Latn"}
    short = short_codes(codes)
    names = {config_name("eng_Latn", code, short) for code in codes - {"eng_Latn"}}
    assert names == {"en-zho_Hans", "en-zho_Hant", "en-kas_Arab", "en-kas_Deva", "en-sw"}
    every = {lang.flores200 for lang in all_languages()}
    short = short_codes(every)
    assert len({config_name("eng_Latn", code, short) for code in every - {"eng_Latn"}}) == len(every) - 1


def test_card_vocabulary_is_the_hubs():
    """The card listed `ace_Arab` (not a language code the Hub knows) and size `n>100M` (not a category)."""
    languages = set(json.loads((RESOURCES / "languages.json").read_text()))
    assert hub_language("ace_Arab") == "ace" and hub_language("zho_Hant") == "zh"
    assert all(hub_language(lang.flores200) in languages for lang in all_languages())
    sizes = json.loads((RESOURCES / "size_categories.json").read_text())
    assert [size_category(n) for n in (0, 999, 1000, 2 * 10**8, 5 * 10**12)] == [
        "n<1K", "n<1K", "1K<n<10K", "100M<n<1B", "n>1T"]
    assert all(size_category(10**k) in sizes for k in range(14))


def test_local_paths_are_scrubbed():
    text = "data_folder: /srv/me/corpus\nurl: https://arxiv.org/abs/1 hf://datasets/a/b n/a x / y ~/d/e.tsv"
    assert scrub_local_paths(text) == ("data_folder: <local>/corpus\nurl: https://arxiv.org/abs/1 hf://datasets/a/b "
                                       "n/a x / y <local>/e.tsv")


def test_published_folder_loads_per_language_pair(demo_dir, tmp_path):
    folder = build_dataset_folder(demo_dir, tmp_path / "hub", license="cc-by-sa-4.0")
    counts = config_counts(folder)
    assert set(counts) == {"en-sw", "en-zh", "en-de"}
    en_sw = datasets.load_dataset(str(folder), "en-sw", split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert en_sw.num_rows == counts["en-sw"] and {"messages", "src_line", "tgt_line", "template"} <= set(en_sw.features)
    assert set(en_sw["src"]) == {"eng_Latn", "swh_Latn"}  # both directions in one config
    card = DatasetCard.load(folder / "README.md")
    # the metadata round-trips through huggingface_hub's card data (validation proper is a Hub API call)
    assert DatasetCardData(**card.data.to_dict()).to_dict() == card.data.to_dict()
    assert card.data.license == "cc-by-sa-4.0" and card.data.size_categories == "1K<n<10K"
    assert sorted(c["config_name"] for c in card.data.configs) == ["all", "en-de", "en-sw", "en-zh"]
    assert set(card.data.language) == {"en", "sw", "zh", "de"}
    assert "accounting OK" in card.text and "not quality-filtered" in card.text and "arXiv:2510.09189" in card.text
    assert "name: demo" in card.text  # the recipe
    # the default config: load_dataset(repo) without a name gives every pair
    everything = datasets.load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert everything.num_rows == sum(counts.values())


def test_nothing_published_carries_a_local_path(demo_dir, tmp_path):
    run_dir = tmp_path / "my-run"
    shutil.copytree(demo_dir, run_dir)
    recipe = run_dir / "recipe.yaml"
    recipe.write_text(recipe.read_text() + f"# data came from {run_dir / 'corpus'} and {Path.home() / 'x.tsv'}\n")
    folder = build_dataset_folder(run_dir, tmp_path / "hub")
    local = [str(tmp_path), str(demo_dir), str(Path.home()), os.getcwd()]
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [p for p in local if p.encode() in data], path
    assert "<local>/corpus" in (folder / "README.md").read_text()


def test_push_is_one_commit_and_never_prints_the_token(demo_dir, tmp_path, monkeypatch, capsys):
    from huggingface_hub import HfApi

    calls = []
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: calls.append(("create", repo_id, kw)))
    monkeypatch.setattr(HfApi, "upload_folder",
                        lambda self, **kw: calls.append(("upload", kw)) or "https://hf.co/datasets/o/n/commit/1")
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    assert main(["curate", "publish", str(demo_dir), "--repo-id", "org/xplus-demo", "--private",
                 "--folder", str(tmp_path / "hub")]) == 0
    assert [c[0] for c in calls] == ["create", "upload"]
    assert calls[0][2] == {"repo_type": "dataset", "private": True, "exist_ok": True}
    assert calls[1][1]["repo_type"] == "dataset" and calls[1][1]["folder_path"] == str(tmp_path / "hub")
    assert "hf_secret_token_value" not in capsys.readouterr().out
