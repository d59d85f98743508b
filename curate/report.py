"""The run report: `report.md` plus PNG plots, written next to a run's outputs.

Everything comes from what the run left on disk: the per-task stats (the funnel and the accounting check),
the rejects files (drops per step and reason, per language pair, and a sample of each reason) and the
curated pairs (length, length-ratio, LID-probability and loss distributions; the loss plot draws each
direction's FLORES threshold when the run saved its thresholds table). No FLORES text is read or written.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import regex

from xplus.curate.accounting import run_funnel

SAMPLE_PER_REASON = 3
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Emoji_Component}--\p{ASCII}]+\s*", regex.V1)


def _plain(name: str) -> str:
    """Block names without their emoji (the plot fonts have none)."""
    return _EMOJI.sub("", name).strip()


def read_jsonl_rows(folder: Path) -> pl.DataFrame:
    """All rows of the JSONL files under `folder` as one frame (columns united), empty when there are none."""
    files = sorted(folder.rglob("*.jsonl")) if folder.is_dir() else []
    frames = [pl.read_ndjson(f, infer_schema_length=None) for f in files if f.stat().st_size]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _direction(df: pl.DataFrame) -> pl.Series:
    return df["src"] + "→" + df["trg"]


class RunReport:
    """Build the report of a run folder laid out by `xplus curate run` (logs/, rejects/, output/jsonl/)."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.funnel = run_funnel(self.run_dir)
        self.rejects = read_jsonl_rows(self.run_dir / "rejects")
        self.pairs = read_jsonl_rows(self.run_dir / "output" / "jsonl")
        thresholds = self.run_dir / "loss_thresholds.json"
        self.thresholds = json.loads(thresholds.read_text()) if thresholds.exists() else {}

    # -- tables ----------------------------------------------------------------------------------------------
    def per_direction(self) -> str:
        kept = Counter(_direction(self.pairs).to_list()) if len(self.pairs) else Counter()
        dropped: dict[str, Counter] = defaultdict(Counter)
        if len(self.rejects):
            for direction, step in zip(_direction(self.rejects).to_list(), self.rejects["step"].to_list(),
                                       strict=True):
                dropped[direction][step] += 1
        steps = sorted({s for c in dropped.values() for s in c})
        rows = ["| direction | input | " + " | ".join(f"- {s}" for s in steps) + " | kept | kept % |",
                "|---|---:|" + "---:|" * len(steps) + "---:|---:|"]
        for direction in sorted(set(kept) | set(dropped)):
            total = kept[direction] + sum(dropped[direction].values())
            cells = " | ".join(str(dropped[direction][s]) for s in steps)
            rows.append(f"| {direction} | {total} | {cells} | {kept[direction]} | {kept[direction] / total:.1%} |")
        return "\n".join(rows)

    def reasons(self) -> str:
        if not len(self.rejects):
            return "No pair was rejected."
        counts = self.rejects.group_by("step", "reason").len().sort("len", descending=True)
        rows = ["| step | reason | pairs |", "|---|---|---:|"]
        rows += [f"| {r['step']} | {r['reason']} | {r['len']} |" for r in counts.iter_rows(named=True)]
        return "\n".join(rows)

    def samples(self) -> str:
        if not len(self.rejects):
            return ""
        out = []
        for (step, reason), group in sorted(self.rejects.group_by("step", "reason"), key=lambda g: g[0]):
            out.append(f"**{step} / {reason}**\n")
            for r in group.head(SAMPLE_PER_REASON).iter_rows(named=True):
                detail = f" ({r['detail']})" if r.get("detail") else ""
                out.append(f"- `{r['file']}:{r['line']}`{detail}: {_short(r['src_line'])} ⟶ {_short(r['tgt_line'])}")
            out.append("")
        return "\n".join(out)

    # -- plots -----------------------------------------------------------------------------------------------
    def plots(self) -> list[str]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        made = []
        blocks = [b for b in self.funnel.blocks if b.kind != "WRITER"]
        fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(blocks)))
        ax.barh([_plain(b.name) for b in blocks][::-1], [b.forwarded for b in blocks][::-1], color="#4c72b0")
        ax.set_xlabel("pairs after the block")
        ax.set_title("Funnel")
        made.append(self._save(fig, "funnel.png"))
        if len(self.rejects):
            counts = self.rejects.group_by("step", "reason").len().sort("len")
            fig, ax = plt.subplots(figsize=(8, 0.5 + 0.35 * len(counts)))
            ax.barh([f"{s} / {r}" for s, r in zip(counts["step"], counts["reason"], strict=True)], counts["len"],
                    color="#dd8452")
            ax.set_xlabel("pairs rejected")
            ax.set_title("Rejects by step and reason")
            made.append(self._save(fig, "rejects.png"))
        for column, title, name in (("length_src", "source length (units)", "length.png"),
                                    ("lid_src_prob", "LID probability (source)", "lid.png"),
                                    ("loss", "loss (mean target NLL)", "loss.png")):
            if len(self.pairs) and column in self.pairs.columns:
                made.append(self._histogram(plt, column, title, name))
        if len(self.pairs) and {"length_src", "length_trg"} <= set(self.pairs.columns):
            ratio = self.pairs.select(pl.min_horizontal("length_src", "length_trg")
                                      / pl.max_horizontal("length_src", "length_trg")).to_series()
            fig, ax = plt.subplots(figsize=(7, 4))
            ax.hist(ratio.drop_nulls().to_list(), bins=40, color="#55a868")
            ax.set_xlabel("short / long length ratio of kept pairs")
            made.append(self._save(fig, "length_ratio.png"))
        return made

    def _histogram(self, plt, column: str, title: str, name: str) -> str:
        fig, ax = plt.subplots(figsize=(7, 4))
        df = self.pairs.with_columns(direction=_direction(self.pairs))
        for direction, group in df.group_by("direction"):
            values = group[column].drop_nulls().to_list()
            ax.hist(values, bins=40, alpha=0.5, label=direction[0])
            if column == "loss" and direction[0] in self.thresholds:
                ax.axvline(self.thresholds[direction[0]], linestyle="--", color="black")
        ax.set_xlabel(title)
        ax.legend(fontsize=7)
        return self._save(fig, name)

    def _save(self, fig, name: str) -> str:
        import matplotlib.pyplot as plt

        path = self.run_dir / "report" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return name

    # -- the whole report ------------------------------------------------------------------------------------
    def write(self) -> Path:
        plots = self.plots()
        scored = any("loss" in b.name.lower() for b in self.funnel.blocks)
        body = [
            f"# Curation report: {self.run_dir.name}",
            "",
            "Quality filter (NLLB loss): " + ("ran; thresholds in `loss_thresholds.json`." if scored else
                                              "**did not run: this output is NOT quality-filtered** by a "
                                              "translation model."),
            "",
            "## Funnel",
            "",
            self.funnel.table(),
            "",
            "## Per direction (pairs rejected by each step)",
            "",
            self.per_direction(),
            "",
            "## Rejects by reason",
            "",
            self.reasons(),
            "",
            "## Plots",
            "",
            *[f"![{name}]({name})" for name in plots],
            "",
            "## Sample of rejected pairs",
            "",
            self.samples(),
        ]
        path = self.run_dir / "report" / "report.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        return path


def _short(text: str | None, limit: int = 80) -> str:
    text = (text or "").replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"
