"""The plots of a run report, drawn so a practitioner reads them right.

- `funnel.png`: the sources (what each reader read) apart from the steps (pairs left after each step, the
  part each step dropped in red), so the funnel only ever narrows;
- `rejects.png`: every step / reason, most frequent first, on a log axis (one huge reason hides no other);
- `length.png` / `length_ratio.png`: lengths per side, and the source / target ratio in the length filter's
  own units (character-segmented sides divided by their characters per English word, as `LengthRatioFilter`
  does), with the filter's thresholds drawn: kept pairs sit between them;
- `lid.png`: the expected language's probability on both sides, kept pairs and pairs the LID step dropped
  for that side, with the filter's threshold drawn;
- `loss.png`: per-direction loss with each direction's threshold.

Each `*_figure` returns a matplotlib Figure (None when the run has no such data); `write_plots` saves them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from xplus.curate.accounting import READER
from xplus.curate.report import direction, plain, step_blocks

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from xplus.curate.length import LengthRatioFilter
    from xplus.curate.report import RunReport

KEPT, DROPPED, THRESHOLD, OTHER = "#4c72b0", "#c44e52", "black", "#9a9a9a"
#: colours of the LID drop reasons of a side (wrong language first, then wrong script, low confidence)
LID_DROPS = (DROPPED, "#dd8452", "#8172b3", "#937860")
MAX_GROUPS = 9  # directions drawn apart (tab10 colours); the rest share one grey "other" curve
SIDES = (("src", "source"), ("trg", "target"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def colours(n: int) -> list:
    """`n` distinct colours, none of them the grey of "other" (tab10 without its grey, then tab20 without)."""
    plt = _pyplot()
    name, greys = ("tab10", {7}) if n <= 9 else ("tab20", {14, 15})
    cmap = plt.get_cmap(name)
    palette = [cmap(i) for i in range(cmap.N) if i not in greys]
    return [palette[i % len(palette)] for i in range(n)]


def styled(found: dict[str, list[str]]) -> list[tuple[str, list[str], object, str]]:
    """(label, directions, colour, line style) of each group of `groups`: "other" grey and dashed."""
    named = [label for label in found if not label.startswith("other")]
    colour = dict(zip(named, colours(len(named)), strict=True))
    return [(label, members, colour.get(label, OTHER), "-" if label in colour else "--")
            for label, members in found.items()]


def groups(directions: pl.Series) -> dict[str, list[str]]:
    """The most frequent directions each on their own, the others together: {label: [directions]}."""
    ranked = directions.value_counts(sort=True)[directions.name].to_list()
    out = {name: [name] for name in ranked[:MAX_GROUPS]}
    if rest := ranked[MAX_GROUPS:]:
        out[f"other ({len(rest)} directions)"] = rest
    return out


def _bars(ax, labels: list[str], kept: list[int], dropped: list[int]) -> None:
    y = np.arange(len(labels))
    ax.barh(y, kept, color=KEPT, label="kept")
    ax.barh(y, dropped, left=kept, color=DROPPED, label="dropped here")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    top = max((k + d for k, d in zip(kept, dropped, strict=True)), default=0) or 1
    for i, (k, d) in enumerate(zip(kept, dropped, strict=True)):
        ax.text(k + d + top * 0.01, i, f"{k:,}" + (f" (−{d:,})" if d else ""), va="center", fontsize=8)
    ax.set_xlim(0, top * 1.25)


def funnel_figure(report: RunReport) -> Figure:
    """Sources on top (pairs each reader read), steps below (pairs left after each step, in pipeline order)."""
    plt = _pyplot()
    funnel = report.funnel
    readers = [b for b in funnel.blocks if b.kind == READER]
    steps = step_blocks(funnel.blocks)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 1.6 + 0.32 * (len(readers) + len(steps) + 1)),
                                      height_ratios=[max(len(readers), 1), len(steps) + 1])
    _bars(top, [plain(b.name) for b in readers], [b.forwarded for b in readers], [b.dropped for b in readers])
    top.set_title(f"Sources: pairs read ({len(readers)} readers; together they are the input)", fontsize=10)
    top.set_xlabel("pairs read")
    labels = [f"input ({len(readers)} sources)"] + [plain(b.name) for b in steps]
    _bars(bottom, labels, [funnel.input] + [b.forwarded for b in steps], [0] + [b.dropped for b in steps])
    bottom.set_title(f"Steps: pairs left after each step (input {funnel.input:,} → output {funnel.output:,})",
                     fontsize=10)
    bottom.set_xlabel("pairs")
    bottom.legend(loc="upper right", bbox_to_anchor=(1.0, -0.12), ncol=2, fontsize=8, frameon=False)
    return fig


def rejects_figure(report: RunReport) -> Figure | None:
    counts = report.reject_counts()
    if not len(counts):
        return None
    plt = _pyplot()
    steps = report.steps()
    colour = dict(zip(steps, colours(len(steps)), strict=True))
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.3 * len(counts)))
    y = np.arange(len(counts))
    ax.barh(y, counts["len"], color=[colour[s] for s in counts["step"]])
    ax.set_yticks(y, [f"{s} / {r}" for s, r in zip(counts["step"], counts["reason"], strict=True)])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(0.8, counts["len"].max() * 4)
    for i, n in enumerate(counts["len"]):
        ax.text(n * 1.08, i, f"{n:,}", va="center", fontsize=8)
    ax.set_xlabel("pairs rejected (log scale)")
    ax.set_ylabel("step / reason")
    ax.set_title(f"Rejects by step and reason ({counts['len'].sum():,} pairs)", fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[s]) for s in steps]
    ax.legend(handles, steps, title="step", fontsize=8, loc="lower right")
    return fig


def length_filter(report: RunReport) -> LengthRatioFilter:
    """The run's length filter, built from its recipe arguments (the defaults when it has none)."""
    from xplus.curate.length import LengthRatioFilter

    return LengthRatioFilter(**report.step_options.get("length", {}))


def length_ratios(report: RunReport) -> pl.DataFrame:
    """(direction, ratio, kept) of the kept pairs and the pairs the length step dropped for their ratio:
    `ratio` = source / target length in the filter's own units (`LengthRatioFilter.lengths`)."""
    from xplus.curate.segment import mode_of

    flt = length_filter(report)
    dropped = report.rejects.filter(pl.col("reason") == "length_ratio") if len(report.rejects) else report.rejects
    frames = [df.select("src", "trg", "length_src", "length_trg").with_columns(kept=pl.lit(keep))
              for df, keep in ((report.pairs, True), (dropped, False))
              if len(df) and {"length_src", "length_trg"} <= set(df.columns)]
    if not frames:
        return pl.DataFrame(schema={"direction": pl.String, "ratio": pl.Float64, "kept": pl.Boolean})
    df = pl.concat(frames).filter((pl.col("length_src") > 0) & (pl.col("length_trg") > 0))
    scales = []
    for src, trg in df.select("src", "trg").unique().iter_rows():
        modes = (mode_of(src), mode_of(trg))
        same = flt.tokenizer_name or modes[0] == modes[1]
        scales.append((src, trg, 1.0 if same else flt.scale(src, modes[0]), 1.0 if same else flt.scale(trg, modes[1])))
    scale = pl.DataFrame(scales, schema=["src", "trg", "scale_src", "scale_trg"], orient="row")
    df = df.join(scale, on=["src", "trg"])
    ratio = (pl.col("length_src") / pl.col("scale_src")) / (pl.col("length_trg") / pl.col("scale_trg"))
    return df.with_columns(direction=direction(df)).select("direction", ratio=ratio, kept="kept")


def length_ratio_figure(report: RunReport) -> Figure | None:
    ratios = length_ratios(report)
    if not len(ratios):
        return None
    plt = _pyplot()
    flt = length_filter(report)
    low, high = flt.min_ratio, 1 / flt.min_ratio
    values = ratios["ratio"]
    bins = np.geomspace(min(values.min(), low / 2), max(values.max(), high * 2), 70)
    kept = ratios.filter(pl.col("kept"))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    found = groups(kept["direction"]) if len(kept) else {}
    for label, members, colour, style in styled(found):
        part = kept.filter(pl.col("direction").is_in(members))["ratio"].to_numpy()
        ax.hist(part, bins=bins, histtype="step", linewidth=1.5, color=colour, linestyle=style,
                label=f"kept {label} ({len(part):,})")
    dropped = ratios.filter(~pl.col("kept"))["ratio"].to_numpy()
    if len(dropped):
        ax.hist(dropped, bins=bins, color=DROPPED, alpha=0.6, label=f"dropped: length_ratio ({len(dropped):,})")
    for x in (low, high):
        ax.axvline(x, color=THRESHOLD, linestyle="--", linewidth=1)
        ax.text(x, 1.01, f"{x:.3g}", transform=ax.get_xaxis_transform(), ha="center", fontsize=8)
    ax.set_xscale("log")
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if bins[0] <= t <= bins[-1]]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    unit = (f"tokens of {flt.tokenizer_name}" if flt.tokenizer_name else
            "English-word equivalents (characters of zh, ja, th ... ÷ characters per word)")
    ax.set_xlabel(f"source / target length, in {unit}; log scale")
    ax.set_ylabel("pairs")
    ax.set_title(f"Length ratio as the length filter sees it: kept between the dashed lines "
                 f"(min_ratio {flt.min_ratio:g})", fontsize=10, pad=14)
    ax.legend(fontsize=7)
    return fig


def length_figure(report: RunReport) -> Figure | None:
    pairs = report.pairs
    if not len(pairs) or not {"length_src", "length_trg"} <= set(pairs.columns):
        return None
    plt = _pyplot()
    flt = length_filter(report)
    min_units = flt.min_units
    unit = f"tokens of {flt.tokenizer_name}" if flt.tokenizer_name else "words; characters for zh, ja, th ..."
    df = pairs.with_columns(direction=direction(pairs))
    found = groups(df["direction"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, (key, side) in zip(axes, SIDES, strict=True):
        top = max(df[f"length_{key}"].max(), min_units + 1)
        bins = np.geomspace(1, top + 1, 40)
        for label, members, colour, style in styled(found):
            values = df.filter(pl.col("direction").is_in(members))[f"length_{key}"].to_numpy()
            ax.hist(values, bins=bins, histtype="step", linewidth=1.5, label=label, color=colour, linestyle=style)
        ax.axvline(min_units, color=THRESHOLD, linestyle="--", linewidth=1, label=f"min_units {min_units}")
        ax.set_xscale("log")
        ax.set_xlabel(f"{side} length ({unit}), log scale")
        ax.set_title(f"{side} side, kept pairs", fontsize=10)
    axes[0].set_ylabel("pairs")
    axes[1].legend(fontsize=7)
    return fig


def lid_figure(report: RunReport) -> Figure | None:
    """Per side: the expected language's probability of kept pairs and of pairs the LID step dropped for that
    side, by reason; a wrong language is dropped under `max_expected_probability` when another language is likely
    enough (a wrong script at any probability)."""
    from xplus.curate.lid import DEFAULT_MAX_EXPECTED_PROBABILITY, DEFAULT_MIN_WRONG_PROBABILITY

    columns = [(key, side) for key, side in SIDES if f"lid_{key}_expected_prob" in report.pairs.columns]
    if not len(report.pairs) or not columns:
        return None
    plt = _pyplot()
    options = report.step_options.get("lid", {})
    floor = options.get("max_expected_probability", DEFAULT_MAX_EXPECTED_PROBABILITY)
    wrong = options.get("min_wrong_probability", DEFAULT_MIN_WRONG_PROBABILITY)
    rejects = report.rejects.filter(pl.col("step") == "lid") if len(report.rejects) else report.rejects
    fig, axes = plt.subplots(1, len(columns), figsize=(5.5 * len(columns), 4), sharey=True, squeeze=False)
    bins = np.linspace(0, 1, 21)
    for ax, (key, side) in zip(axes[0], columns, strict=True):
        column = f"lid_{key}_expected_prob"
        kept = report.pairs[column].drop_nulls().to_numpy()
        mine = rejects.filter(pl.col("reason").str.ends_with(f"_{side}")) if len(rejects) else rejects
        reasons = sorted(mine["reason"].unique().to_list(), key=lambda r: not r.startswith("wrong_language"))
        dropped = [mine.filter(pl.col("reason") == r)[column].drop_nulls().to_numpy() for r in reasons]
        ax.hist([kept, *dropped], bins=bins, stacked=True, color=[KEPT, *LID_DROPS[: len(reasons)]],
                label=[f"kept ({len(kept):,})", *(f"dropped: {r} ({len(d):,})" for r, d in
                                                  zip(reasons, dropped, strict=True))])
        ax.axvline(floor, color=THRESHOLD, linestyle="--", linewidth=1,
                   label=f"{floor:g}: dropped below if another language has p ≥ {wrong:g}")
        ax.set_yscale("log")
        ax.set_xlabel(f"fastText probability of the expected {side} language")
        ax.set_title(f"{side} side", fontsize=10)
        ax.legend(fontsize=7, loc="upper center")
    axes[0][0].set_ylabel("pairs (log scale)")
    return fig


def loss_figure(report: RunReport) -> Figure | None:
    """Per-direction loss of every scored pair (kept and dropped by the loss step), each direction's
    threshold dashed in its colour."""
    frames = [df for df in (report.pairs, report.rejects) if len(df) and "loss" in df.columns]
    if not frames:
        return None
    df = pl.concat([f.select("src", "trg", "loss") for f in frames]).drop_nulls("loss")
    if not len(df):
        return None
    plt = _pyplot()
    df = df.with_columns(direction=direction(df))
    found = groups(df["direction"])
    bins = np.linspace(df["loss"].min(), df["loss"].max(), 50)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for label, members, colour, style in styled(found):
        ax.hist(df.filter(pl.col("direction").is_in(members))["loss"].to_numpy(), bins=bins, histtype="step",
                linewidth=1.5, color=colour, linestyle=style, label=label)
        for member in members:
            if member in report.thresholds:
                ax.axvline(report.thresholds[member], color=colour, linestyle="--", linewidth=1)
    ax.set_xlabel("loss: mean target-token NLL under the scorer (nats); pairs above their direction's dashed "
                  "threshold are dropped", fontsize=9)
    ax.set_ylabel("pairs")
    ax.set_title("Translation loss of the scored pairs, per direction", fontsize=10)
    ax.legend(fontsize=7)
    return fig


PLOTS = {"funnel.png": funnel_figure, "rejects.png": rejects_figure, "length.png": length_figure,
         "length_ratio.png": length_ratio_figure, "lid.png": lid_figure, "loss.png": loss_figure}


def write_plots(report: RunReport) -> list[str]:
    """Draw every plot the run has data for into `<run>/report/`; return their file names."""
    plt = _pyplot()
    made = []
    for name, draw in PLOTS.items():
        fig = draw(report)
        if fig is None:
            continue
        fig.tight_layout()
        fig.savefig(report.folder / name, dpi=110)
        plt.close(fig)
        made.append(name)
    return made
