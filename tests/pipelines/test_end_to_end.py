"""The toy end-to-end recipe (issue 8): real TICO-19 en-sw curated with all six steps, a tiny random Qwen3
trained layer-selectively and fully, evaluated before and after on held-out pairs. Run with `-s` to see the
funnel and the comparison table."""

from __future__ import annotations

import json
import time

import pytest

from xplus.pipelines.end_to_end import MODELS, TOY_SCORER, run_end_to_end

from ..conftest import REPO_ROOT

SIX_STEPS = ["clean", "length", "consistency", "dedup", "lid", "loss", "decontaminate", "template"]
COMET_ENV = REPO_ROOT / ".cache" / "xplus-comet-venv"  # built by tests/evaluate/test_comet.py when it ran


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("end-to-end")
    started = time.perf_counter()
    summary = run_end_to_end(out, shared_data / "bitext" / "tico19" / "eng-swa", comet_env=COMET_ENV, seed=0,
                             threads=1)
    print(f"\ntoy end-to-end wall time: {time.perf_counter() - started:.1f} s")
    return out, summary


@pytest.mark.slow
def test_layer_selective_training_improves_spbleu_on_held_out_pairs(toy_run):
    _, summary = toy_run
    scores = summary["scores"]
    for name in MODELS:
        print(f"{name:>16}: " + ", ".join(f"{metric} {value:.2f}" for metric, value in scores[name]["mean"].items()))
    before, selective = scores["before"]["mean"]["spbleu"], scores["layer-selective"]["mean"]["spbleu"]
    assert selective > before, f"layer-selective spBLEU {selective:.2f} is not above before {before:.2f}"
    for direction in ("eng_Latn-swh_Latn", "swh_Latn-eng_Latn"):
        assert scores["layer-selective"][direction]["spbleu"] > scores["before"][direction]["spbleu"]
    assert summary["data"]["evaluation_pairs"] == 100
    stages = summary["training"]["layer-selective"]["stages"]
    assert [s["layer_ranges"] for s in stages] == ["0-1", "3-5"]
    assert summary["training"]["full"]["optimizer_steps"] == summary["training"]["layer-selective"]["optimizer_steps"]


@pytest.mark.slow
def test_curation_ran_all_six_steps_and_reconciles(toy_run):
    _, summary = toy_run
    curation = summary["curation"]
    assert curation["steps"] == SIX_STEPS and not curation["notices"]
    assert curation["reconciles"] and curation["input"] == curation["output"] + curation["rejected"]
    assert curation["input"] == summary["data"]["curation_lines"]
    blocks = {block["name"]: block for block in curation["blocks"]}
    loss = next(block for name, block in blocks.items() if "Translation loss" in name)
    assert loss["in"] > 1000 and loss["dropped"] > 0 and set(loss["reasons"]) == {"high_loss"}
    assert curation["loss_scorer"] == TOY_SCORER and "NOT-nllb" in curation["loss_model"]
    assert list(curation["loss_thresholds"]) == ["eng_Latn→swh_Latn"]
    decontamination = next(block for name, block in blocks.items() if "decontamination" in name)
    assert decontamination["in"] > 0
    assert curation["chat_records"] == 2 * curation["output"]


@pytest.mark.slow
def test_held_out_pairs_never_reach_curation_or_training(toy_run):
    out, summary = toy_run
    held = set((out / "heldout" / "devtest" / "eng_Latn.devtest").read_text(encoding="utf-8").splitlines())
    calibration = set((out / "heldout" / "dev" / "eng_Latn.dev").read_text(encoding="utf-8").splitlines())
    curated = (out / "data" / "tico19-en-sw" / "tico19-train.eng").read_text(encoding="utf-8").splitlines()
    assert len(held) == 100 and len(calibration) == 100
    assert not (held | calibration) & set(curated)


@pytest.mark.slow
def test_outputs_exist(toy_run):
    out, summary = toy_run
    for name in ("comparison.md", "comparison.json", "metrics.png", "loss_curves.png", "curate/report/report.md"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert json.loads((out / "comparison.json").read_text())["scores"] == summary["scores"]
    table = (out / "comparison.md").read_text()
    assert "toy spBLEU (SPM trained on the toy data)" in table and "chrF++" in table
    for name in MODELS:
        assert (out / "eval" / name / "translations" / "eng_Latn-swh_Latn.jsonl").is_file()
    if "xcomet" in summary["metrics"]:
        assert all("xcomet" in summary["scores"][name]["mean"] for name in MODELS)
    else:
        assert any(notice.startswith("xCOMET skipped") for notice in summary["notices"])
