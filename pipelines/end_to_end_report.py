"""The toy end-to-end run's scores, tables and plots.

Toy scores are marked as such everywhere: **toy BLEU** is sacrebleu's BLEU with `tokenize="none"` over the
pieces of a SentencePiece model trained on the toy's own chats. It is what spBLEU does with FLORES-200's
model, which is not available offline; its signature says `toy-spm|...|tok:none`, never `tok:flores200`, and
it is kept out of the evaluation runs' scores.json (which hold only real metrics: chrF++, and xCOMET with a
tiny random checkpoint, named by its path). `readme_table` renders the README's walkthrough table from a run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TOY_BLEU = "toy BLEU (BLEU over a toy SentencePiece model's pieces; not spBLEU)"
LABELS = {"before": "before training", "layer-selective": "layer-selective", "full": "full fine-tuning"}
METRIC_LABELS = {"toy-bleu": TOY_BLEU, "chrf++": "chrF++", "xcomet": "xCOMET (tiny random checkpoint)",
                 "retention": "retention (toy lm-eval items, mean accuracy %)"}


def train_toy_spm(lines: list[str], folder: Path, vocab_size: int = 2000) -> Path:
    """A SentencePiece model (unigram) trained on `lines`: the toy stand-in for FLORES-200's spBLEU model."""
    import sentencepiece

    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "spm-train.txt"
    text.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    sentencepiece.SentencePieceTrainer.train(input=str(text), model_prefix=str(folder / "toy-spm"),
                                             vocab_size=vocab_size, hard_vocab_limit=False, minloglevel=2,
                                             character_coverage=1.0, num_threads=1)
    return folder / "toy-spm.model"


def toy_bleu(eval_dir: Path, spm_model: Path) -> tuple[dict[str, float], str]:
    """Toy BLEU of every direction of an evaluation run (its cached translations), and its signature."""
    import sentencepiece
    from sacrebleu.metrics import BLEU

    from xplus.evaluate.runs import load_scores, load_segments

    pieces = sentencepiece.SentencePieceProcessor(model_file=str(spm_model))
    bleu, scores = BLEU(tokenize="none"), {}
    for direction in load_scores(eval_dir)["directions"]:
        rows = load_segments(eval_dir, direction)
        hyps, refs = ([" ".join(pieces.encode(row[key], out_type=str)) for row in rows] for key in ("hyp", "ref"))
        scores[direction] = bleu.corpus_score(hyps, [refs]).score
    return scores, f"toy-spm:{spm_model.name}|{bleu.get_signature()}"


def score_table(eval_dirs: dict[str, Path], spm_model: Path) -> tuple[dict, dict]:
    """{model: {direction | "mean": {metric: score}}} from the runs' scores.json plus toy BLEU; and signatures."""
    from xplus.evaluate.runs import load_scores

    table, signatures = {}, {}
    for name, eval_dir in eval_dirs.items():
        scores = load_scores(eval_dir)
        bleu, signatures["toy-bleu"] = toy_bleu(eval_dir, spm_model)
        rows = {d: {"toy-bleu": bleu[d], **entry["scores"]} for d, entry in scores["directions"].items()}
        metrics = list(next(iter(rows.values())))
        rows["mean"] = {m: float(np.mean([row[m] for row in rows.values()])) for m in metrics}
        table[name] = rows
        signatures.update({m: value.get("signature", value.get("model")) for m, value in scores["metrics"].items()})
    return table, signatures


def comparison_table(table: dict, metrics: list[str]) -> str:
    """Markdown: one row per model and direction (and the mean), one column per metric."""
    directions = list(next(iter(table.values())))
    rows = ["| model | direction | " + " | ".join(METRIC_LABELS[m] for m in metrics) + " |",
            "|---|---|" + "---:|" * len(metrics)]
    for name, per_direction in table.items():
        for direction in directions:
            cells = [f"{per_direction[direction].get(m, float('nan')):.2f}" for m in metrics]
            rows.append(f"| {LABELS[name]} | {direction} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def readme_table(summary: dict) -> str:
    """The README walkthrough's table: per model the mean over directions of each metric, and retention."""
    metrics = summary["metrics"]
    retention = summary.get("retention", {}).get("accuracy", {})
    columns = [METRIC_LABELS[m] for m in metrics] + ([METRIC_LABELS["retention"]] if retention else [])
    lines = ["| model | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, rows in summary["scores"].items():
        cells = [f"{rows['mean'][m]:.2f}" for m in metrics] + ([f"{retention[name]:.1f}"] if retention else [])
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metrics(table: dict, metrics: list[str], path: Path) -> Path:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        values = [table[name]["mean"].get(metric, 0.0) for name in table]
        bars = ax.bar([LABELS[n] for n in table], values, color=["#999999", "#1f77b4", "#ff7f0e"][:len(table)])
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.set_title(METRIC_LABELS[metric], fontsize=9)
        ax.set_ylabel("mean over directions")
        ax.tick_params(axis="x", labelsize=8, rotation=15)
    fig.suptitle("Toy end-to-end: held-out pairs (toy models and toy BLEU, not the paper's numbers)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def read_losses(train_dir: Path) -> list[dict]:
    path = Path(train_dir) / "train_log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def plot_losses(logs: dict[str, list[dict]], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, rows in logs.items():
        ax.plot([r["global_step"] for r in rows], [r["loss"] for r in rows], label=LABELS[name], linewidth=1)
        for x in [r["global_step"] for r in rows if r["step"] == 1 and r["stage"] > 1]:
            ax.axvline(x - 0.5, color="#1f77b4", linestyle=":", linewidth=0.8)
    ax.set_xlabel("optimizer step (dotted: next layer-selective stage)")
    ax.set_ylabel("assistant-token loss")
    ax.set_title("Training loss, same chats and steps budget (toy Qwen3, random init)", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def render_markdown(summary: dict) -> str:
    data, curation, model = summary["data"], summary["curation"], summary["model"]
    lines = [
        "# Toy end-to-end run: curate -> train -> evaluate", "",
        "Real data, **toy models**: this shows the recipe's mechanics, not the paper's numbers.", "",
        f"- data: {data['source']} ({data['origin']}), {data['curation_lines']} lines curated; evaluation on "
        f"{data['evaluation_pairs']} {data['evaluation_set']}",
        f"- curation: {curation['input']} pairs in, {curation['output']} out ({curation['chat_records']} chats), "
        f"{curation['rejected']} rejected; steps {', '.join(curation['steps'])}; accounting "
        f"{'OK' if curation['reconciles'] else 'FAILED'}; loss step scored by a {summary['loss_scorer']}",
        f"- model: {model['architecture']}, {model['layers']} layers, hidden {model['hidden_size']}, vocabulary "
        f"{model['vocab_size']}; learning rate {model['learning_rate']:g} (random init, not the paper's 1e-5)",
        *(f"- {name}: " + ", then ".join(f"{s['spec']} (layers {s['layer_ranges']}, {s['trainable_parameters']:,} "
                                         f"trainable, loss {s['first_loss']:.2f} -> {s['last_loss']:.2f})"
                                         for s in t["stages"])
          + f"; {t['optimizer_steps']} optimizer steps" for name, t in summary["training"].items()),
        "", readme_table(summary), "", comparison_table(summary["scores"], summary["metrics"]), "",
        f"{TOY_BLEU}: signature `{summary['signatures'].get('toy-bleu')}`.",
        *(f"\nNOTICE: {n}" for n in summary["notices"]), "",
        "Timings (s): " + ", ".join(f"{k} {v}" for k, v in summary["timings_s"].items()), "",
    ]
    return "\n".join(lines)
