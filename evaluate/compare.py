"""Runs side by side, with paired bootstrap significance against the first run (the baseline).

The paper reports no significance tests; this says whether a difference per direction is more than the
luck of which sentences FLORES happens to hold. Both tests resample the same sentence indices for every
system (paired), 1,000 times by default, with sacrebleu's seed ($SACREBLEU_SEED, default 12345):

- sacrebleu metrics (spBLEU, BLEU, chrF++): sacrebleu's own `PairedTest(test_type="bs")`, the Moses
  `bootstrap-hypothesis-difference-significance.pl` test, on the cached hypotheses and references.
- xCOMET: the same test over segment scores (the corpus score is their mean), with sacrebleu's p-value:
  p = (#{resampled |difference|, centred, > observed |difference|} + 1) / (samples + 1).

A difference is marked significant at p < 0.05. A run scoring exactly the baseline's score gets p = 1: the
bootstrap rule would give it the smallest p, 1 / (samples + 1), since no centred resampled difference
exceeds an observed difference of 0. Only the directions every run has are compared, and runs
must hold the same sentences (same references) for them.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sacrebleu.significance import PairedTest

from xplus.evaluate.metrics import build_metric
from xplus.evaluate.report import GROUPS, metrics_of
from xplus.evaluate.runs import XCOMET, load_scores, load_segments

ALPHA = 0.05


@dataclass(frozen=True)
class Cell:
    """One run's score for one direction and metric; delta and p against the baseline (None for it)."""

    score: float
    delta: float | None = None
    p_value: float | None = None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


def _seed() -> int | None:
    seed = os.environ.get("SACREBLEU_SEED", "12345")
    return None if seed.lower() == "none" else int(seed)


def bootstrap_mean_p_value(baseline: list[float], system: list[float], n_samples: int = 1000) -> float:
    """Paired bootstrap p-value of the difference of the means of two paired score lists (sacrebleu's test)."""
    base, other = np.asarray(baseline, dtype=float), np.asarray(system, dtype=float)
    indices = np.random.default_rng(_seed()).choice(len(base), size=(n_samples, len(base)), replace=True)
    observed = abs(other.mean() - base.mean())
    sample_diffs = np.abs(other[indices].mean(axis=1) - base[indices].mean(axis=1))
    stats = sample_diffs - sample_diffs.mean()
    return (int(np.sum(stats > observed)) + 1) / (n_samples + 1)


def sacrebleu_p_values(metric: str, systems: list[list[str]], references: list[str], n_samples: int) -> list[float]:
    """sacrebleu's paired bootstrap p-value of every system after the first against the first."""
    named = [(f"run{k}", hyps) for k, hyps in enumerate(systems)]
    _, results = PairedTest(named, {metric: build_metric(metric)}, [references], test_type="bs",
                            n_samples=n_samples)()
    (column,) = (values for key, values in results.items() if key != "System")
    return [result.p_value for result in column[1:]]


def compare_runs(run_dirs: list[Path], n_samples: int = 1000) -> dict:
    """{runs, metrics, directions: {direction: {group, metric: [Cell per run]}}} for runs sharing directions."""
    if len(run_dirs) < 2:
        raise ValueError("compare needs at least two runs (the first is the baseline)")
    runs = [load_scores(run) for run in run_dirs]
    names = _names(run_dirs)
    shared = [name for name in runs[0]["directions"] if all(name in run["directions"] for run in runs[1:])]
    if not shared:
        raise ValueError(f"the runs {', '.join(names)} have no direction in common")
    metrics = [m for m in metrics_of(runs[0]) if all(m in metrics_of(run) for run in runs[1:])]
    directions = {}
    for name in shared:
        size = runs[0]["directions"][name]["segments"]
        rows = [load_segments(run, name)[:size] for run in run_dirs]
        references = [row["ref"] for row in rows[0]]
        for run, run_rows in zip(names[1:], rows[1:], strict=True):
            if [row["ref"] for row in run_rows] != references:
                raise ValueError(f"{run} and {names[0]} translated different sentences for {name}")
        entry: dict = {"group": runs[0]["directions"][name]["group"]}
        for metric in metrics:
            scores = [run["directions"][name]["scores"][metric] for run in runs]
            if metric == "xcomet":
                segments = [[row["score"] for row in load_segments(run, name, XCOMET)[:size]] for run in run_dirs]
                p_values = [bootstrap_mean_p_value(segments[0], seg, n_samples) for seg in segments[1:]]
            else:
                p_values = sacrebleu_p_values(metric, [[r["hyp"] for r in run_rows] for run_rows in rows],
                                              references, n_samples)
            entry[metric] = [Cell(scores[0])] + [
                Cell(score, score - scores[0], p if score != scores[0] else 1.0)
                for score, p in zip(scores[1:], p_values, strict=True)
            ]
        directions[name] = entry
    return {"runs": names, "paths": [str(run) for run in run_dirs], "metrics": metrics, "samples": n_samples,
            "directions": directions}


def _names(run_dirs: list[Path]) -> list[str]:
    names = [Path(run).name for run in run_dirs]
    return names if len(set(names)) == len(names) else [str(run) for run in run_dirs]


def summary(comparison: dict) -> dict[str, dict[str, list[dict]]]:
    """Per group and metric, for each run: mean score and how many directions are significantly better/worse."""
    result: dict[str, dict[str, list[dict]]] = {}
    for group in GROUPS:
        entries = [d for d in comparison["directions"].values() if d["group"] == group]
        if not entries:
            continue
        for metric in comparison["metrics"]:
            per_run = []
            for k in range(len(comparison["runs"])):
                cells = [entry[metric][k] for entry in entries]
                per_run.append({"mean": float(np.mean([c.score for c in cells])),
                                "better": sum(c.significant and c.delta > 0 for c in cells),
                                "worse": sum(c.significant and c.delta < 0 for c in cells)})
            result.setdefault(group, {})[metric] = per_run
    return result


def markdown(comparison: dict) -> str:
    runs, metrics = comparison["runs"], comparison["metrics"]
    lines = [f"# Comparison against {runs[0]} (paired bootstrap, {comparison['samples']} samples; "
             f"* p < {ALPHA})", ""]
    lines += ["## Summary (mean; directions significantly better / worse than the baseline)", "",
              "| group | metric | " + " | ".join(runs) + " |", "|---|---|" + "---:|" * len(runs)]
    for group, by_metric in summary(comparison).items():
        for metric, per_run in by_metric.items():
            cells = [f"{per_run[0]['mean']:.2f}"] + [
                f"{r['mean']:.2f} (+{r['better']} / -{r['worse']})" for r in per_run[1:]
            ]
            lines.append(f"| {group} | {metric} | " + " | ".join(cells) + " |")
    lines += ["", "## Per direction", "", "| direction | metric | " + " | ".join(runs) + " |",
              "|---|---|" + "---:|" * len(runs)]
    for name, entry in comparison["directions"].items():
        for metric in metrics:
            cells = [f"{entry[metric][0].score:.2f}"] + [
                f"{c.score:.2f} ({c.delta:+.2f}, p={c.p_value:.3f}){'*' if c.significant else ''}"
                for c in entry[metric][1:]
            ]
            lines.append(f"| {name} | {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_json(comparison: dict) -> dict:
    """The comparison with its cells as plain dicts (adds `significant`) and the summary."""
    directions = {
        name: {key: value if key == "group" else [{**asdict(c), "significant": c.significant} for c in value]
               for key, value in entry.items()}
        for name, entry in comparison["directions"].items()
    }
    return {**comparison, "directions": directions, "summary": summary(comparison)}

