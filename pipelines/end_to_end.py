"""`xplus end-to-end toy`: the whole Qwen3-XPlus recipe, curate -> train -> evaluate -> retention, on real data,
on a CPU, in minutes. It proves the mechanics, not the paper's numbers: every model here is a toy.

The run is a small config (`end_to_end_config.ToyConfig`) and phases (`end_to_end_phases`) that call what a
user calls: the recipe machinery of `xplus curate run`, `xplus.train.train`, and the commands
`xplus evaluate translate`, `xplus evaluate compare` and `xplus evaluate retention` themselves.

0. **Data**: real TICO-19 en-sw (CC0; `$XPLUS_SHARED_DATA`, else `../shared/data` next to the checkout, else
   the 300 bundled pairs); evaluation and calibration pairs are held out first, in FLORES layout
   (`heldout/devtest`, `heldout/dev`).
1. **Toy loss scorer**: a tiny M2M100 trained on the fly for a fixed number of steps (NOT NLLB).
2. **Curation**: the bundled `toy-end-to-end` recipe, all six steps; the funnel must reconcile.
3. **Training**: a random tiny Qwen3, layer-selective (two stages) and full fine-tuning, same steps.
4. **Evaluation**: `xplus evaluate translate` for each model (chrF++; xCOMET with a tiny random checkpoint
   when the comet environment exists), `xplus evaluate compare` (paired bootstrap), and toy BLEU (see
   `end_to_end_report`: clearly not spBLEU).
5. **Retention**: `xplus evaluate retention` on toy items of the paper's five lm-eval task families
   (local files, offline), with translation against retention (`retention/tradeoff.png`).

Output folder: `data/`, `heldout/`, `curate/`, `models/`, `eval/<model>/` (standard evaluation runs),
`compare/`, `retention/`, `toy-spm/`, `comparison.md`, `comparison.json`, `metrics.png`, `loss_curves.png`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, fields
from pathlib import Path

from xplus.pipelines.end_to_end_config import TOY_TASKS, ToyConfig

TOY_SCORER = "toy seq2seq scorer (tiny M2M100/NLLB architecture trained on the fly; NOT NLLB)"


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


@contextlib.contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    clock = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - clock, 1)


def fresh_output(output_dir: str | Path, overwrite: bool) -> Path:
    out = Path(output_dir).resolve()
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty: pass overwrite=True (--overwrite) to start again")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def evaluate_models(out: Path, models: dict[str, Path], heldout: Path, texts: list[str], config: ToyConfig,
                    comet_env: Path | None, limit: int | None) -> tuple[dict, dict, list[str]]:
    """Phase 4: translate and score every model, compare them, add toy BLEU. Returns (table, signatures,
    notices)."""
    from xplus.pipelines.end_to_end_phases import tiny_xcomet, translate, xplus
    from xplus.pipelines.end_to_end_report import score_table, train_toy_spm

    xcomet, notices = None, []
    if config.xcomet:
        xcomet, why = tiny_xcomet(out / "models", comet_env, texts[:2000])
        notices += [why] if why else []
    else:
        notices.append("xCOMET skipped: turned off (xcomet=False / --no-xcomet)")
    eval_dirs = {name: out / "eval" / name for name in models}
    for name, model in models.items():
        translate(eval_dirs[name], model, heldout, config, limit, xcomet, comet_env)
    xplus("evaluate", "compare", *eval_dirs.values(), "-o", out / "compare", "--samples", "1000")
    table, signatures = score_table(eval_dirs, train_toy_spm(texts, out / "toy-spm"))
    return table, signatures, notices


def retention_step(out: Path, models: dict[str, Path], config: ToyConfig) -> dict:
    """Phase 5: `xplus evaluate retention` on toy task items (local files, offline), translation beside it."""
    from xplus.pipelines.end_to_end_phases import xplus
    from xplus.pipelines.end_to_end_tasks import write_task_data

    folder = out / "retention"
    data = write_task_data(folder / "data", TOY_TASKS, config.retention_items)
    tuned = [arg for name in list(models)[1:] for arg in ("--tuned", f"{name}={models[name]}")]
    xplus("evaluate", "retention", "--base", f"before={models['before']}", *tuned, "--tasks", *TOY_TASKS,
          "-o", folder, "--data-dir", data, "--offline", "--device", "cpu", "--dtype", "float32",
          "--batch-size", "16", "--samples", "2000", "--translation", *(out / "eval" / name for name in models))
    report = json.loads((folder / "retention.json").read_text(encoding="utf-8"))
    return {"tasks": list(TOY_TASKS), "items_per_task": config.retention_items, "folder": str(folder),
            "accuracy": {name: entry["retention"] for name, entry in report["systems"].items()},
            "families": report["families"], "plot": str(folder / "retention.png"),
            "tradeoff": str(folder / "tradeoff.png")}


def run_end_to_end(output_dir: str | Path, data: str | Path | None = None, flores: str | Path | None = None,
                   config: ToyConfig | None = None, comet_env: str | Path | None = None, overwrite: bool = False,
                   quiet: bool = False) -> dict:
    """Run every phase into `output_dir`; return the summary (also `comparison.json`). `data`: a TICO-19-like
    Moses folder (`tico19-test.eng/.swa`); `flores`: a real FLORES-200 folder to evaluate on instead of the
    held-out pairs."""
    from xplus.pipelines import end_to_end_phases as phases

    config = config or ToyConfig()
    log = (lambda message: None) if quiet else (lambda message: print(message, flush=True))
    out, timings = fresh_output(output_dir, overwrite), {}
    env = Path(comet_env) if comet_env else None
    with torch_threads(config.threads), timed(timings, "total"):
        with timed(timings, "data + toy scorer"):
            split = phases.hold_out(out, Path(data) if data else None, Path(flores) if flores else None, config)
            scorer, scorer_losses = phases.train_scorer(out, split, config)
        with timed(timings, "curation"):
            curation = phases.curate(out / "curate", split, scorer)
        log(f"\n## Curation funnel\n\n{curation['table']}\n")
        with timed(timings, "training"):
            texts = phases.chat_texts(Path(curation["chats"]))
            base, trained = phases.train_models(out, curation["chats"], texts, config)
        models = {"before": base, **{name: Path(train_config.output_dir) for name, (train_config, _) in
                                     trained.items()}}
        with timed(timings, "evaluation"):
            table, signatures, notices = evaluate_models(out, models, split.heldout, texts, config, env,
                                                         config.eval_pairs if flores else None)
        with timed(timings, "retention"):
            retention = retention_step(out, models, config) if config.retention else {}
    summary = build_summary(out, split, curation, trained, table, signatures, notices, config, timings)
    summary.update(retention=retention, scorer_losses=[scorer_losses[0], scorer_losses[-1]])
    return write_outputs(out, summary, trained, table, log)


def build_summary(out: Path, split, curation: dict, trained: dict, table: dict, signatures: dict,
                  notices: list[str], config: ToyConfig, timings: dict) -> dict:
    from xplus.pipelines.end_to_end_report import METRIC_LABELS, read_losses

    metrics = [m for m in METRIC_LABELS if m in table["before"]["mean"]]
    stage_keys = ("spec", "layer_ranges", "epochs", "trainable_parameters", "first_loss", "last_loss")
    training = {name: {"method": name, "stages": [{k: s[k] for k in stage_keys} for s in record["stages"]],
                       "total_parameters": record["total_parameters"],
                       "optimizer_steps": len(read_losses(Path(train_config.output_dir))),
                       "model": train_config.output_dir}
                for name, (train_config, record) in trained.items()}
    return {
        "what": "toy end-to-end run of the Qwen3-XPlus recipe: real data, toy models (mechanics, not the paper's "
                "numbers)",
        "config": asdict(config),
        "data": {"source": str(split.source), "origin": split.origin, "lines": split.lines,
                 "curation_lines": split.train_lines, "evaluation_pairs": split.evaluation,
                 "evaluation_set": "held-out TICO-19 pairs (FLORES layout, never curated or trained on)",
                 "calibration_pairs": split.calibration, "heldout": str(split.heldout)},
        "curation": {k: v for k, v in curation.items() if k != "table"},
        "loss_scorer": TOY_SCORER,
        "training": training,
        "model": {"architecture": "Qwen3ForCausalLM (random init)", "layers": config.layers,
                  "hidden_size": config.hidden_size, "vocab_size": config.vocab_size,
                  "learning_rate": config.learning_rate, "tokenizer": "byte-level BPE trained on the curated chats"},
        "metrics": metrics, "metric_labels": {m: METRIC_LABELS[m] for m in metrics}, "signatures": signatures,
        "scores": table, "notices": notices, "timings_s": timings,
        "files": {"comparison_md": str(out / "comparison.md"), "comparison_json": str(out / "comparison.json"),
                  "compare": str(out / "compare" / "compare.md"), "curation_report": curation["report"]},
    }


def write_outputs(out: Path, summary: dict, trained: dict, table: dict, log) -> dict:
    from xplus.pipelines.end_to_end_report import plot_losses, plot_metrics, read_losses, render_markdown

    logs = {name: read_losses(Path(train_config.output_dir)) for name, (train_config, _) in trained.items()}
    summary["files"]["plots"] = [str(plot_metrics(table, summary["metrics"], out / "metrics.png")),
                                 str(plot_losses(logs, out / "loss_curves.png"))]
    markdown = render_markdown(summary)
    (out / "comparison.md").write_text(markdown, encoding="utf-8")
    (out / "comparison.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    log("\n" + markdown)
    return summary


# --- command line ----------------------------------------------------------------------------------------------


def add_parser(groups: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The `end-to-end` group of the root `xplus` command, with its `toy` recipe (flags: ToyConfig's fields)."""
    group = groups.add_parser("end-to-end", help="curate -> train -> evaluate in one recipe",
                              description="Run the whole recipe end to end.")
    commands = group.add_subparsers(dest="command", metavar="{toy}", required=True)
    toy = commands.add_parser(
        "toy", help="the toy end-to-end recipe on CPU in minutes (real data, toy models)",
        description="Curate real TICO-19 en-sw (all six steps, a toy loss scorer trained on the fly), train a tiny "
                    "random Qwen3 layer-selectively and fully, evaluate before/after on held-out pairs, measure "
                    "retention on toy lm-eval items, and write comparison.md/json and plots.")
    toy.add_argument("-o", "--output", type=Path, default=Path("xplus-runs/toy-end-to-end"), metavar="DIR",
                     help="output folder")
    toy.add_argument("--data", type=Path, help="TICO-19-like Moses folder (tico19-test.eng/.swa); default: "
                                               "$XPLUS_SHARED_DATA or ../shared/data, else the bundled sample")
    toy.add_argument("--flores", type=Path, help="a FLORES-200 folder to evaluate on instead of held-out pairs")
    toy.add_argument("--comet-env", type=Path, help="the isolated xCOMET environment (default: $XPLUS_COMET_ENV "
                                                    "or ~/.cache/xplus/comet-venv); skipped when it does not exist")
    toy.add_argument("--no-xcomet", action="store_true", help="skip xCOMET")
    toy.add_argument("--no-retention", action="store_true", help="skip the lm-eval retention step")
    for name in ("epochs_per_stage", "learning_rate", "threads", "seed"):
        field = next(f for f in fields(ToyConfig) if f.name == name)
        toy.add_argument(f"--{name.replace('_', '-')}", type=type(field.default), default=field.default,
                         help=f"ToyConfig.{name} (default {field.default})")
    toy.add_argument("--overwrite", action="store_true", help="delete an existing output folder first")
    toy.set_defaults(func=run_toy)
    return group


def run_toy(args: argparse.Namespace) -> int:
    config = ToyConfig(xcomet=not args.no_xcomet, retention=not args.no_retention,
                       epochs_per_stage=args.epochs_per_stage, learning_rate=args.learning_rate,
                       threads=args.threads, seed=args.seed)
    try:
        run_end_to_end(args.output, args.data, args.flores, config, comet_env=args.comet_env,
                       overwrite=args.overwrite)
    except (FileExistsError, ValueError, RuntimeError) as err:
        print(f"xplus end-to-end toy: error: {err}", file=sys.stderr)
        return 1
    return 0
