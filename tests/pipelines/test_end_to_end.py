"""The toy end-to-end recipe: real TICO-19 en-sw curated with all six steps, a tiny random Qwen3 trained
layer-selectively and fully, evaluated before and after on held-out pairs by `xplus evaluate translate`,
compared by `xplus evaluate compare`, retention measured by `xplus evaluate retention` on toy lm-eval items.
Run with `-s` to see the funnel, the tables and the wall time."""

from __future__ import annotations

import json
import re
import time

import pytest
import torch

from xplus.evaluate.comet.env import default_env_path
from xplus.evaluate.compare import compare_runs
from xplus.pipelines.end_to_end import TOY_SCORER, run_end_to_end
from xplus.pipelines.end_to_end_config import TOY_TASKS
from xplus.pipelines.end_to_end_phases import MODELS
from xplus.pipelines.end_to_end_report import readme_table

from ..conftest import REPO_ROOT

SIX_STEPS = ["clean", "length", "consistency", "dedup", "lid", "loss", "decontaminate", "template"]
README_TABLE = re.compile(r"<!-- toy-table: torch (\S+) -->\n(.*?)\n<!-- /toy-table -->", re.DOTALL)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, shared_data):
    out = tmp_path_factory.mktemp("end-to-end")
    started = time.perf_counter()
    summary = run_end_to_end(out, shared_data / "bitext" / "tico19" / "eng-swa", comet_env=default_env_path())
    print(f"\ntoy end-to-end wall time: {time.perf_counter() - started:.1f} s ({summary['timings_s']})")
    return out, summary


@pytest.mark.slow
def test_layer_selective_training_raises_toy_bleu_on_held_out_pairs(toy_run):
    _, summary = toy_run
    scores = summary["scores"]
    print("\n" + readme_table(summary))
    for direction in ("eng_Latn-swh_Latn", "swh_Latn-eng_Latn", "mean"):
        assert scores["layer-selective"][direction]["toy-bleu"] > scores["before"][direction]["toy-bleu"]
    assert summary["data"]["evaluation_pairs"] == 100
    stages = summary["training"]["layer-selective"]["stages"]
    assert [s["layer_ranges"] for s in stages] == ["0-1", "3-5"]
    assert summary["training"]["full"]["optimizer_steps"] == summary["training"]["layer-selective"]["optimizer_steps"]


@pytest.mark.slow
def test_toy_scores_are_marked_and_kept_out_of_the_real_runs(toy_run):
    out, summary = toy_run
    assert summary["signatures"]["toy-bleu"].startswith("toy-spm:") and "tok:none" in summary["signatures"]["toy-bleu"]
    assert "flores200" not in summary["signatures"]["toy-bleu"]
    for name in MODELS:
        run = json.loads((out / "eval" / name / "scores.json").read_text())
        assert "spbleu" not in run["metrics"] and "toy-bleu" not in run["metrics"]
        assert run["settings"]["model"] == str(out / "models" / ("base" if name == "before" else name))
    assert "not spBLEU" in (out / "comparison.md").read_text()


@pytest.mark.slow
def test_evaluation_runs_are_standard_runs_that_compare_reads(toy_run):
    """The evaluation folders are `xplus evaluate translate` runs: compare_runs reads them, xCOMET included."""
    out, summary = toy_run
    comparison = compare_runs([out / "eval" / name for name in MODELS], n_samples=200)
    assert set(comparison["directions"]) == {"eng_Latn-swh_Latn", "swh_Latn-eng_Latn"}
    for direction, entry in comparison["directions"].items():
        assert entry["chrf++"][1].score == pytest.approx(summary["scores"]["layer-selective"][direction]["chrf++"])
    assert (out / "compare" / "compare.md").is_file()
    if "xcomet" in summary["metrics"]:
        assert "xcomet" in comparison["metrics"]
        assert (out / "eval" / "full" / "xcomet" / "eng_Latn-swh_Latn.jsonl").is_file()
    else:
        assert any(notice.startswith("xCOMET skipped") for notice in summary["notices"])


@pytest.mark.slow
def test_retention_step_ran_lm_eval_on_every_model_and_task(toy_run):
    out, summary = toy_run
    retention = summary["retention"]
    assert set(retention["accuracy"]) == set(MODELS) and retention["tasks"] == list(TOY_TASKS)
    report = json.loads((out / "retention" / "retention.json").read_text())
    assert set(report["tasks"]) == set(TOY_TASKS) and report["base"] == "before"
    for task in TOY_TASKS:
        for name in MODELS:
            rows = (out / "retention" / "models" / name / f"{task}.jsonl").read_text().splitlines()
            assert len(rows) == retention["items_per_task"], (name, task)
    assert (out / "retention" / "tradeoff.png").stat().st_size > 10_000
    assert set(report["systems"]) == set(MODELS)


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
    assert summary["loss_scorer"] == TOY_SCORER and "NOT-nllb" in curation["loss_model"]
    assert len(curation["loss_thresholds"]) == 1
    decontamination = next(block for name, block in blocks.items() if "decontamination" in name)
    assert decontamination["in"] > 0
    assert curation["chat_records"] == 2 * curation["output"]


@pytest.mark.slow
def test_held_out_pairs_never_reach_curation_or_training(toy_run):
    out, _ = toy_run
    held = set((out / "heldout" / "devtest" / "eng_Latn.devtest").read_text(encoding="utf-8").splitlines())
    calibration = set((out / "heldout" / "dev" / "eng_Latn.dev").read_text(encoding="utf-8").splitlines())
    curated = (out / "data" / "tico19-en-sw" / "tico19-train.eng").read_text(encoding="utf-8").splitlines()
    assert len(held) == 100 and len(calibration) == 100
    assert not (held | calibration) & set(curated)


def parse_table(markdown: str) -> dict[str, dict[str, str]]:
    header, _, *rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown.splitlines()]
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows}


@pytest.mark.slow
def test_readme_table_is_this_run(toy_run):
    """The README's walkthrough table is generated by the toy run. On the torch build it was made with
    (recorded in the table's marker) every number must match exactly; on another build (CPU vs CUDA wheels,
    another version) floating-point sums may differ, so there each number may differ by 1.0 (retention: by
    5.0, one item in 20). A run without the comet environment has no xCOMET column (and says so)."""
    _, summary = toy_run
    match = README_TABLE.search((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, "README.md has no <!-- toy-table: torch VERSION --> ... <!-- /toy-table --> block"
    recorded, fresh = parse_table(match.group(2).strip()), parse_table(readme_table(summary))
    assert recorded.keys() == fresh.keys()
    for model, cells in recorded.items():
        missing = set(cells) - set(fresh[model])
        assert not missing or ("xcomet" not in summary["metrics"] and all("xCOMET" in c for c in missing))
        for column in set(cells) & set(fresh[model]):
            old, new = float(cells[column]), float(fresh[model][column])
            if match.group(1) == torch.__version__:
                assert cells[column] == fresh[model][column], (model, column, old, new)
            else:
                assert abs(old - new) <= (5.0 if column.startswith("retention") else 1.0), (model, column)
