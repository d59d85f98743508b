"""`xplus evaluate retention`: the base model and tuned models on lm-evaluation-harness tasks, compared.

The flags of `RetentionSettings` (how every model is evaluated) are made from its fields by
`xplus.curate.config_flags`, their help from `SETTINGS_FLAGS`. Nothing heavy at the top: `xplus --help` builds
this parser without importing lm-eval or torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from xplus.curate.config_flags import add_config_flags, config_from_args
from xplus.evaluate.retention import RetentionSettings

#: the help of each `RetentionSettings` field's flag
SETTINGS_FLAGS = {
    "batch_size": {"help": "items per model call", "metavar": "N"},
    "device": {"help": "cuda, cpu, ... (default: cuda when available)"},
    "dtype": {"help": "model dtype (default: the checkpoint's)"},
    "seed": {"help": "lm-eval's seeds (python, numpy, torch, few-shot sampling)"},
    "num_fewshot": {"help": "override every task's few-shot count (default: lm-eval's)", "metavar": "N"},
    "limit": {"help": "only the first N items of each task (smoke tests)", "metavar": "N"},
    "max_gen_toks": {"help": "tokens a generation task (MGSM) may write per answer", "metavar": "N"},
}


def add_retention_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "retention",
        help="did tuning keep the base model's skills? lm-eval tasks on base and tuned models, paired deltas",
        description="Run lm-evaluation-harness tasks on a base model and tuned models with identical settings "
        "(chat template, thinking off, lm-eval's few-shot defaults, fixed seed, batched), save every item's "
        "output (a rerun resumes: finished (model, task) pairs are never run again), and report per task and "
        "language each model's accuracy, the delta with a 95%% paired bootstrap interval and its p-value "
        "(retention.md/json, retention.png). With --translation runs, also translation against retention "
        "(in retention.md, and tradeoff.png).",
    )
    parser.add_argument("--base", required=True, metavar="MODEL", help="the base model ([LABEL=]path or Hub id)")
    parser.add_argument("--tuned", required=True, action="append", metavar="MODEL",
                        help="a tuned model ([LABEL=]path or Hub id); repeat for several")
    parser.add_argument("--tasks", nargs="+", default=["paper"], metavar="TASK",
                        help="`paper` (XNLI, MGSM, XStoryCloze, XCOPA, XWinograd for the recipe languages), lm-eval "
                        "task names or task YAML files, space- or comma-separated (default: paper)")
    parser.add_argument("-o", "--output", type=Path, default=Path("xplus-runs/retention"), metavar="DIR",
                        help="run folder (default: xplus-runs/retention)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="local task data: DIR/<task>/<split>.jsonl in each task's own fields (offline)")
    parser.add_argument("--offline", action="store_true",
                        help="never reach the Hub (also on with HF_HUB_OFFLINE / HF_DATASETS_OFFLINE set)")
    parser.add_argument("--translation", nargs="+", type=Path, metavar="RUN",
                        help="`xplus evaluate translate` runs of the same models, base first: translation beside "
                        "retention and tradeoff.png")
    add_config_flags(parser, RetentionSettings, overrides=SETTINGS_FLAGS)
    parser.add_argument("--samples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    parser.set_defaults(func=run_retention_command)
    return parser


def run_retention_command(args: argparse.Namespace) -> int:
    """Run (or resume) the evaluation, compare, write the reports; expected failures are one line, exit 1."""
    if args.offline:
        import os

        os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
    from xplus.evaluate.retention_tasks import TaskDataError

    settings = config_from_args(RetentionSettings, args)
    try:
        paths = retention(args.output, args.base, args.tuned, args.tasks, settings, args.data_dir,
                          args.translation, args.samples)
    except (TaskDataError, OSError, ValueError, KeyError, ImportError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"xplus evaluate retention: error: {message}", file=sys.stderr)
        return 1
    print((paths["markdown"]).read_text(encoding="utf-8"))
    print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0


def retention(out_dir: Path, base: str, tuned: list[str], tasks: list[str], settings, data_dir: Path | None = None,
              translation: list[Path] | None = None, n_samples: int = 10_000, log=print) -> dict[str, Path]:
    """The whole command as a function (the end-to-end toy calls it): evaluate, compare, write the reports."""
    from xplus.evaluate import retention_report as report
    from xplus.evaluate.retention import model_label, run_retention
    from xplus.evaluate.retention_stats import compare_retention, to_json
    from xplus.evaluate.retention_tasks import resolve_tasks

    models = dict(model_label(spec) for spec in [base, *tuned])
    if len(models) != 1 + len(tuned):
        raise ValueError("two models share a label: name them with LABEL=MODEL")
    if translation and len(translation) != len(models):
        raise ValueError(f"--translation needs one run per model ({len(models)}, base first), got {len(translation)}")
    refs = resolve_tasks(tasks)
    out_dir = Path(out_dir)
    run_retention(out_dir, models, refs, settings, data_dir, log)
    labels = list(models)
    comparison = compare_retention(out_dir, labels[0], labels[1:], [ref.name for ref in refs], n_samples)
    text = report.markdown(comparison)
    paths = {"markdown": out_dir / "retention.md", "json": out_dir / "retention.json",
             "plot": report.plot_deltas(comparison, out_dir / "retention.png")}
    payload = to_json(comparison)
    if translation:
        table = report.translation_vs_retention(comparison, dict(zip(labels, translation, strict=True)))
        text += "\n" + report.systems_markdown(table)
        payload["systems"] = table
        paths["tradeoff"] = report.plot_tradeoff(table, out_dir / "tradeoff.png")
    paths["markdown"].write_text(text, encoding="utf-8")
    paths["json"].write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths
