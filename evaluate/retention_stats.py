"""Retention deltas with paired bootstrap confidence intervals, per task and language.

Both models answered the same items, so the test resamples items, not models: each of `n_samples` resamples
draws the task's items with replacement (the same indices for both models) and takes the difference of the two
accuracies. The 95% interval is the 2.5th and 97.5th percentile of those differences. The p-value is
sacrebleu's paired bootstrap rule (the one `compare` uses for xCOMET) with `>=`: the share of resampled
differences, centred on their mean, at least as far from zero as the observed one,
p = (#{|d* - mean(d*)| >= |d|} + 1) / (n + 1). Identical answers give delta 0, the interval [0, 0] and p = 1;
swapping the two models mirrors the interval and keeps p. Seeded (default 12345, sacrebleu's), so a rerun
reports the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from xplus.evaluate.retention import load_items, load_summary

ALPHA = 0.05
SEED = 12345


@dataclass(frozen=True)
class Delta:
    """Accuracies (0-1) of base and tuned on the shared items, their difference and its bootstrap statistics."""

    base: float
    tuned: float
    delta: float
    low: float
    high: float
    p_value: float
    items: int

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def paired_bootstrap(base: list[float], tuned: list[float], n_samples: int = 10_000, seed: int = SEED) -> Delta:
    """Delta tuned - base of the mean per-item scores, its 95% interval and p-value (see the module doc)."""
    a, b = np.asarray(base, dtype=float), np.asarray(tuned, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"paired bootstrap needs two score lists of one non-zero length, got {a.size} and {b.size}")
    diffs = b - a
    observed = float(diffs.mean())
    rng = np.random.default_rng(seed)
    resampled = np.empty(n_samples)
    for start in range(0, n_samples, 1000):  # blocks of 1000 resamples keep memory small on large tasks
        count = min(1000, n_samples - start)
        resampled[start:start + count] = diffs[rng.integers(0, diffs.size, size=(count, diffs.size))].mean(axis=1)
    low, high = np.percentile(resampled, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    centred = np.abs(resampled - resampled.mean())
    p_value = (int(np.sum(centred >= abs(observed) - 1e-12)) + 1) / (n_samples + 1)
    return Delta(float(a.mean()), float(b.mean()), observed, float(low), float(high), p_value, int(a.size))


def compare_task(out_dir: Path, base: str, tuned: str, task: str, n_samples: int = 10_000) -> Delta:
    """The paired delta of one task between two models of a run; the items are matched by doc_id and must be
    the same documents (same doc_hash)."""
    a = {row["doc_id"]: row for row in load_items(out_dir, base, task)}
    b = {row["doc_id"]: row for row in load_items(out_dir, tuned, task)}
    if set(a) != set(b) or any(a[i]["doc_hash"] != b[i]["doc_hash"] for i in a):
        raise ValueError(f"{task}: {base} and {tuned} answered different items (rerun one of them)")
    ids = sorted(a)
    return paired_bootstrap([a[i]["correct"] for i in ids], [b[i]["correct"] for i in ids], n_samples)


def compare_retention(out_dir: Path, base: str, tuned: list[str], tasks: list[str],
                      n_samples: int = 10_000) -> dict:
    """{base, tuned, samples, tasks: {task: {family, language, metric, deltas: {label: Delta}}}}."""
    rows = {}
    for task in tasks:
        summary = load_summary(out_dir, base, task)
        for label in tuned:
            load_summary(out_dir, label, task)  # a clear error when a model has not finished the task
        rows[task] = {"family": summary["family"], "language": summary["language"], "metric": summary["metric"],
                      "lm_eval_accuracy": {label: load_summary(out_dir, label, task)["accuracy"]
                                           for label in [base, *tuned]},
                      "deltas": {label: compare_task(out_dir, base, label, task, n_samples) for label in tuned}}
    return {"base": base, "tuned": tuned, "samples": n_samples, "tasks": rows}


def family_means(comparison: dict) -> dict[str, dict[str, dict[str, float]]]:
    """Per task family (Table 2's columns): mean accuracy of base and each tuned model over its languages, in
    percent, and the number of languages significantly better / worse."""
    result: dict[str, dict[str, dict[str, float]]] = {}
    families = dict.fromkeys(row["family"] for row in comparison["tasks"].values())
    for family in families:
        rows = [row for row in comparison["tasks"].values() if row["family"] == family]
        entry = {comparison["base"]: {"mean": 100 * float(np.mean([next(iter(r["deltas"].values())).base
                                                                    for r in rows]))}}
        for label in comparison["tuned"]:
            deltas = [row["deltas"][label] for row in rows]
            entry[label] = {"mean": 100 * float(np.mean([d.tuned for d in deltas])),
                            "better": sum(d.significant and d.delta > 0 for d in deltas),
                            "worse": sum(d.significant and d.delta < 0 for d in deltas)}
        result[family] = entry
    return result


def to_json(comparison: dict) -> dict:
    tasks = {name: {**row, "deltas": {label: {**asdict(d), "significant": d.significant}
                                      for label, d in row["deltas"].items()}}
             for name, row in comparison["tasks"].items()}
    return {**comparison, "tasks": tasks, "families": family_means(comparison)}
