"""`xplus evaluate retention` on tiny random Qwen3 models and toy items of the five paper tasks (each in its
dataset's real fields), through lm-evaluation-harness itself, offline."""

from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer

from tests.evaluate.tiny import save_tiny_model, tiny_qwen3
from xplus.evaluate import retention as retention_module
from xplus.evaluate.retention import RetentionSettings, load_items, load_summary
from xplus.evaluate.retention_cli import retention
from xplus.evaluate.retention_stats import paired_bootstrap
from xplus.evaluate.retention_tasks import TaskDataError, paper_tasks, resolve_tasks, task_manager
from xplus.pipelines.end_to_end_tasks import TASKS, corpus, gold, write_task_data

from ..conftest import REPO_ROOT

SETTINGS = RetentionSettings(batch_size=8, device="cpu", dtype="float32", max_gen_toks=16)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    """base, tuned (other random weights) and same (a copy of base under another label)."""
    root = tmp_path_factory.mktemp("retention-models")
    base = save_tiny_model(root / "base", corpus())
    tuned = shutil.copytree(base, root / "tuned")
    tiny_qwen3(len(AutoTokenizer.from_pretrained(base)), seed=1).save_pretrained(tuned)
    same = shutil.copytree(base, root / "same")
    return {"base": str(base), "tuned": str(tuned), "same": str(same)}


@pytest.fixture(scope="module")
def run(tmp_path_factory, models) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("retention")
    data = write_task_data(root / "data")
    started = time.perf_counter()
    paths = retention(root / "run", f"base={models['base']}", [f"tuned={models['tuned']}", f"same={models['same']}"],
                      list(TASKS), SETTINGS, data, n_samples=2000)
    print(f"\nretention run, 3 tiny models x {len(TASKS)} tasks: {time.perf_counter() - started:.1f} s")
    return root / "run", data, paths


def normalise(text: str) -> str:
    return text.lower().translate(str.maketrans("", "", string.punctuation)).strip()


def test_lm_eval_accuracy_equals_accuracy_from_saved_items(run):
    """Each item's correctness recomputed from its saved outputs and the dataset's own answer field: the
    argmax of the choices' log-likelihoods, or MGSM's extracted number; their mean is lm-eval's accuracy."""
    out, _, _ = run
    for label in ("base", "tuned"):
        for task in TASKS:
            items = load_items(out, label, task)
            assert len(items) == 6
            correct = []
            for item in items:
                if task.startswith("mgsm"):
                    answer = item["filtered_resps"][0] if isinstance(item["filtered_resps"], list) \
                        else item["filtered_resps"]
                    correct.append(float(normalise(answer) == normalise(gold(task, item["doc"]))))
                else:
                    likelihoods = [pair[0] for pair in item["filtered_resps"]]
                    correct.append(float(int(np.argmax(likelihoods)) == gold(task, item["doc"])))
            assert [item["correct"] for item in items] == correct, (label, task)
            summary = load_summary(out, label, task)
            assert summary["accuracy"] == pytest.approx(np.mean(correct)), (label, task)
            assert summary["results"][summary["metric"]] == summary["accuracy"]
    metrics = {task: load_summary(out, "base", task)["metric"] for task in TASKS}
    assert metrics["mgsm_direct_de"] == "exact_match,flexible-extract" and metrics["xnli_de"] == "acc,none"
    accuracies = [load_summary(out, label, task)["accuracy"] for label in ("base", "tuned") for task in TASKS]
    assert len(set(accuracies)) > 2  # random models, varied answers: not a constant


def test_items_were_rendered_with_the_chat_template_and_thinking_off(run):
    out, _, _ = run
    item = load_items(out, "base", "xnli_de")[0]
    assert item["doc"]["premise"].startswith("Anna") and item["doc"]["label"] == 0
    settings = json.loads((out / "run.json").read_text())
    assert settings["engine"]["enable_thinking"] is False and settings["engine"]["chat_template"] is True
    assert load_summary(out, "base", "xnli_de")["dataset"]["dataset_path"] == "json"
    assert load_summary(out, "base", "xnli_de")["n_shot"] == 0  # lm-eval's default for the task


def test_identical_models_give_delta_zero_and_p_one(run):
    out, _, paths = run
    report = json.loads(paths["json"].read_text())
    for task, row in report["tasks"].items():
        same = row["deltas"]["same"]
        assert same["delta"] == 0 and same["low"] == same["high"] == 0 and same["p_value"] == 1, task
    assert "| model | xnli | mgsm | xstorycloze | xcopa | xwinograd | mean |" in paths["markdown"].read_text()
    assert paths["plot"].stat().st_size > 10_000


def test_bootstrap_interval_covers_a_known_effect():
    """Base answers right with probability 0.6; tuned keeps 90% of those and gets 40% of the others right, so
    its accuracy is 0.6 * 0.9 + 0.4 * 0.4 = 0.70 and the true delta 0.10, with items going both ways. Over 200
    constructed tasks of 400 items the 95% interval covers 0.10 about 95% of the time, and the effect
    (4.4 standard errors) is found nearly always."""
    rng = np.random.default_rng(0)
    covered, found = 0, 0
    for _ in range(200):
        base = rng.random(400) < 0.6
        tuned = np.where(base, rng.random(400) < 0.9, rng.random(400) < 0.4)
        result = paired_bootstrap(base.astype(float), tuned.astype(float), n_samples=1000,
                                  seed=int(rng.integers(1 << 30)))
        covered += result.low <= 0.10 <= result.high
        found += result.p_value < 0.05 and result.delta > 0
    assert 0.91 <= covered / 200 <= 0.99, covered
    assert found >= 190, found


def test_bootstrap_is_symmetric():
    rng = np.random.default_rng(1)
    a, b = (rng.random(300) < 0.5).astype(float), (rng.random(300) < 0.55).astype(float)
    forward, backward = paired_bootstrap(a, b, 4000), paired_bootstrap(b, a, 4000)
    assert forward.delta == -backward.delta
    assert forward.low == pytest.approx(-backward.high) and forward.high == pytest.approx(-backward.low)
    assert forward.p_value == backward.p_value
    same = paired_bootstrap(a, a, 4000)
    assert (same.delta, same.low, same.high, same.p_value) == (0, 0, 0, 1)
    shuffled = paired_bootstrap(a, rng.permutation(a), 4000)  # same accuracy, other items right
    assert shuffled.delta == 0 and shuffled.low < 0 < shuffled.high and shuffled.p_value > 0.95


def test_resume_runs_nothing_finished(run, models, monkeypatch):
    out, data, _ = run
    tasks = resolve_tasks(list(TASKS))
    labels = {"base": models["base"], "tuned": models["tuned"], "same": models["same"]}
    monkeypatch.setattr(retention_module, "load_model", lambda *a: pytest.fail("a finished run loaded a model"))
    assert retention_module.run_retention(out, labels, tasks, SETTINGS, data, log=lambda _: None) == []
    monkeypatch.undo()
    # an interrupt during tuned's xcopa_sw: its summary never written, its items half written
    (out / "models" / "tuned" / "xcopa_sw.json").unlink()
    (out / "models" / "tuned" / "xcopa_sw.jsonl").rename(out / "models" / "tuned" / "xcopa_sw.jsonl.partial")
    before = {p: p.stat().st_mtime_ns for p in (out / "models").rglob("*.json*") if "xcopa_sw" not in p.name}
    ran = retention_module.run_retention(out, labels, tasks, SETTINGS, data, log=lambda _: None)
    assert ran == [("tuned", "xcopa_sw")]
    assert before == {p: p.stat().st_mtime_ns for p in before}
    assert len(load_items(out, "tuned", "xcopa_sw")) == 6


def test_other_settings_into_the_same_run_are_refused(run, models):
    out, data, _ = run
    with pytest.raises(ValueError, match="other settings"):
        retention_module.run_retention(out, {"base": models["base"]}, resolve_tasks(["xnli_de"]),
                                       RetentionSettings(seed=7, device="cpu"), data, log=lambda _: None)


def test_missing_local_data_names_the_task_and_the_files(tmp_path, models):
    data = write_task_data(tmp_path / "data", ("xnli_de",))
    with pytest.raises(TaskDataError, match=r"task xcopa_sw: no local data at .*xcopa_sw/validation.jsonl"):
        retention(tmp_path / "run", models["base"], [models["tuned"]], ["xnli_de", "xcopa_sw"], SETTINGS, data)


def test_hub_task_offline_fails_at_once_naming_it(tmp_path, models, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(TaskDataError, match="task xcopa_sw: its data cannot be loaded"):
        retention(tmp_path / "run", models["base"], [models["tuned"]], ["xcopa_sw"], SETTINGS)


def test_paper_task_set_exists_in_lm_eval():
    names = paper_tasks()
    assert len(names) == 37 and names[:3] == ["xnli_en", "xnli_es", "xnli_fr"]
    assert {"mgsm_direct_bn", "xwinograd_jp", "xcopa_vi", "xstorycloze_te"} <= set(names)
    manager = task_manager(resolve_tasks(["paper"]), [])
    assert set(names) <= set(manager.all_subtasks)


def test_import_evaluate_from_the_repository_root_is_huggingfaces():
    """`python -c` and `python -m pytest` put the working directory first on sys.path: from the repository
    root, `import evaluate` must still be HuggingFace's (lm-eval's dependency), and ours `xplus.evaluate`."""
    code = ("import evaluate, xplus.evaluate, lm_eval.api.metrics; "
            "print(evaluate.__file__); print(xplus.evaluate.__file__); print(hasattr(evaluate, 'load'))")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    lines = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, check=True, capture_output=True,
                           text=True).stdout.split()
    assert "site-packages" in lines[0] and not lines[0].startswith(str(REPO_ROOT / "evaluate"))
    assert lines[1] == str(REPO_ROOT / "evaluate" / "__init__.py") and lines[2] == "True"


def test_retention_help_imports_neither_lm_eval_nor_torch():
    code = ("import sys; from xplus.pipelines.cli import main\ntry: main(['evaluate', 'retention', '--help'])\n"
            "except SystemExit: pass\nprint('lm_eval' in sys.modules, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert "--tuned MODEL" in done.stdout and done.stdout.split()[-2:] == ["False", "False"]


def test_a_hand_written_task_yaml_as_the_readme_shows(tmp_path, models, capsys):
    """The README's offline recipe: a YAML that includes lm-eval's task file and points it at local JSONL,
    passed by path; run through the command line."""
    from xplus.evaluate.retention_tasks import lm_eval_tasks_dir
    from xplus.pipelines.cli import main

    data = write_task_data(tmp_path / "data", ("xnli_de",), n=4)
    task = tmp_path / "my_xnli_de.yaml"
    task.write_text(f"""include: {lm_eval_tasks_dir() / 'xnli' / 'xnli_de.yaml'}
task: xnli_de
dataset_path: json
dataset_name: null
dataset_kwargs: {{data_files: {{train: {data}/xnli_de/train.jsonl, validation: {data}/xnli_de/validation.jsonl}}}}
""")
    code = main(["evaluate", "retention", "--base", f"base={models['base']}", "--tuned", f"same={models['same']}",
                 "--tasks", str(task), "-o", str(tmp_path / "run"), "--device", "cpu", "--offline", "--samples", "500"])
    assert code == 0
    assert "| xnli_de | deu_Latn | 4 |" in capsys.readouterr().out
    assert load_summary(tmp_path / "run", "base", "xnli_de")["dataset"]["dataset_kwargs"]["data_files"]["validation"] \
        == f"{data}/xnli_de/validation.jsonl"


def test_command_line_error_is_one_line(tmp_path, models, capsys):
    from xplus.pipelines.cli import main

    code = main(["evaluate", "retention", "--base", models["base"], "--tuned", models["tuned"], "--tasks",
                 "xnli_de", "-o", str(tmp_path / "run"), "--data-dir", str(tmp_path / "nothing"), "--offline"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("xplus evaluate retention: error: task xnli_de: no local data at ")
