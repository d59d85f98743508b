"""The run report: `report.md`, a single-file `report.html` and PNG plots, written next to a run's outputs.

Everything comes from what the run left on disk: the per-task stats (the funnel and the accounting check,
through `xplus.curate.accounting.run_funnel`), the rejects files (drops per step and reason, per language
pair, and samples of each reason), the curated pairs (length, length-ratio, LID-probability and loss
distributions) and the run's `recipe.yaml` (the thresholds the plots draw: the length and LID steps' settings;
the loss plot draws each direction's FLORES threshold when the run saved its thresholds table). No FLORES text
is read or written. The plots are `xplus.curate.report_plots`, the HTML page `xplus.curate.report_html`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import regex
import yaml

from xplus.curate.accounting import HANDOFF_IN, HANDOFF_OUT, READER, WRITER, BlockCount, run_funnel
from xplus.curate.flores import DIRECTION_SEPARATOR, format_direction, parse_direction
from xplus.curate.languages import UnknownLanguageError

SAMPLE_PER_REASON = 3
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Emoji_Component}--\p{ASCII}]+\s*", regex.V1)


def plain(name: str) -> str:
    """Block names without their emoji (the plot fonts have none)."""
    return _EMOJI.sub("", name).strip()


def read_jsonl_rows(folder: Path) -> pl.DataFrame:
    """All rows of the JSONL files under `folder` as one frame (columns united), empty when there are none."""
    files = sorted(folder.rglob("*.jsonl")) if folder.is_dir() else []
    frames = [pl.read_ndjson(f, infer_schema_length=None) for f in files if f.stat().st_size]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def direction(df: pl.DataFrame) -> pl.Series:
    """The direction of every row, spelled as everywhere else (`eng_Latn-swh_Latn`, `format_direction`): the keys of
    `loss_thresholds.json` (a code the registry does not know is joined as it is)."""
    pairs = df.select("src", "trg").unique()
    names = pairs.with_columns(direction=pl.Series([direction_name(src, trg) for src, trg in pairs.iter_rows()],
                                                   dtype=pl.String))
    return df.select("src", "trg").join(names, on=["src", "trg"], how="left", maintain_order="left")["direction"]


def direction_name(src: str | None, trg: str | None) -> str | None:
    """`format_direction` of one pair's codes, or the codes joined as they are when the registry does not know one."""
    if src is None or trg is None:
        return None
    try:
        return format_direction(src, trg)
    except UnknownLanguageError:
        return f"{src}{DIRECTION_SEPARATOR}{trg}"


def read_thresholds(path: Path) -> dict[str, float]:
    """A run's `loss_thresholds.json` keyed by `format_direction` (runs of earlier versions wrote `src→trg`)."""
    if not path.exists():
        return {}
    return {format_direction(*parse_direction(key)): value for key, value in json.loads(path.read_text()).items()}


def step_blocks(blocks: list[BlockCount]) -> list[BlockCount]:
    """The blocks every pair passes through after the readers, in pipeline order: no readers, writers or
    handoffs, no side stage (what runs between a handoff out and its handoff in: the SimHash signature, bucket
    and cluster stages), and not the block that turns pairs into chat records."""
    expander = next((b for b in reversed(blocks) if b.records_out is not None), None)
    main, side_stage = [], False
    for block in blocks:
        if block.name in (HANDOFF_OUT, HANDOFF_IN):
            side_stage = block.name == HANDOFF_OUT
        elif not side_stage and block.kind not in (READER, WRITER) and block is not expander:
            main.append(block)
    return main


class RunReport:
    """Build the report of a run folder laid out by `xplus curate run` (logs/, rejects/, output/jsonl/)."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.funnel = run_funnel(self.run_dir)
        self.rejects = read_jsonl_rows(self.run_dir / "rejects")
        self.pairs = read_jsonl_rows(self.run_dir / "output" / "jsonl")
        self.thresholds = read_thresholds(self.run_dir / "loss_thresholds.json")
        recipe = self.run_dir / "recipe.yaml"
        steps = (yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}).get("steps") if recipe.exists() else None
        #: each step's recipe arguments ({} for the defaults); empty when the run has no recipe.yaml
        self.step_options: dict[str, dict] = {k: v or {} for k, v in (steps or {}).items()}

    @property
    def folder(self) -> Path:
        return self.run_dir / "report"

    # -- the data --------------------------------------------------------------------------------------------
    def steps(self) -> list[str]:
        """The steps that rejected pairs, in pipeline order: a step sits at the first block that counted one
        of its reasons (the blocks' stats and the rejects files name the same reasons)."""
        if not len(self.rejects):
            return []
        reasons = defaultdict(set)
        for step, reason in self.rejects.select("step", "reason").unique().iter_rows():
            reasons[step].add(reason)
        blocks = [b for b in self.funnel.blocks if b.kind != WRITER]

        def position(step: str) -> int:
            return next((i for i, b in enumerate(blocks) if reasons[step] & set(b.reasons)), len(blocks))

        return sorted(reasons, key=lambda step: (position(step), step))

    def reject_counts(self) -> pl.DataFrame:
        """(step, reason, len) of every reason, most frequent first."""
        if not len(self.rejects):
            return pl.DataFrame(schema={"step": pl.String, "reason": pl.String, "len": pl.UInt32})
        return self.rejects.group_by("step", "reason").len().sort(["len", "step", "reason"],
                                                                  descending=[True, False, False])

    def direction_counts(self) -> tuple[list[str], dict[str, int], dict[str, Counter]]:
        """(the directions, pairs kept per direction, pairs rejected per direction and step)."""
        kept = Counter(direction(self.pairs).to_list()) if len(self.pairs) else Counter()
        dropped: dict[str, Counter] = defaultdict(Counter)
        if len(self.rejects):
            for pair, step in zip(direction(self.rejects).to_list(), self.rejects["step"].to_list(), strict=True):
                dropped[pair][step] += 1
        return sorted(set(kept) | set(dropped)), kept, dropped

    def sample(self, step: str, reason: str, n: int) -> list[dict]:
        """Up to `n` rejected pairs of one step and reason, in file order (the first ones when `n` is small:
        the same pairs on every run)."""
        rows = self.rejects.filter((pl.col("step") == step) & (pl.col("reason") == reason))
        return rows.head(n).to_dicts()

    # -- Markdown --------------------------------------------------------------------------------------------
    def per_direction(self) -> str:
        directions, kept, dropped = self.direction_counts()
        steps = self.steps()
        header = ["direction", "input", *(f"- {s}" for s in steps), "kept", "kept %"]
        rows = [header, ["---", *["---:"] * (len(header) - 1)]]
        for pair in directions:
            total = kept[pair] + sum(dropped[pair].values())
            rows.append([pair, str(total), *(str(dropped[pair][s]) for s in steps), str(kept[pair]),
                         f"{kept[pair] / total:.1%}"])
        return "\n".join("| " + " | ".join(row) + " |" for row in rows)

    def reasons(self) -> str:
        if not len(self.rejects):
            return "No pair was rejected."
        rows = ["| step | reason | pairs |", "|---|---|---:|"]
        rows += [f"| {r['step']} | {r['reason']} | {r['len']} |" for r in self.reject_counts().iter_rows(named=True)]
        return "\n".join(rows)

    def samples(self) -> str:
        out = []
        for step in self.steps():
            for reason in sorted(self.rejects.filter(pl.col("step") == step)["reason"].unique().to_list()):
                out.append(f"**{step} / {reason}**\n")
                for r in self.sample(step, reason, SAMPLE_PER_REASON):
                    detail = f" ({r['detail']})" if r.get("detail") else ""
                    out.append(f"- `{r['file']}:{r['line']}`{detail}: {_short(r['src_line'])} ⟶ "
                               f"{_short(r['tgt_line'])}")
                out.append("")
        return "\n".join(out)

    def quality_note(self) -> str:
        scored = any("loss" in b.name.lower() for b in self.funnel.blocks)
        return "Quality filter (NLLB loss): " + ("ran; thresholds in `loss_thresholds.json`." if scored else
                                                 "**did not run: this output is NOT quality-filtered** by a "
                                                 "translation model.")

    # -- the whole report ------------------------------------------------------------------------------------
    def write(self) -> Path:
        """Write the plots, `report.md` and `report.html` into `<run>/report/`; return the Markdown's path."""
        from xplus.curate.report_html import write_html
        from xplus.curate.report_plots import write_plots

        self.folder.mkdir(parents=True, exist_ok=True)
        plots = write_plots(self)
        body = [
            f"# Curation report: {self.run_dir.name}",
            "",
            self.quality_note(),
            "",
            "## Funnel",
            "",
            self.funnel.table(),
            "",
            "## Per direction (pairs rejected by each step, in pipeline order)",
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
        path = self.folder / "report.md"
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        write_html(self, plots)
        return path


def _short(text: str | None, limit: int = 80) -> str:
    text = (text or "").replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"
