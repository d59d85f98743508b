"""The offline demo end to end through the CLI, and recipe validation."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from xplus.curate.accounting import run_funnel
from xplus.pipelines.cli import main
from xplus.pipelines.executors import preload_worker_modules
from xplus.pipelines.recipe import RecipeError, load_recipe, parse_recipe


def _jsonl_rows(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, str]:
    run_dir = tmp_path_factory.mktemp("demo")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["curate", "run", "demo", "-o", str(run_dir), "--overwrite"]) == 0
    return run_dir, out.getvalue()


def test_demo_reconciles_and_prints_the_funnel(demo_run):
    run_dir, printed = demo_run
    assert "accounting OK: input 1300 = output" in printed
    assert str(run_dir / "output" / "jsonl") in printed and str(run_dir / "rejects") in printed
    funnel = run_funnel(run_dir).check()
    assert funnel.input == 1300
    # GlobalVoices' 17 empty line pairs are rejected by the cleaner, with their step and reason
    rejects = _jsonl_rows(run_dir / "rejects")
    empty = [r for r in rejects if r["corpus"] == "globalvoices" and r["src_line"] == "" and r["tgt_line"] == ""]
    assert len(empty) == 17 and {r["step"] for r in empty} == {"clean"}
    assert all(r["reason"].startswith("empty_") for r in empty)


def test_demo_outputs_agree_across_formats(demo_run):
    run_dir, _ = demo_run
    rows = _jsonl_rows(run_dir / "output" / "jsonl")
    table = pq.read_table(next((run_dir / "output" / "parquet").glob("*.parquet"))).to_pylist()
    assert len(rows) == len(table) > 1000
    assert [(r["src_line"], r["tgt_line"]) for r in rows] == [(r["src_line"], r["tgt_line"]) for r in table]
    assert {(r["src"], r["trg"]) for r in rows} == {("eng_Latn", "swh_Latn"), ("eng_Latn", "zho_Hans"),
                                                    ("eng_Latn", "deu_Latn")}
    labelled = [r for r in rows if r["corpus"] == "paracrawl-v3"]
    extras = [json.loads(r["extra"]) for r in labelled]  # one type in every format: a JSON object string
    assert extras and all("label" in extra and "bicleaner" in extra for extra in extras)


def test_existing_run_needs_resume_or_overwrite(demo_run, capsys):
    run_dir, _ = demo_run
    assert main(["curate", "run", "demo", "-o", str(run_dir)]) == 2  # a usage error: one line, exit 2
    assert "--resume" in capsys.readouterr().err
    assert main(["curate", "run", "demo", "-o", str(run_dir), "--resume"]) == 0  # completed: nothing redone
    assert len(_jsonl_rows(run_dir / "output" / "jsonl")) == run_funnel(run_dir).output


def test_demo_chats_in_three_layouts(demo_run):
    run_dir, printed = demo_run
    assert "NOTICE: step 'decontaminate' skipped: it needs FLORES" in printed
    pairs = len(_jsonl_rows(run_dir / "output" / "jsonl"))
    for layout, key in (("messages", "messages"), ("sharegpt", "conversations"), ("alpaca", "instruction")):
        rows = _jsonl_rows(run_dir / "output" / f"chat-{layout}")
        assert len(rows) == 2 * pairs and all(key in r for r in rows)
    assert "chat records written" in printed


def test_demo_report_with_plots(demo_run):
    run_dir, printed = demo_run
    report = (run_dir / "report" / "report.md").read_text()
    assert f"report: {run_dir / 'report' / 'report.html'} (and report.md)" in printed
    assert "| eng_Latn-swh_Latn | 700 |" in report  # TICO-19 300 + GlobalVoices 400
    assert "| clean | empty_source | 17 |" in report
    assert "NOT quality-filtered" in report and "NOTICE: step 'loss' skipped: no scoring model" in printed
    assert "**length / length_ratio**" in report and "`GlobalVoices.en:172`" in report
    for png in ("funnel.png", "rejects.png", "length.png", "length_ratio.png"):
        assert (run_dir / "report" / png).stat().st_size > 5_000 and f"]({png})" in report


def test_flores_turns_decontamination_on(shared_data):
    data = {"flores": str(shared_data / "flores200"),
            "sources": [{"reader": "moses", "path": "x", "src_lang": "en", "tgt_lang": "de"}],
            "steps": {"decontaminate": {}, "template": {"directions": "forward"}}}
    recipe = parse_recipe(data, "r.yaml")
    assert recipe.steps["decontaminate"]["flores_dir"] == str(shared_data / "flores200") and not recipe.notices
    with pytest.raises(RecipeError, match="flores: /nope is not a folder"):
        parse_recipe({**data, "flores": "/nope"}, "r.yaml")
    with pytest.raises(RecipeError, match="output.chat_layouts: unknown layout"):
        parse_recipe({**data, "output": {"chat_layouts": ["openai"]}}, "r.yaml")


def test_recipe_errors_name_the_key(tmp_path):
    good = {"sources": [{"reader": "moses", "path": "x", "src_lang": "en", "tgt_lang": "de"}]}
    assert parse_recipe(good, "r.yaml").sources[0].reader == "moses"
    cases = [
        ({"sources": []}, "r.yaml: sources: a non-empty list"),
        ({**good, "stepz": {}}, "stepz: unknown key"),
        ({"sources": [{**good["sources"][0], "reader": "csv"}]}, "sources[0].reader: 'csv' is not a reader"),
        ({"sources": [{**good["sources"][0], "tgt_lang": "xx-nope"}]}, "sources[0].tgt_lang"),
        ({"sources": [{**good["sources"][0], "colums": ["a"]}]}, "sources[0].colums: not an argument of"),
        ({"sources": [{k: v for k, v in good["sources"][0].items() if k != "src_lang"}]}, "src_lang: missing"),
        ({**good, "steps": {"clean": {"normalisation": "NFC"}}}, "steps.clean.normalisation: not an argument"),
        ({**good, "steps": {"dedupe": {}}}, "steps.dedupe: unknown step"),
        ({**good, "output": {"formats": ["csv"]}}, "output.formats: unknown format"),
        # types, from the blocks' constructor annotations; ranges, from their constructors
        ({**good, "steps": {"length": {"min_units": "two"}}}, "r.yaml: steps.length.min_units: expected an integer, "
                                                              "got 'two'"),
        ({**good, "steps": {"length": {"min_ratio": 1.5}}}, "r.yaml: steps.length: min_ratio must be in (0, 1]"),
        ({**good, "steps": {"clean": {"fix_mojibake": "maybe"}}}, "steps.clean.fix_mojibake: expected true or false"),
        ({**good, "steps": {"dedup": {"policy": "first"}}}, "steps.dedup.policy: expected one of 'keep_one' or "
                                                            "'max_conflicts', got 'first'"),
        ({**good, "steps": {"lid": {"min_probability": {"de": "high"}}}}, "steps.lid.min_probability.de: expected a "
                                                                           "number, got 'high'"),
        ({**good, "steps": {"loss": {"percentile": 0}}}, "steps.loss: percentile must be in (0, 100]"),
        ({**good, "steps": {"loss": {"model": "/no/such/nllb"}}}, "steps.loss.model: /no/such/nllb: no such file"),
        ({**good, "steps": {"clean": ["NFC"]}}, "steps.clean: arguments must be a mapping"),
        ({"sources": [{**good["sources"][0], "limit": "ten"}]}, "sources[0].limit: expected an integer, got 'ten'"),
        ({"sources": [{**good["sources"][0], "tgt_lang": False}]}, "sources[0].tgt_lang: expected a string, got False"),
        ({"sources": [{**good["sources"][0], "tgt_lang": "eng"}]}, "sources[0].tgt_lang: 'eng' is the same language "
                                                                   "as src_lang 'en' (eng_Latn)"),
    ]
    for data, message in cases:
        with pytest.raises(RecipeError, match=re.escape(message)):
            parse_recipe(data, "r.yaml")
    with pytest.raises(RecipeError, match="bundled: demo"):
        load_recipe("no-such-recipe")
    (tmp_path / "bad.yaml").write_text("sources: [\n")
    with pytest.raises(RecipeError, match="bad.yaml:2: not valid YAML"):
        load_recipe(str(tmp_path / "bad.yaml"))


def test_recipe_values_are_coerced_as_their_types():
    """PyYAML reads `1e-1` as a string; the block's `float` annotation makes it the float."""
    import yaml

    data = yaml.safe_load("sources: [{reader: moses, path: x, src_lang: en, tgt_lang: de, limit: '5'}]\n"
                          "steps: {length: {min_ratio: 1e-1}}\n")
    assert data["steps"]["length"]["min_ratio"] == "1e-1"
    recipe = parse_recipe(data, "r.yaml")
    assert recipe.steps["length"] == {"min_ratio": 0.1} and recipe.sources[0].options["limit"] == 5
    (length,) = [b for b in recipe.build("/tmp/unused-run") if type(b).__name__ == "LengthRatioFilter"]
    assert length.min_ratio == 0.1


def test_step_order_is_honoured_or_refused():
    good = {"sources": [{"reader": "moses", "path": "x", "src_lang": "en", "tgt_lang": "de"}]}
    recipe = parse_recipe({**good, "steps": {"length": {}, "clean": {}, "template": {}}}, "r.yaml")
    assert list(recipe.steps) == ["length", "clean", "template"]
    names = [type(b).__name__ for b in recipe.build("/tmp/unused-run")]
    assert names.index("LengthRatioFilter") < names.index("Cleaner") < names.index("InstructionTemplater")
    with pytest.raises(RecipeError, match=re.escape("r.yaml: steps.template: must be the last step")):
        parse_recipe({**good, "steps": {"template": {}, "clean": {}}}, "r.yaml")
    with pytest.raises(RecipeError, match=re.escape("r.yaml: steps.loss: must come after 'dedup'")):
        parse_recipe({**good, "steps": {"loss": {"thresholds": {"en-de": 3.0}}, "dedup": {}}}, "r.yaml")


def test_demo_with_three_tasks_runs_the_multi_stage_dedup(demo_run, tmp_path):
    """3 tasks on 2 workers forked from the preloaded forkserver: the same decisions as one task."""
    run_dir, _ = demo_run
    three = tmp_path / "three"
    assert main(["curate", "run", "demo", "-o", str(three), "--tasks", "3", "--workers", "2"]) == 0
    assert sorted(p.name for p in (three / "logs").iterdir()) == ["00-prepare", "01-dedup-buckets",
                                                                   "02-dedup-cluster", "03-finish"]
    single, multi = run_funnel(run_dir).check(), run_funnel(three).check()
    assert (multi.input, multi.output, multi.rejected) == (single.input, single.output, single.rejected)

    def reasons(folder):
        return sorted((r["step"], r["reason"]) for r in _jsonl_rows(folder / "rejects"))

    assert reasons(three) == reasons(run_dir)


def test_paper_recipe_is_valid_and_stages_for_slurm(shared_data, tmp_path):
    from xplus.curate.languages import RECIPE_LANGUAGES
    from xplus.curate.loss import LossFilter

    recipe = load_recipe("xplus-17langs", flores=str(shared_data / "flores200"))
    assert {s.options["tgt_lang"] for s in recipe.sources} == set(RECIPE_LANGUAGES) - {"eng_Latn"}
    assert {(s.reader, s.path.split("/")[2]) for s in recipe.sources} == {  # NLLB files, OPUS-100 parquet
        ("tsv", "storage.googleapis.com"), ("hf", "datasets")}
    assert list(recipe.steps) == ["clean", "length", "consistency", "untranslated", "dedup", "lid", "loss",
                                  "decontaminate", "template"]
    assert not recipe.notices
    stages = recipe.stages(tmp_path, tasks=4, distributed=True, gpus_per_task=1)
    assert [s.name for s in stages] == ["prepare", "dedup-buckets", "dedup-cluster", "finish", "loss-gpu"]
    assert stages[-1].gpus_per_task == 1 and isinstance(stages[-1].pipeline[1], LossFilter)
    assert not any(isinstance(b, LossFilter) for s in stages[:-1] for b in s.pipeline)


def test_worker_modules_preloaded_are_the_blocks(tmp_path):
    recipe = load_recipe("demo")
    stages = recipe.stages(tmp_path, tasks=2, distributed=True)
    modules = preload_worker_modules(stages)
    assert {"xplus.curate.lid", "xplus.curate.clean", "xplus.curate.simhash.stages",
            "datatrove.executor.local"} <= set(modules)
    assert all(importlib.util.find_spec(module) for module in modules)
