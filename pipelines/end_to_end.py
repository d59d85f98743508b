"""`xplus end-to-end toy`: the whole Qwen3-XPlus recipe, curate -> train -> evaluate, on real data, on a CPU,
in a few minutes. It proves the mechanics, not the paper's numbers: every model here is a toy.

1. **Curate** real bitext (TICO-19 en-sw, CC0: `$XPLUS_SHARED_DATA` or `../shared/data` when present, else
   the 300 pairs bundled with the package) with all six steps through the recipe machinery
   (`pipelines/recipes/toy-end-to-end.yaml` -> `parse_recipe` -> `Recipe.stages` -> `run_stages`), after
   holding out pairs that curation and training never see: an evaluation set and a calibration set, written
   in the FLORES layout (`heldout/devtest/`, `heldout/dev/`). The loss step scores with a tiny NLLB-style
   seq2seq trained on the fly on the training split (a **toy scorer, not NLLB**), calibrated at the 90th
   percentile of its loss on the held-out calibration pairs; decontamination removes every training pair that
   shares a sentence or a long n-gram with the held-out pairs; templating writes the chats.
2. **Train** a tiny Qwen3-architecture model (random init, a byte-level BPE of small vocabulary trained on the
   curated chats) with `xplus.train`: layer-selective in two stages (bottom, then top layers; embeddings,
   final norm and lm_head frozen, as in the paper) and the full fine-tuning baseline on the same chats with the
   same number of optimizer steps. The learning rate is far above the paper's 1e-5: the model starts from
   random weights, not from an instruct model, and has minutes, not GPU-days.
3. **Evaluate** the model before training, after layer-selective and after full fine-tuning on the held-out
   pairs with `xplus.evaluate` (BenchMAX's prompt, the chat template with thinking off, greedy decoding):
   spBLEU with a SentencePiece model trained on the toy data and placed where sacrebleu looks, in a private
   $SACREBLEU folder of this run (offline there is no FLORES-200 SentencePiece model; the metric is labelled
   "toy spBLEU"), chrF++, and xCOMET with a tiny random checkpoint through the isolated comet environment
   when that environment exists (otherwise a visible notice says it was skipped).
4. **Compare**: the table (before / layer-selective / full) printed and written as `comparison.md` and
   `comparison.json`, with `metrics.png` (bar chart) and `loss_curves.png` (both methods' training loss).

Layout of the output folder: `data/` (training split of the source), `heldout/` (FLORES-layout held-out
pairs), `curate/` (a complete curation run: funnel, rejects, report), `models/` (toy scorer, base model,
layer-selective, full), `eval/<model>/` (translations, scores), `sacrebleu/` (the toy spBLEU model),
`comparison.*`, `*.png`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

TOY_SPBLEU = "toy spBLEU (SPM trained on the toy data)"
TOY_SCORER = "toy seq2seq scorer (tiny M2M100/NLLB architecture trained on the fly; NOT NLLB)"
MODELS = ("before", "layer-selective", "full")
LABELS = {"before": "before training", "layer-selective": "layer-selective", "full": "full fine-tuning"}
METRIC_LABELS = {"spbleu": TOY_SPBLEU, "chrf++": "chrF++", "xcomet": "xCOMET (tiny random checkpoint)"}
EN, SW = "eng_Latn", "swh_Latn"
TICO = ("tico19", "eng-swa", "tico19-test")


def default_data() -> tuple[Path, str]:
    """The TICO-19 en-sw folder to read: `$XPLUS_SHARED_DATA` or `../shared/data` when present (2,100 pairs),
    else the package's bundled sample (300 pairs)."""
    for root in (os.environ.get("XPLUS_SHARED_DATA"), Path.cwd().parent / "shared" / "data"):
        if root and (Path(root) / "bitext" / TICO[0] / TICO[1]).is_dir():
            return Path(root) / "bitext" / TICO[0] / TICO[1], "shared"
    from xplus.pipelines.recipe import bundled_data

    return bundled_data() / TICO[0] / TICO[1], "bundled"


def read_moses(folder: Path, stem: str = TICO[2]) -> tuple[list[str], list[str]]:
    english = (folder / f"{stem}.eng").read_text(encoding="utf-8").split("\n")
    swahili = (folder / f"{stem}.swa").read_text(encoding="utf-8").split("\n")
    if english and english[-1] == "" and swahili and swahili[-1] == "":
        english, swahili = english[:-1], swahili[:-1]
    if len(english) != len(swahili):
        raise ValueError(f"{folder}: {len(english)} English lines but {len(swahili)} Swahili lines")
    return english, swahili


def split_pairs(english: list[str], swahili: list[str], eval_pairs: int, calib_pairs: int, seed: int,
                max_train_pairs: int | None = None) -> tuple[list[int], list[int], list[int]]:
    """Line indices (evaluation, calibration, training). Held-out pairs are drawn at random among non-empty
    pairs whose sentences occur once in the source; the training split keeps every other line (empty ones
    too: the cleaner drops them) in file order."""
    counts: dict[str, int] = {}
    for text in english + swahili:
        counts[text.strip()] = counts.get(text.strip(), 0) + 1
    candidates = [i for i, (e, s) in enumerate(zip(english, swahili, strict=True))
                  if e.strip() and s.strip() and counts[e.strip()] == 1 and counts[s.strip()] == 1]
    random.Random(seed).shuffle(candidates)
    if len(candidates) < eval_pairs + calib_pairs + 50:
        raise ValueError(f"only {len(candidates)} usable pairs: too few to hold out {eval_pairs} + {calib_pairs}")
    evaluation, calibration = sorted(candidates[:eval_pairs]), sorted(candidates[eval_pairs:eval_pairs + calib_pairs])
    held = set(evaluation) | set(calibration)
    training = [i for i in range(len(english)) if i not in held][:max_train_pairs]
    return evaluation, calibration, training


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- 1. curation ---------------------------------------------------------------------------------------------


def load_toy_recipe(train_folder: Path, flores: Path, scorer: Path) -> tuple[Any, dict]:
    """The bundled `toy-end-to-end` recipe pointed at this run's training split, held-out folder and toy scorer,
    validated by `parse_recipe` like any recipe file."""
    from xplus.pipelines.recipe import parse_recipe

    origin = Path(str(files("xplus.pipelines").joinpath("recipes", "toy-end-to-end.yaml")))
    data = yaml.safe_load(origin.read_text(encoding="utf-8"))
    data["sources"][0]["path"] = str(train_folder)
    data["sources"][0]["src_suffix"], data["sources"][0]["tgt_suffix"] = "eng", "swa"
    data["flores"] = str(flores)
    data["steps"]["loss"] = {**(data["steps"].get("loss") or {}), "model": str(scorer)}
    return parse_recipe(data, str(origin)), data


def curate(run_dir: Path, train_folder: Path, flores: Path, scorer: Path, log) -> dict:
    """Run the toy recipe into `run_dir`; return its funnel (checked), thresholds and outputs."""
    from xplus.curate.accounting import run_funnel
    from xplus.curate.report import RunReport
    from xplus.pipelines.executors import ExecutorOptions, run_stages
    from xplus.pipelines.run import merge_thresholds

    recipe, data = load_toy_recipe(train_folder, flores, scorer)
    for notice in recipe.notices:
        log(f"NOTICE: {notice}")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    run_stages(recipe.stages(run_dir), run_dir, ExecutorOptions(executor="local", workers=1))
    funnel = run_funnel(run_dir).check()
    merge_thresholds(run_dir)
    report = RunReport(run_dir).write()
    thresholds_path = run_dir / "loss_thresholds.json"
    blocks = [{"name": b.name, "in": b.total, "out": b.forwarded, "dropped": b.dropped, "reasons": b.reasons,
               **({"records_out": b.records_out} if b.records_out is not None else {})} for b in funnel.blocks]
    return {
        "recipe": str(run_dir / "recipe.yaml"), "steps": list(recipe.steps), "notices": recipe.notices,
        "input": funnel.input, "output": funnel.output, "rejected": funnel.rejected,
        "chat_records": funnel.expander.records_out if funnel.expander else 0,
        "reconciles": not funnel.problems(), "blocks": blocks, "table": funnel.table(),
        "loss_scorer": TOY_SCORER, "loss_model": str(scorer),
        "loss_thresholds": json.loads(thresholds_path.read_text()) if thresholds_path.is_file() else {},
        "chats": str(run_dir / "output" / "chat-messages"), "report": str(report),
    }


def chat_texts(chats: Path) -> list[str]:
    """Every message of the curated chats (what the toy tokenizer is trained on)."""
    texts = []
    for path in sorted(chats.rglob("*.jsonl*")):
        opener = __import__("gzip").open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                texts += [m["content"] for m in json.loads(line)["messages"]]
    return texts


# --- 3. spBLEU offline ------------------------------------------------------------------------------------------


def train_toy_spm(lines: list[str], folder: Path, vocab_size: int = 2000) -> Path:
    """A SentencePiece model (unigram) trained on `lines`: the stand-in for FLORES-200's spBLEU model."""
    import sentencepiece

    folder.mkdir(parents=True, exist_ok=True)
    text = write_lines(folder / "spm-train.txt", lines)
    sentencepiece.SentencePieceTrainer.train(input=str(text), model_prefix=str(folder / "toy-spm"),
                                             vocab_size=vocab_size, hard_vocab_limit=False, minloglevel=2,
                                             character_coverage=1.0, num_threads=1)
    return folder / "toy-spm.model"


@contextlib.contextmanager
def private_sacrebleu(folder: Path, spm_model: Path) -> Iterator[Path]:
    """sacrebleu looks for its flores200 model in `folder/models/` while inside (the toy model placed there);
    downloads are refused, $SACREBLEU and sacrebleu's module setting are restored after."""
    from sacrebleu.tokenizers import tokenizer_spm

    from xplus.evaluate.metrics import spm_model_path

    saved = (os.environ.get("SACREBLEU"), tokenizer_spm.SACREBLEU_DIR, tokenizer_spm.download_file)

    def refuse(url: str, dest_path: str) -> None:
        raise OSError(f"the toy end-to-end run does not download sacrebleu models ({url})")

    os.environ["SACREBLEU"] = str(folder)
    tokenizer_spm.SACREBLEU_DIR, tokenizer_spm.download_file = str(folder), refuse
    try:
        target = spm_model_path("flores200")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spm_model, target)
        yield target
    finally:
        if saved[0] is None:
            os.environ.pop("SACREBLEU", None)
        else:
            os.environ["SACREBLEU"] = saved[0]
        tokenizer_spm.SACREBLEU_DIR, tokenizer_spm.download_file = saved[1], saved[2]


def evaluate_model(model_dir: Path, eval_dir: Path, flores: Path, directions: list, limit: int | None,
                   max_new_tokens: int, batch_size: int) -> dict:
    """Translate the held-out pairs with `model_dir` through `xplus.evaluate` and score them (spBLEU, chrF++)."""
    from xplus.curate.prompts import BENCHMAX_PROMPT
    from xplus.evaluate.flores import FloresSource
    from xplus.evaluate.generate import HFGenerator
    from xplus.evaluate.runs import load_flores, score_run, translate_run, write_settings

    source = FloresSource(str(flores), "devtest")
    segments = load_flores(source, directions, limit)
    write_settings(eval_dir, {"model": str(model_dir), "flores": source.describe(), "backend": "hf",
                              "prompt": BENCHMAX_PROMPT,
                              "decoding": {"greedy": True, "max_new_tokens": max_new_tokens}})
    generate = HFGenerator.load(str(model_dir), device="cpu", dtype="float32", batch_size=batch_size,
                                max_new_tokens=max_new_tokens)
    translations = translate_run(eval_dir, generate, generate.tokenizer, segments, directions)
    scores = score_run(eval_dir, translations, ["spbleu", "chrf++"])
    return {"scores": scores, "translations": translations}


def tiny_xcomet(out_dir: Path, comet_env: Path | None, texts: list[str], log) -> tuple[Path | None, str | None]:
    """Build a tiny random XCOMET with the comet environment's python when that environment is ready; else
    (None, why)."""
    from xplus.evaluate.comet.env import default_env_path, env_python, is_ready

    env = Path(comet_env) if comet_env else default_env_path()
    if not is_ready(env):
        return None, (f"xCOMET skipped: the isolated comet environment {env} does not exist or is incomplete "
                      f"(create it with `xplus evaluate setup-comet --path {env}`, or pass --comet-env)")
    from xplus.pipelines.toy_models import toy_xcomet_command

    text = write_lines(out_dir / "xcomet-spm.txt", texts)
    done = subprocess.run(toy_xcomet_command(env_python(env), out_dir / "tiny-xcomet", text), capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        return None, f"xCOMET skipped: building the tiny XCOMET checkpoint failed: {done.stderr[-2000:]}"
    log(f"tiny random XCOMET checkpoint built in {out_dir / 'tiny-xcomet'} (scores are not meaningful)")
    return out_dir / "tiny-xcomet", None


def add_xcomet(results: dict[str, dict], model: Path, env: Path | None) -> None:
    """xCOMET segment scores of every evaluated model in one call to the comet environment (one model load);
    corpus score = mean x 100, stored next to spBLEU and chrF++ and per segment in `xcomet.jsonl`."""
    from xplus.evaluate.comet.client import xcomet_scores
    from xplus.evaluate.comet.env import default_env_path

    order = [(name, d, row) for name, result in results.items() for d, rows in result["translations"].items()
             for row in rows]
    scores = xcomet_scores([{"src": row["src"], "mt": row["hyp"], "ref": row["ref"]} for _, _, row in order],
                           str(model), Path(env) if env else default_env_path(), batch_size=16)
    grouped: dict[tuple[str, str], list[float]] = {}
    for (name, d, _), score in zip(order, scores, strict=True):
        grouped.setdefault((name, d.name), []).append(score)
    for (name, direction), values in grouped.items():
        results[name]["scores"]["directions"][direction]["scores"]["xcomet"] = 100 * sum(values) / len(values)
        segments = results[name]["eval_dir"] / "xcomet.jsonl"
        with open(segments, "a", encoding="utf-8") as handle:
            for i, value in enumerate(values):
                handle.write(json.dumps({"direction": direction, "i": i, "model": str(model), "score": value}) + "\n")


# --- 4. comparison ---------------------------------------------------------------------------------------------


def comparison_table(table: dict[str, dict[str, dict[str, float]]], metrics: list[str]) -> str:
    """Markdown: one row per model and direction (and the mean over directions), one column per metric."""
    directions = list(next(iter(table.values())))
    header = "| model | direction | " + " | ".join(METRIC_LABELS[m] for m in metrics) + " |"
    rows = [header, "|---|---|" + "---:|" * len(metrics)]
    for name, per_direction in table.items():
        for direction in directions:
            cells = [f"{per_direction[direction].get(m, float('nan')):.2f}" for m in metrics]
            rows.append(f"| {LABELS[name]} | {direction} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def plot_metrics(table: dict[str, dict[str, dict[str, float]]], metrics: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    names = list(table)
    colors = ["#999999", "#1f77b4", "#ff7f0e"]
    for ax, metric in zip(axes[0], metrics, strict=True):
        values = [table[name]["mean"].get(metric, 0.0) for name in names]
        bars = ax.bar([LABELS[n] for n in names], values, color=colors[: len(names)])
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.set_title(METRIC_LABELS[metric], fontsize=9)
        ax.tick_params(axis="x", labelsize=8, rotation=15)
    fig.suptitle("Toy end-to-end: held-out pairs, mean over directions (toy models, not the paper's)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def read_losses(train_dir: Path) -> list[dict]:
    path = train_dir / "train_log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def plot_losses(logs: dict[str, list[dict]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, rows in logs.items():
        ax.plot([r["global_step"] for r in rows], [r["loss"] for r in rows], label=LABELS[name], linewidth=1)
        starts = [r["global_step"] for r in rows if r["step"] == 1 and r["stage"] > 1]
        for x in starts:
            ax.axvline(x - 0.5, color="#1f77b4", linestyle=":", linewidth=0.8)
    ax.set_xlabel("optimizer step (dotted: next layer-selective stage)")
    ax.set_ylabel("assistant-token loss")
    ax.set_title("Training loss, same chats and steps budget (toy Qwen3, random init)", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- the run -------------------------------------------------------------------------------------------------


def run_end_to_end(
    output_dir: str | Path,
    data: str | Path | None = None,
    flores: str | Path | None = None,
    *,
    eval_pairs: int = 100,
    calib_pairs: int = 100,
    max_train_pairs: int | None = None,
    directions: tuple[str, ...] = ("en-sw", "sw-en"),
    scorer_steps: int = 200,
    layers: int = 6,
    hidden_size: int = 128,
    init_std: float = 0.1,
    vocab_size: int = 500,
    stages: tuple[str, ...] = ("bottom:2", "top:3"),
    epochs_per_stage: int = 1,
    max_train_chats: int | None = 2000,
    learning_rate: float = 1e-2,
    batch_size: int = 16,
    max_length: int = 160,
    max_new_tokens: int = 64,
    xcomet: bool = True,
    comet_env: str | Path | None = None,
    seed: int = 0,
    threads: int = 1,
    overwrite: bool = False,
    quiet: bool = False,
) -> dict:
    """Curate, train (layer-selective and full) and evaluate toy models into `output_dir`; return the comparison
    (also written as `comparison.json`). `data`: a TICO-19-like Moses folder (`tico19-test.eng/.swa`), default
    `default_data()`. `flores`: a real FLORES-200 folder to evaluate on (devtest), calibrate on (dev) and
    decontaminate against instead of the held-out pairs. `threads`: torch intra-op threads (tiny matrices run
    fastest on one)."""
    import torch

    from xplus.evaluate.flores import Direction
    from xplus.pipelines.toy_models import build_toy_seq2seq, save_toy_causal_lm, train_toy_seq2seq
    from xplus.train.config import Stage, TrainConfig
    from xplus.train.trainer import train

    def log(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    out = Path(output_dir).resolve()
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty: pass overwrite=True (--overwrite) to start again")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    saved_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    notices: list[str] = []
    try:
        # 0. data: hold out evaluation and calibration pairs before anything reads the source
        clock = time.perf_counter()
        source, origin = (Path(data), "given") if data else default_data()
        english, swahili = read_moses(source)
        evaluation, calibration, training = split_pairs(english, swahili, eval_pairs, calib_pairs, seed,
                                                        max_train_pairs)
        train_folder = out / "data" / "tico19-en-sw"
        write_lines(train_folder / "tico19-train.eng", [english[i] for i in training])
        write_lines(train_folder / "tico19-train.swa", [swahili[i] for i in training])
        if flores:
            heldout = Path(flores).resolve()
            notices.append(f"evaluating on real FLORES-200 devtest ({heldout}); its text is not copied")
        else:
            heldout = out / "heldout"
            for split, rows in (("devtest", evaluation), ("dev", calibration)):
                write_lines(heldout / split / f"{EN}.{split}", [english[i] for i in rows])
                write_lines(heldout / split / f"{SW}.{split}", [swahili[i] for i in rows])
        log(f"data: {source} ({origin}): {len(english)} lines -> {len(training)} for curation, "
            f"{len(evaluation)} held out for evaluation, {len(calibration)} for the loss calibration")

        # 1. the toy loss scorer, trained on the fly on the (non-empty) training split
        train_pairs = [(english[i], swahili[i]) for i in training if english[i].strip() and swahili[i].strip()]
        scorer = out / "models" / "toy-scorer-NOT-nllb"
        build_toy_seq2seq(scorer, [t for pair in train_pairs for t in pair], vocab_size=600, d_model=64,
                          init_std=0.1, seed=seed)
        scorer_losses = train_toy_seq2seq(scorer, train_pairs, EN, SW, steps=scorer_steps, seed=seed)
        timings["data + toy scorer"] = time.perf_counter() - clock
        log(f"{TOY_SCORER}: {scorer_steps} steps, loss {scorer_losses[0]:.2f} -> {scorer_losses[-1]:.2f}")

        clock = time.perf_counter()
        curation = curate(out / "curate", train_folder, heldout, scorer, log)
        timings["curation"] = time.perf_counter() - clock
        log(f"\n## Curation funnel ({timings['curation']:.1f} s)\n\n{curation['table']}\n")

        # 2. training: base model, layer-selective (two stages), full fine-tuning (same steps budget)
        clock = time.perf_counter()
        texts = chat_texts(Path(curation["chats"]))
        base = save_toy_causal_lm(out / "models" / "base", texts, "qwen3", vocab_size=vocab_size,
                                  num_layers=layers, hidden_size=hidden_size, seed=seed,
                                  initializer_range=init_std)
        common = dict(model=str(base), data=curation["chats"], learning_rate=learning_rate,
                      min_lr=learning_rate / 10, warmup_ratio=0.03, per_device_batch_size=batch_size,
                      gradient_accumulation_steps=1, max_length=max_length, bf16=False, logging_steps=1,
                      report_to=[], seed=seed, max_samples=max_train_chats)
        configs = {
            "layer-selective": TrainConfig(output_dir=str(out / "models" / "layer-selective"),
                                           method="layer-selective",
                                           stages=[Stage(spec, epochs_per_stage) for spec in stages], **common),
            "full": TrainConfig(output_dir=str(out / "models" / "full"), method="full",
                                stages=[Stage("all", epochs_per_stage * len(stages))], **common),
        }
        records = {}
        for name, config in configs.items():
            log(f"training {name} (lr {learning_rate:g}: far above the paper's 1e-5, the toy model starts from "
                f"random weights)")
            tic = time.perf_counter()
            records[name] = train(config)
            timings[f"train {name}"] = time.perf_counter() - tic
        timings["training"] = time.perf_counter() - clock

        # 3. evaluation of the three models on the held-out pairs
        clock = time.perf_counter()
        wanted = [Direction.parse(d) for d in directions]
        spm = train_toy_spm(texts, out / "sacrebleu" / "train")
        models = {"before": base, "layer-selective": out / "models" / "layer-selective",
                  "full": out / "models" / "full"}
        results: dict[str, dict] = {}
        with private_sacrebleu(out / "sacrebleu", spm):
            for name, model_dir in models.items():
                eval_dir = out / "eval" / name
                results[name] = {**evaluate_model(model_dir, eval_dir, heldout, wanted,
                                                  eval_pairs if flores else None, max_new_tokens, 32),
                                 "eval_dir": eval_dir}
        metrics = ["spbleu", "chrf++"]
        if xcomet:
            checkpoint, why = tiny_xcomet(out / "models", comet_env, texts[:2000], log)
            if checkpoint is None:
                notices.append(why)
            else:
                add_xcomet(results, checkpoint, comet_env)
                metrics.append("xcomet")
        else:
            notices.append("xCOMET skipped: turned off (xcomet=False / --no-xcomet)")
        timings["evaluation"] = time.perf_counter() - clock

        # 4. the comparison
        table: dict[str, dict[str, dict[str, float]]] = {}
        for name, result in results.items():
            per_direction = {d: dict(v["scores"]) for d, v in result["scores"]["directions"].items()}
            per_direction["mean"] = {m: sum(v[m] for v in per_direction.values()) / len(per_direction)
                                     for m in metrics}
            table[name] = per_direction
            (result["eval_dir"] / "scores.json").write_text(json.dumps(result["scores"], indent=2,
                                                                       ensure_ascii=False) + "\n")
        logs = {name: read_losses(Path(config.output_dir)) for name, config in configs.items()}
        plots = [plot_metrics(table, metrics, out / "metrics.png"), plot_losses(logs, out / "loss_curves.png")]
        timings["total"] = time.perf_counter() - started
        examples = {name: [{k: row[k] for k in ("src", "ref", "hyp")} for row in
                           next(iter(result["translations"].values()))[:3]] for name, result in results.items()}
        summary = {
            "what": "toy end-to-end run of the Qwen3-XPlus recipe: real data, toy models (mechanics, not the "
                    "paper's numbers)",
            "data": {"source": str(source), "origin": origin, "lines": len(english), "curation_lines": len(training),
                     "evaluation_pairs": len(evaluation) if not flores else eval_pairs,
                     "evaluation_set": "real FLORES-200 devtest" if flores else
                     "held-out TICO-19 pairs (FLORES layout, never curated or trained on)",
                     "calibration_pairs": len(calibration), "heldout": str(heldout)},
            "curation": {k: v for k, v in curation.items() if k != "table"},
            "training": {
                name: {"method": name, "stages": [{k: s[k] for k in ("spec", "layer_ranges", "epochs",
                                                                     "trainable_parameters", "first_loss",
                                                                     "last_loss")} for s in records[name]["stages"]],
                       "total_parameters": records[name]["total_parameters"],
                       "optimizer_steps": len(logs[name]), "seconds": timings[f"train {name}"],
                       "learning_rate": learning_rate, "model": str(configs[name].output_dir)}
                for name in configs},
            "model": {"architecture": "Qwen3ForCausalLM (random init)", "layers": layers, "hidden_size": hidden_size,
                      "vocab_size": vocab_size, "tokenizer": "byte-level BPE trained on the curated chats"},
            "learning_rate_note": f"{learning_rate:g} instead of the paper's 1e-5: random init, minutes of CPU",
            "metrics": {m: METRIC_LABELS[m] for m in metrics},
            "scores": table,
            "examples": examples,
            "notices": notices,
            "timings_s": {k: round(v, 1) for k, v in timings.items()},
            "files": {"comparison_md": str(out / "comparison.md"), "comparison_json": str(out / "comparison.json"),
                      "plots": [str(p) for p in plots], "curation_report": curation["report"]},
        }
        markdown = render_markdown(summary, table, metrics)
        (out / "comparison.md").write_text(markdown, encoding="utf-8")
        (out / "comparison.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        log("\n" + markdown)
        return summary
    finally:
        torch.set_num_threads(saved_threads)


def render_markdown(summary: dict, table: dict, metrics: list[str]) -> str:
    training = summary["training"]
    curation = summary["curation"]
    lines = [
        "# Toy end-to-end run: curate -> train -> evaluate",
        "",
        "Real data, **toy models**: this shows the recipe's mechanics, not the paper's numbers.",
        "",
        f"- data: {summary['data']['source']} ({summary['data']['origin']}), {summary['data']['curation_lines']} "
        f"lines curated; evaluation on {summary['data']['evaluation_pairs']} "
        f"{summary['data']['evaluation_set']}",
        f"- curation: {curation['input']} pairs in, {curation['output']} out ({curation['chat_records']} chats), "
        f"{curation['rejected']} rejected; steps {', '.join(curation['steps'])}; accounting "
        f"{'OK' if curation['reconciles'] else 'FAILED'}; loss step scored by a {TOY_SCORER}",
        f"- model: {summary['model']['architecture']}, {summary['model']['layers']} layers, hidden "
        f"{summary['model']['hidden_size']}, vocabulary {summary['model']['vocab_size']}; "
        f"{summary['learning_rate_note']}",
        *(f"- {name}: " + ", then ".join(f"{s['spec']} (layers {s['layer_ranges']}, {s['trainable_parameters']:,} "
                                         f"trainable, loss {s['first_loss']:.2f} -> {s['last_loss']:.2f})"
                                         for s in t["stages"])
          + f"; {t['optimizer_steps']} optimizer steps, {t['seconds']:.0f} s" for name, t in training.items()),
        "",
        comparison_table(table, metrics),
        "",
        f"{TOY_SPBLEU}: sacrebleu's spBLEU with a SentencePiece model trained on the curated chats and placed as "
        "sacrebleu's flores200 model in this run's private $SACREBLEU folder; not comparable with published spBLEU.",
        *(f"\nNOTICE: {n}" for n in summary["notices"]),
        "",
        "Timings (s): " + ", ".join(f"{k} {v}" for k, v in summary["timings_s"].items()),
        "",
    ]
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------------------------


def add_parser(groups: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The `end-to-end` group of the root `xplus` command, with its `toy` recipe."""
    group = groups.add_parser("end-to-end", help="curate -> train -> evaluate in one recipe",
                              description="Run the whole recipe end to end.")
    commands = group.add_subparsers(dest="command", metavar="{toy}", required=True)
    toy = commands.add_parser(
        "toy", help="the toy end-to-end recipe on CPU in minutes (real data, toy models)",
        description="Curate real TICO-19 en-sw (all six steps, a toy loss scorer trained on the fly), train a tiny "
                    "random Qwen3 layer-selectively and fully, evaluate before/after on held-out pairs, and write "
                    "comparison.md/json and plots.")
    toy.add_argument("-o", "--output", type=Path, default=Path("xplus-runs/toy-end-to-end"), help="output folder")
    toy.add_argument("--data", type=Path, help="TICO-19-like Moses folder (tico19-test.eng/.swa); default: "
                                               "$XPLUS_SHARED_DATA or ../shared/data, else the bundled sample")
    toy.add_argument("--flores", type=Path, help="a FLORES-200 folder to evaluate on instead of held-out pairs")
    toy.add_argument("--comet-env", type=Path, help="the isolated xCOMET environment (default: $XPLUS_COMET_ENV "
                                                    "or ~/.cache/xplus/comet-venv); skipped when it does not exist")
    toy.add_argument("--no-xcomet", action="store_true", help="skip xCOMET")
    toy.add_argument("--epochs-per-stage", type=int, default=1)
    toy.add_argument("--learning-rate", type=float, default=1e-2)
    toy.add_argument("--threads", type=int, default=1, help="torch threads (tiny models: 1 is fastest)")
    toy.add_argument("--seed", type=int, default=0)
    toy.add_argument("--overwrite", action="store_true", help="delete an existing output folder first")
    toy.set_defaults(func=run_toy)
    return group


def run_toy(args: argparse.Namespace) -> int:
    try:
        run_end_to_end(args.output, args.data, args.flores, comet_env=args.comet_env, xcomet=not args.no_xcomet,
                       epochs_per_stage=args.epochs_per_stage, learning_rate=args.learning_rate,
                       threads=args.threads, seed=args.seed, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as err:
        print(f"xplus end-to-end toy: error: {err}", file=sys.stderr)
        return 1
    return 0
