"""Retention reports: the paper's Table 2 layout, per task and language with intervals, a plot, and the one
comparison a user of this recipe needs: translation gain against retention change for each tuned system.

- `markdown`: Table 2 (one row per model, one column per task family: mean accuracy over its languages, with
  the languages significantly better / worse than the base), then every task with base and tuned accuracy,
  delta, 95% interval and p-value.
- `plot_deltas`: per task, each tuned model's delta with its interval (percentage points).
- `translation_vs_retention` + `systems_markdown` + `plot_tradeoff`: translation scores from `xplus evaluate
  translate` runs (mean over directions, each metric) beside mean retention accuracy; the scatter puts the
  translation gain over the base (spBLEU) on x and the retention change (mean accuracy delta) on y.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xplus.evaluate.retention_stats import family_means
from xplus.evaluate.runs import load_scores


def _pp(value: float) -> str:
    return f"{100 * value:+.1f}"


def markdown(comparison: dict) -> str:
    base, tuned = comparison["base"], comparison["tuned"]
    families = family_means(comparison)
    lines = [f"# Retention: {', '.join(tuned)} against {base} (lm-evaluation-harness)", "",
             f"Accuracy in %, mean over each task's languages; (+better / -worse): languages where the paired "
             f"bootstrap ({comparison['samples']} resamples) finds the difference at p < 0.05.", "",
             "| model | " + " | ".join(families) + " | mean |", "|---|" + "---:|" * (len(families) + 1)]
    for label in [base, *tuned]:
        cells = [f"{entry[label]['mean']:.1f}" + ("" if label == base else
                                                   f" (+{entry[label]['better']} / -{entry[label]['worse']})")
                 for entry in families.values()]
        mean = np.mean([entry[label]["mean"] for entry in families.values()])
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {mean:.1f} |")
    lines += ["", "## Per task and language (delta in percentage points, 95% paired bootstrap interval)", "",
              "| task | language | items | " + f"{base} | " + " | ".join(f"{label} | delta [95% CI], p"
                                                                         for label in tuned) + " |",
              "|---|---|---:|---:|" + "---:|---:|" * len(tuned)]
    for task, row in comparison["tasks"].items():
        first = next(iter(row["deltas"].values()))
        cells = [f"{100 * d.tuned:.1f} | {_pp(d.delta)} [{_pp(d.low)}, {_pp(d.high)}], p={d.p_value:.3f}"
                 + ("*" if d.significant else "") for d in row["deltas"].values()]
        lines.append(f"| {task} | {row['language'] or '-'} | {first.items} | {100 * first.base:.1f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_deltas(comparison: dict, path: Path) -> Path:
    """Horizontal bars of each tuned model's delta per task, with the 95% interval as error bars."""
    plt = _pyplot()
    tasks = list(comparison["tasks"])
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.28 * len(tasks) * len(comparison["tuned"])))
    height = 0.8 / len(comparison["tuned"])
    for k, label in enumerate(comparison["tuned"]):
        deltas = [comparison["tasks"][task]["deltas"][label] for task in tasks]
        y = np.arange(len(tasks)) + k * height
        values = np.array([100 * d.delta for d in deltas])
        errors = np.array([[100 * (d.delta - d.low) for d in deltas], [100 * (d.high - d.delta) for d in deltas]])
        ax.barh(y, values, height=height, xerr=errors, label=label, capsize=2, color=f"C{k}")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(np.arange(len(tasks)) + 0.4 - height / 2, tasks, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"accuracy change against {comparison['base']} (percentage points, 95% CI)")
    ax.set_title("Retention per task (lm-evaluation-harness, paired bootstrap over items)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def translation_vs_retention(comparison: dict, runs: dict[str, Path]) -> dict[str, dict]:
    """Per system (base first): mean translation score of each metric over its run's directions, and mean
    retention accuracy over the tasks (percent); gains are differences to the base."""
    labels = [comparison["base"], *comparison["tuned"]]
    missing = [label for label in labels if label not in runs]
    if missing:
        raise ValueError(f"no translation run for {', '.join(missing)} (give one per model, base first)")
    table: dict[str, dict] = {}
    for label in labels:
        scores = load_scores(runs[label])["directions"].values()
        metrics = dict.fromkeys(m for d in scores for m in d["scores"])
        translation = {m: float(np.mean([d["scores"][m] for d in scores if m in d["scores"]])) for m in metrics}
        rows = comparison["tasks"].values()
        accuracy = 100 * float(np.mean([next(iter(r["deltas"].values())).base if label == labels[0]
                                        else r["deltas"][label].tuned for r in rows]))
        table[label] = {"run": str(runs[label]), "translation": translation, "retention": accuracy}
    base = table[labels[0]]
    for entry in table.values():
        entry["translation_gain"] = {m: v - base["translation"].get(m, np.nan) for m, v in entry["translation"].items()}
        entry["retention_change"] = entry["retention"] - base["retention"]
    return table


def systems_markdown(table: dict[str, dict]) -> str:
    metrics = list(dict.fromkeys(m for entry in table.values() for m in entry["translation"]))
    lines = ["## Translation and retention side by side", "",
             "Translation: mean over the run's directions; retention: mean accuracy (%) over the tasks.", "",
             "| system | " + " | ".join(metrics) + " | retention | retention change |",
             "|---|" + "---:|" * (len(metrics) + 2)]
    for label, entry in table.items():
        cells = [f"{entry['translation'].get(m, np.nan):.2f} ({entry['translation_gain'].get(m, np.nan):+.2f})"
                 for m in metrics]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {entry['retention']:.1f} | "
                     f"{entry['retention_change']:+.1f} |")
    return "\n".join(lines) + "\n"


def plot_tradeoff(table: dict[str, dict], path: Path, metric: str | None = None) -> Path:
    """Scatter: translation gain over the base (x, `metric`: spBLEU, else the runs' first metric) against
    retention change (y); the base at 0, 0."""
    plt = _pyplot()
    available = list(next(iter(table.values()))["translation"])
    metric = metric or ("spbleu" if "spbleu" in available else available[0])
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for k, (label, entry) in enumerate(table.items()):
        x, y = entry["translation_gain"].get(metric, np.nan), entry["retention_change"]
        ax.scatter([x], [y], s=50, color=f"C{k}", zorder=3)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"translation gain over the base ({metric}, mean over directions)")
    ax.set_ylabel("retention change (accuracy points, mean over tasks)")
    ax.set_title("Better translation, kept skills? (top right is what the recipe wants)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
