"""Reports of a run's scores: per direction, per language in the paper's Table 1 layout, and heatmaps.

Table 1 layout: one row per non-English language L, and for each metric three columns,

- en->x: the score of English -> L,
- x->en: the score of L -> English,
- x->y: the mean over the non-English directions *into* L (Y -> L for every other non-English Y), so each
  column measures the language on one side of the direction, as en->x does for the target,

and a last row `avg`, the mean over the languages (equal to the mean over all directions of the group).
A cell is empty where the run has no such direction.

Written as `report.md`, `report.csv` (one row per direction and metric: the long format spreadsheets and
pandas read), `report.json` (directions and table), and `heatmap-<metric>.png`: the source x target matrix.
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path
from statistics import mean

from xplus.evaluate.flores import ENGLISH

GROUPS = ("en->x", "x->en", "x->y")
METRIC_ORDER = ("spbleu", "spbleu-flores101", "bleu", "chrf++", "xcomet")


def metrics_of(scores: dict) -> list[str]:
    present = {name for d in scores["directions"].values() for name in d["scores"]}
    return [name for name in METRIC_ORDER if name in present] + sorted(present - set(METRIC_ORDER))


def languages_of(scores: dict) -> list[str]:
    """Every language of the run, in first-seen order, English first."""
    seen = dict.fromkeys(code for d in scores["directions"].values() for code in (d["src"], d["tgt"]))
    return sorted(seen, key=lambda code: code != ENGLISH)


def table1(scores: dict) -> dict[str, dict[str, dict[str, float | None]]]:
    """{language or 'avg': {metric: {group: score or None}}} as described in the module docstring."""
    by_pair = {(d["src"], d["tgt"]): d["scores"] for d in scores["directions"].values()}
    languages = [code for code in languages_of(scores) if code != ENGLISH]
    table: dict[str, dict[str, dict[str, float | None]]] = {}
    for metric in metrics_of(scores):
        for lang in languages:
            cells = {
                "en->x": [by_pair.get((ENGLISH, lang), {}).get(metric)],
                "x->en": [by_pair.get((lang, ENGLISH), {}).get(metric)],
                "x->y": [s.get(metric) for (src, tgt), s in by_pair.items() if tgt == lang and src != ENGLISH],
            }
            table.setdefault(lang, {})[metric] = {g: _mean(v) for g, v in cells.items()}
        table.setdefault("avg", {})[metric] = {
            g: _mean([table[lang][metric][g] for lang in languages]) for g in GROUPS
        }
    return table


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return mean(present) if present else None


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def markdown(scores: dict) -> str:
    metrics, table = metrics_of(scores), table1(scores)
    settings = scores.get("settings", {})
    lines = [f"# FLORES evaluation: {settings.get('model', '?')}", ""]
    if "flores" in settings:
        flores = settings["flores"]
        lines += [f"FLORES: {flores['location']} ({flores['split']}, revision {flores.get('revision') or 'local'})",
                  ""]
    lines += ["Metrics:", ""]
    for name, info in scores.get("metrics", {}).items():
        lines.append(f"- {name}: " + ", ".join(f"{k} `{v}`" for k, v in info.items()))
    header = ["language", *(f"{m} {g}" for m in metrics for g in GROUPS)]
    lines += ["", "## Per language (Table 1 layout; x->y = mean over directions into the language)", "",
              _row(header), _row(["---", *["---:"] * (len(header) - 1)])]
    for lang, row in table.items():
        lines.append(_row([lang, *(_cell(row[m][g]) for m in metrics for g in GROUPS)]))
    lines += ["", "## Per direction", "", _row(["direction", "group", "segments", *metrics]),
              _row(["---", "---", "---:", *["---:"] * len(metrics)])]
    for name, d in scores["directions"].items():
        lines.append(_row([name, d["group"], str(d["segments"]), *(_cell(d["scores"].get(m)) for m in metrics)]))
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def heatmap_figure(scores: dict, metric: str):
    """The source (rows) x target (columns) matrix of one metric, each cell's score to one decimal; missing
    directions are blank. The title (metric and model) wraps to the figure's width."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    languages = languages_of(scores)
    index = {code: k for k, code in enumerate(languages)}
    matrix = np.full((len(languages), len(languages)), np.nan)
    for d in scores["directions"].values():
        if metric in d["scores"]:
            matrix[index[d["src"]], index[d["tgt"]]] = d["scores"][metric]
    size = 2.0 + 0.6 * len(languages)
    figure, axes = plt.subplots(figsize=(size + 1.5, size + 0.6), layout="constrained")
    image = axes.imshow(matrix, cmap="viridis")
    short = [code.split("_")[0] for code in languages]
    labels = short if len(set(short)) == len(short) else languages  # zho_Hans and zho_Hant stay apart
    axes.set_xticks(range(len(languages)), labels, rotation=90)
    axes.set_yticks(range(len(languages)), labels)
    axes.set_xlabel("target language")
    axes.set_ylabel("source language")
    title = f"{metric}: {scores.get('settings', {}).get('model', '')}"
    axes.set_title(textwrap.fill(title, width=max(20, int(7 * (size + 1.5))), break_on_hyphens=False), fontsize=9)
    middle = np.nanmean(matrix) if not np.isnan(matrix).all() else 0.0
    for (row, col), value in np.ndenumerate(matrix):
        if not np.isnan(value):  # dark text on the bright (high) end of viridis, white on the dark end
            axes.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=7,
                      color="black" if value > middle else "white")
    figure.colorbar(image, ax=axes, label=metric)
    return figure


def heatmap(scores: dict, metric: str, path: Path) -> Path:
    """`heatmap_figure` saved as a PNG."""
    import matplotlib.pyplot as plt

    figure = heatmap_figure(scores, metric)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_reports(scores: dict, out_dir: Path) -> list[Path]:
    """report.md, report.csv, report.json and one heatmap per metric, in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.md", out_dir / "report.csv", out_dir / "report.json"]
    written[0].write_text(markdown(scores), encoding="utf-8")
    with open(written[1], "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["direction", "src", "tgt", "group", "segments", "metric", "score"])
        for name, d in scores["directions"].items():
            for metric, value in d["scores"].items():
                writer.writerow([name, d["src"], d["tgt"], d["group"], d["segments"], metric, f"{value:.4f}"])
    payload = {**scores, "table1": table1(scores)}
    written[2].write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written += [heatmap(scores, metric, out_dir / f"heatmap-{metric}.png") for metric in metrics_of(scores)]
    return written
