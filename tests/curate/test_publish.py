"""Publishing a run: the Hub layout loads with `datasets`, the card validates, the upload is one commit."""

from __future__ import annotations

import contextlib
import io

import datasets
import pytest
from huggingface_hub import DatasetCard, DatasetCardData

from xplus.curate.publish import build_dataset_folder, config_counts, config_name
from xplus.pipelines.cli import main


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["curate", "run", "demo", "-o", str(run_dir), "--overwrite"]) == 0
    return run_dir


def test_config_names():
    assert config_name("eng_Latn", "swh_Latn") == config_name("swh_Latn", "eng_Latn") == "en-sw"
    assert config_name("deu_Latn", "fra_Latn") == "de-fr" and config_name("ace_Arab", "eng_Latn") == "en-ace_Arab"


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
    assert sorted(c["config_name"] for c in card.data.configs) == ["en-de", "en-sw", "en-zh"]
    assert "accounting OK" in card.text and "not quality-filtered" in card.text and "arXiv:2510.09189" in card.text
    assert "name: demo" in card.text  # the recipe


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
