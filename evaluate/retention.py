"""A retention run: lm-evaluation-harness tasks on a base model and its tuned versions, with identical settings.

Did tuning for translation keep the base model's other skills (the paper's Table 2)? Every model answers every
task through lm-eval's own engine (`lm_eval.simple_evaluate`, its task definitions and metrics), with:

- the model's chat template, thinking off (`enable_thinking=False`; for Qwen3 the template opens the answer with
  an empty think block, and `think_end_token="</think>"` drops any thinking a model still writes, so a `<think>`
  block is never scored as an answer), as our translation evaluation does;
- lm-eval's few-shot count of each task unless `num_fewshot` says otherwise; fixed seeds (python, numpy, torch,
  few-shot sampling); batched; greedy decoding where the task generates (lm-eval's task `generation_kwargs`).

Layout of the run folder:

- `run.json`: the settings; a rerun with other settings into the same folder is refused.
- `models/<label>/model.json`: the model (path or Hub id) behind the label.
- `models/<label>/<task>.jsonl`: one row per item `{doc_id, doc, target, resps, filtered_resps, correct, ...}`
  for the task's primary metric; `models/<label>/<task>.json`: lm-eval's results for the task, the primary
  metric and its accuracy. The `.json` is written last: a (model, task) with one is finished and never run again,
  so an interrupted run resumes where it stopped.
- `tasks/<task>.yaml`: the task files made for `--data-dir` (lm-eval's task, local data).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from xplus.evaluate.retention_tasks import TaskDataError, TaskRef, local_task_yaml, task_manager
from xplus.evaluate.runs import write_settings

#: the metric a task's accuracy is read from, in order of preference (lm-eval's `metric,filter` keys):
#: generation tasks (MGSM) take the number extracted from the answer, as chat models write words around it
PRIMARY_METRICS = ("acc,none", "exact_match,flexible-extract", "exact_match,remove_whitespace",
                   "exact_match,none")
THINK_END = "</think>"


@dataclass(frozen=True)
class RetentionSettings:
    """How every model is evaluated (recorded in run.json; the same for all models of a run)."""

    batch_size: int = 8
    device: str = "auto"
    dtype: str = "auto"
    seed: int = 1234
    num_fewshot: int | None = None
    limit: int | None = None
    max_gen_toks: int = 256


def model_label(spec: str) -> tuple[str, str]:
    """`LABEL=MODEL` or `MODEL` (labelled by its last path part) -> (label, model)."""
    label, sep, model = spec.partition("=")
    if sep and label and "/" not in label:
        return label, model
    return Path(spec.rstrip("/")).name or spec, spec


def go_offline() -> None:
    """No Hub access: datasets and huggingface_hub fail at once instead of retrying (env for subprocesses, and
    the modules' flags in case they were imported already)."""
    os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
    import datasets.config
    import huggingface_hub.constants

    datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = True
    huggingface_hub.constants.HF_HUB_OFFLINE = True


def is_offline() -> bool:
    return any(os.environ.get(key, "").lower() in ("1", "true", "yes") for key in ("HF_HUB_OFFLINE",
                                                                                   "HF_DATASETS_OFFLINE"))


def finished(out_dir: Path, label: str, task: str) -> bool:
    return (Path(out_dir) / "models" / label / f"{task}.json").is_file()


def run_retention(
    out_dir: Path, models: dict[str, str], tasks: list[TaskRef], settings: RetentionSettings = RetentionSettings(),
    data_dir: Path | None = None, log: Callable[[str], None] = print,
) -> list[tuple[str, str]]:
    """Evaluate every model on every task into `out_dir`, skipping finished (model, task) pairs; returns the
    pairs this call ran. A model is loaded only when one of its tasks is unfinished."""
    out_dir = Path(out_dir)
    write_settings(out_dir, {"settings": asdict(settings), "engine": _engine()})
    for label, model in models.items():
        _check_model(out_dir, label, model)
    todo = [(label, ref) for label in models for ref in tasks if not finished(out_dir, label, ref.name)]
    if not todo:
        log(f"retention: all {len(models) * len(tasks)} (model, task) pairs already finished in {out_dir}")
        return []
    if is_offline():
        go_offline()
    specs = _task_specs(tasks, out_dir, data_dir)
    ran = []
    for label, model in models.items():
        mine = [ref for lab, ref in todo if lab == label]
        if not mine:
            continue
        lm = load_model(model, settings)
        for ref in mine:
            clock = time.perf_counter()
            evaluate_task(lm, ref, specs, out_dir / "models" / label, settings)
            log(f"retention: {label} {ref.name} done in {time.perf_counter() - clock:.1f} s")
            ran.append((label, ref.name))
        del lm
    return ran


def _engine() -> dict:
    import importlib.metadata as md

    return {"lm_eval": md.version("lm_eval"), "chat_template": True, "enable_thinking": False,
            "think_end_token": THINK_END}


def _check_model(out_dir: Path, label: str, model: str) -> None:
    path = out_dir / "models" / label / "model.json"
    if path.is_file():
        recorded = json.loads(path.read_text(encoding="utf-8"))["model"]
        if recorded != model:
            raise ValueError(f"{path}: label {label!r} is {recorded}, not {model}: use another label (LABEL=MODEL)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": model}) + "\n", encoding="utf-8")


def _task_specs(tasks: list[TaskRef], out_dir: Path, data_dir: Path | None) -> tuple:
    """(TaskManager, {task: name or YAML path to load}); with `data_dir`, lm-eval's tasks read local files."""
    manager = task_manager(tasks, [ref.yaml_path.parent for ref in tasks if ref.yaml_path])
    specs = {ref.name: str(ref.yaml_path) if ref.yaml_path else ref.name for ref in tasks}
    if data_dir is not None:
        for ref in tasks:
            if ref.yaml_path is None:
                specs[ref.name] = str(local_task_yaml(manager, ref.name, Path(data_dir), out_dir / "tasks"))
    return manager, specs


def load_model(model: str, settings: RetentionSettings):
    """lm-eval's HF model: chat template with thinking off, `</think>` ends any thinking it still writes."""
    import torch
    from lm_eval.models.huggingface import HFLM

    device = settings.device if settings.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    return HFLM(pretrained=model, batch_size=settings.batch_size, device=device, dtype=settings.dtype,
                enable_thinking=False, think_end_token=THINK_END)


def evaluate_task(lm, ref: TaskRef, specs: tuple, model_dir: Path, settings: RetentionSettings) -> dict:
    """Run one task with lm-eval and write its per-item rows, then its summary (the completion mark)."""
    import lm_eval

    manager, names = specs
    seeds = dict(random_seed=settings.seed, numpy_random_seed=settings.seed, torch_random_seed=settings.seed,
                 fewshot_random_seed=settings.seed)
    try:
        output = lm_eval.simple_evaluate(
            model=lm, tasks=[names[ref.name]], task_manager=manager, num_fewshot=settings.num_fewshot,
            limit=settings.limit, log_samples=True, apply_chat_template=True, bootstrap_iters=0,
            gen_kwargs={"max_gen_toks": settings.max_gen_toks}, **seeds)
    except (OSError, ConnectionError) as err:  # datasets' offline and missing-file errors are OSErrors
        raise TaskDataError(f"task {ref.name}: its data cannot be loaded ({type(err).__name__}: {err}); offline, "
                            "point it at local files with --data-dir or a task YAML (see README)") from err
    results = output["results"][ref.name]
    metric = next((key for key in PRIMARY_METRICS if key in results), None)
    if metric is None:
        raise ValueError(f"task {ref.name}: none of the metrics {', '.join(PRIMARY_METRICS)} in its results")
    name, _, filter_name = metric.partition(",")
    rows = [_item_row(sample, name) for sample in output["samples"][ref.name] if sample["filter"] == filter_name]
    summary = {"task": ref.name, "family": ref.family, "language": ref.language, "metric": metric,
               "accuracy": results[metric], "items": len(rows), "n_shot": output["n-shot"].get(ref.name),
               "results": results, "dataset": _dataset(output["configs"][ref.name])}
    _write_atomic(model_dir / f"{ref.name}.jsonl",
                  "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows))
    _write_atomic(model_dir / f"{ref.name}.json", json.dumps(summary, indent=1, ensure_ascii=False, default=str))
    return summary


def _item_row(sample: dict, metric: str) -> dict:
    keys = ("doc_id", "doc_hash", "prompt_hash", "doc", "target", "resps", "filtered_resps")
    return {**{key: sample.get(key) for key in keys}, "correct": float(sample[metric])}


def _dataset(config: dict) -> dict:
    return {key: config.get(key) for key in ("dataset_path", "dataset_name", "dataset_kwargs", "test_split",
                                             "validation_split")}


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def load_items(out_dir: Path, label: str, task: str) -> list[dict]:
    """The per-item rows of a finished (model, task), in doc_id order."""
    path = Path(out_dir) / "models" / label / f"{task}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return sorted(rows, key=lambda row: row["doc_id"])


def load_summary(out_dir: Path, label: str, task: str) -> dict:
    path = Path(out_dir) / "models" / label / f"{task}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {label} has not finished {task} (rerun to resume)")
    return json.loads(path.read_text(encoding="utf-8"))
