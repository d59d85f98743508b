"""The run report on a real run (the bundled demo): plots a practitioner reads right, and `report.html` rendered
by headless Chromium with the funnel numbers on the page equal to the run's stats.

Each plot test checks what was wrong before: the funnel stacked the readers with the steps (it seemed to grow at
the cleaner), the rejects were linear and unsorted, the length ratio was in raw units without its threshold
(en-zh pairs the filter kept sat below 0.3), LID showed only the source side, steps were listed alphabetically.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import polars as pl
import pytest
from matplotlib.colors import to_hex

from xplus.curate.accounting import READER, WRITER, BlockCount, run_funnel
from xplus.curate.flores import Flores
from xplus.curate.loss.calibration import Calibrator
from xplus.curate.report import RunReport, read_thresholds, step_blocks
from xplus.curate.report_plots import (
    KEPT,
    funnel_figure,
    length_figure,
    length_ratio_figure,
    length_ratios,
    lid_figure,
    loss_figure,
    rejects_figure,
)
from xplus.pipelines.cli import main
from xplus.pipelines.run import merge_thresholds

PIPELINE_ORDER = ["clean", "length", "consistency", "untranslated", "dedup", "lid"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> RunReport:
    run_dir = tmp_path_factory.mktemp("demo")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["curate", "run", "demo", "-o", str(run_dir), "--overwrite"]) == 0
    return RunReport(run_dir)


def _vertical_lines(ax) -> list[float]:
    return [line.get_xdata()[0] for line in ax.lines]


def test_funnel_keeps_sources_apart_and_only_narrows(report):
    funnel = report.funnel
    fig = funnel_figure(report)
    sources, steps = fig.axes
    readers = [b for b in funnel.blocks if b.kind == READER]
    assert [t.get_text() for t in sources.get_yticklabels()] == [b.name.removeprefix("📖 ") for b in readers]
    labels = [t.get_text() for t in steps.get_yticklabels()]
    # no reader, writer or templater among the steps
    assert labels == ["input (4 sources)", "Bitext cleaner", "Length / ratio", "Pair consistency",
                      "Untranslated spans", "SimHash dedup", "fastText LID"]
    kept = [bar.get_width() for bar in steps.patches[: len(labels)]]
    dropped = [bar.get_width() for bar in steps.patches[len(labels): 2 * len(labels)]]
    assert kept[0] == funnel.input == 1300 and kept[-1] == funnel.output
    assert all(a >= b for a, b in zip(kept, kept[1:], strict=False))  # a funnel never grows
    assert [int(k + d) for k, d in zip(kept[1:], dropped[1:], strict=True)] == kept[:-1]
    assert sources.get_xlabel() and steps.get_xlabel()
    plt.close(fig)


def test_step_blocks_skip_handoffs_side_stages_and_templating():
    """The multi-task layout (`--tasks 2`): the SimHash side stages run between a handoff out and its handoff in."""
    def block(name, kind="🔻 - FILTER", total=10, dropped=0, records_out=None):
        return BlockCount(name, kind, total, total - dropped, dropped, {"x": dropped} if dropped else {}, records_out)

    blocks = [block("📖 Moses pairs (a)", READER), block("🧽 Bitext cleaner", dropped=1),
              block("🔀 handoff out", "🔀 - HANDOFF", 9), block("🫧 SimHash stage 1: signatures", "🫂 - DEDUP", 9),
              block("🫧 SimHash stage 2: buckets", "🫂 - DEDUP", 0), block("🔀 handoff in", "🔀 - HANDOFF", 9),
              block("🫧 SimHash dedup", "🫂 - DEDUP", 9, 2), block("💾 Bitext JSONL", WRITER, 7),
              block("💬 Instruction templates", "💬 - TEMPLATE", 7, records_out=14),
              block("💾 Chat JSONL", WRITER, 14)]
    assert [b.name for b in step_blocks(blocks)] == ["🧽 Bitext cleaner", "🫧 SimHash dedup"]


def test_rejects_sorted_on_a_log_axis(report):
    fig = rejects_figure(report)
    ax = fig.axes[0]
    counts = report.reject_counts()
    widths = [bar.get_width() for bar in ax.patches]
    assert ax.get_xscale() == "log" and widths == sorted(widths, reverse=True) == counts["len"].to_list()
    assert sum(widths) == report.funnel.rejected > 0
    assert ax.get_yticklabels()[0].get_text() == f"{counts['step'][0]} / {counts['reason'][0]}"
    assert "log" in ax.get_xlabel() and ax.get_ylabel()
    assert len({bar.get_facecolor() for bar in ax.patches}) == len(report.steps())  # one colour per step
    plt.close(fig)


def test_length_ratio_in_the_filters_units_with_its_thresholds(report):
    ratios = length_ratios(report)
    kept = ratios.filter(pl.col("kept"))["ratio"]
    assert len(kept) == report.funnel.output
    # every kept pair is inside the filter's thresholds (a pair exactly at one is kept; 1e-9: float rounding)
    assert kept.min() >= 0.3 * (1 - 1e-9) and kept.max() <= 1 / 0.3 * (1 + 1e-9)
    dropped = ratios.filter(~pl.col("kept"))["ratio"].to_list()
    on_disk = report.reject_counts().filter(pl.col("reason") == "length_ratio")["len"].sum()
    assert len(dropped) == on_disk > 0 and all(r < 0.3 or r > 1 / 0.3 for r in dropped)
    # in raw units (English words vs Chinese characters), kept en-zh pairs sit below 0.3: what the old plot showed
    zh = report.pairs.filter(pl.col("trg") == "zho_Hans")
    raw = zh.select(pl.min_horizontal("length_src", "length_trg") / pl.max_horizontal("length_src", "length_trg"))
    assert (raw.to_series() < 0.3).sum() > 0
    fig = length_ratio_figure(report)
    ax = fig.axes[0]
    assert _vertical_lines(ax) == pytest.approx([0.3, 1 / 0.3]) and ax.get_xscale() == "log"
    assert "English-word equivalents" in ax.get_xlabel() and ax.get_ylabel() == "pairs"
    plt.close(fig)


def test_lid_shows_both_sides_with_the_threshold(report):
    fig = lid_figure(report)
    assert [ax.get_title() for ax in fig.axes] == ["source side", "target side"]
    for ax in fig.axes:
        assert _vertical_lines(ax) == [0.1] and "probability of the expected" in ax.get_xlabel()
    assert fig.axes[0].get_ylabel() == "pairs (log scale)"
    # the stacked parts over the kept pairs of each panel are the pairs LID dropped for that side
    for ax, side in zip(fig.axes, ("source", "target"), strict=True):
        drops = [bar.get_height() for bar in ax.patches if to_hex(bar.get_facecolor()) != KEPT]
        lid = report.reject_counts().filter((pl.col("step") == "lid") & pl.col("reason").str.ends_with(side))
        assert sum(drops) == lid["len"].sum() > 0
    plt.close(fig)


def test_histograms_have_y_labels_and_distinct_colours(report):
    fig = length_figure(report)
    assert fig.axes[0].get_ylabel() == "pairs"
    curves = [patch for patch in fig.axes[0].patches]
    assert len({patch.get_edgecolor() for patch in curves}) == len(curves) == 3  # one per direction
    assert _vertical_lines(fig.axes[0]) == [2]  # min_units
    plt.close(fig)


def test_loss_plot_draws_each_directions_threshold_in_its_colour(report):
    pairs, thresholds = report.pairs, report.thresholds
    report.pairs = pairs.with_columns(loss=pl.int_range(pl.len()).cast(pl.Float64) / len(pairs) * 6)
    report.thresholds = {"eng_Latn-swh_Latn": 4.0, "eng_Latn-deu_Latn": 5.0}
    try:
        fig = loss_figure(report)
    finally:
        report.pairs, report.thresholds = pairs, thresholds
    ax = fig.axes[0]
    colour = {patch.get_label(): patch.get_edgecolor() for patch in ax.patches}
    lines = {line.get_xdata()[0]: line.get_color() for line in ax.lines}
    assert lines == {4.0: colour["eng_Latn-swh_Latn"], 5.0: colour["eng_Latn-deu_Latn"]}
    assert ax.get_ylabel() == "pairs" and "loss" in ax.get_xlabel()
    plt.close(fig)


def test_loss_plot_draws_a_line_for_every_direction_of_the_runs_thresholds_file(report, tmp_path):
    """The run's `loss_thresholds.json`, written as `xplus curate run` writes it (each task's table, then merged),
    is keyed by the same direction names as the report's rows, so no threshold line silently goes missing."""
    run_dir = shutil.copytree(report.run_dir, tmp_path / "run")
    codes = pl.concat([df.select("src", "trg") for df in (report.pairs, report.rejects)]).unique().sort("src", "trg")
    codes = codes.rows()
    given = {f"{src}→{trg}": 1.0 + k for k, (src, trg) in enumerate(codes)}  # the spelling of earlier versions
    Calibrator(None, Flores(), given=given, cache_dir=None).write_table(run_dir / "loss_thresholds", "00000.json")
    merge_thresholds(run_dir)
    loss = pl.int_range(pl.len()).cast(pl.Float64) / pl.len() * (len(codes) + 1)
    for folder in ("output/jsonl", "rejects"):
        for path in (run_dir / folder).rglob("*.jsonl"):
            pl.read_ndjson(path, infer_schema_length=None).with_columns(loss=loss).write_ndjson(path)
    scored = RunReport(run_dir)
    assert set(scored.thresholds) == set(json.loads((run_dir / "loss_thresholds.json").read_text()))
    assert set(scored.thresholds) == set(scored.direction_counts()[0])
    assert "| eng_Latn-swh_Latn |" in scored.per_direction()
    fig = loss_figure(scored)
    assert sorted(_vertical_lines(fig.axes[0])) == sorted(scored.thresholds.values())
    plt.close(fig)


def test_thresholds_of_earlier_runs_are_read_in_todays_spelling(tmp_path):
    legacy = {"eng_Latn→swh_Latn": 4.0, "deu_Latn->eng_Latn": 2.5}
    (tmp_path / "loss_thresholds.json").write_text(json.dumps(legacy, ensure_ascii=False))
    assert read_thresholds(tmp_path / "loss_thresholds.json") == {"eng_Latn-swh_Latn": 4.0, "deu_Latn-eng_Latn": 2.5}
    assert read_thresholds(tmp_path / "no_loss_step.json") == {}


def test_markdown_lists_steps_in_pipeline_order(report):
    assert report.steps() == PIPELINE_ORDER  # the demo's steps each drop pairs
    header = report.per_direction().splitlines()[0]
    steps = " | ".join(f"- {step}" for step in PIPELINE_ORDER)
    assert header == f"| direction | input | {steps} | kept | kept % |"


# -- report.html -------------------------------------------------------------------------------------------------
class _Page(HTMLParser):
    """Text of the rows of each table with an id, the text of elements with an id, and every URL attribute."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.by_id: dict[str, str] = {}
        self.urls: list[str] = []
        self._table, self._cell, self._open_ids = None, None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ""
        if attrs.get("id"):
            self._open_ids.append((tag, attrs["id"]))
            self.by_id[attrs["id"]] = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append(self._cell.strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        for _, ident in self._open_ids:
            self.by_id[ident] += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_html_is_one_self_contained_file(report):
    report.write()
    html = (report.folder / "report.html").read_text(encoding="utf-8")
    page = _parse(html)
    plots = sorted(p.name for p in report.folder.glob("*.png"))
    assert plots == ["funnel.png", "length.png", "length_ratio.png", "lid.png", "rejects.png"]
    assert len(page.urls) == len(plots) and all(url.startswith("data:image/png;base64,") for url in page.urls)
    assert "http://" not in html and "https://" not in html.replace("https://mp.weixin", "")  # a sample's text
    # rejected pairs to browse: a section per step in pipeline order, a sample of every reason
    steps = [line.split('data-step="')[1].split('"')[0] for line in html.split("<details")[1:] if "data-step" in line]
    assert steps == PIPELINE_ORDER
    assert html.count('class="reason"') == len(report.reject_counts())
    assert "GlobalVoices.en:172" in html
    assert '<td lang="en-Latn">' in html and '<td lang="zh-Hans">' in html  # CJK glyphs picked by language
    assert page.tables["directions"][0][2:2 + len(PIPELINE_ORDER)] == [f"− {s}" for s in PIPELINE_ORDER]


def _chromium() -> str:
    found = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if found is None:
        message = "headless Chromium is needed to test report.html: apt-get install -y chromium"
        if os.environ.get("CI", "").lower() in ("1", "true") or os.environ.get("XPLUS_REQUIRE_CHROMIUM") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _headless(chromium: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--user-data-dir=" + os.environ.get("TMPDIR", "/tmp") + "/xplus-chromium",
                           *args], capture_output=True, text=True, timeout=180, check=True)


def test_html_renders_in_chromium_with_the_runs_numbers(report, tmp_path):
    chromium = _chromium()
    report.write()
    url = (report.folder / "report.html").resolve().as_uri()
    page = _parse(_headless(chromium, "--dump-dom", url).stdout)  # the DOM after the page's script ran
    funnel = run_funnel(report.run_dir)
    rows = page.tables["funnel"][1:]
    assert [(r[0], _number(r[2]), _number(r[3]), _number(r[4])) for r in rows] == [
        (b.name.split(" ", 1)[1], b.total, b.forwarded, b.dropped) for b in funnel.blocks]
    assert [_number(page.by_id[k]) for k in ("input", "output", "rejected")] == [funnel.input, funnel.output,
                                                                                 funnel.rejected]
    assert page.by_id["browser-check"] == (f"checked in the browser from the table: input {funnel.input:,} = "
                                           f"output {funnel.output:,} + rejects {funnel.rejected:,}")
    shot = tmp_path / "report.png"
    _headless(chromium, f"--screenshot={shot}", "--window-size=1200,1600", url)
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 1600)
    colours = image.getcolors(maxcolors=1 << 20)
    white = max(colours)[0] / (1200 * 1600)
    assert len(colours) > 200 and white < 0.97  # text, tables and plots drawn: a blank page is one colour


def test_per_direction_table_without_rejects(report):
    rejects = report.rejects
    report.rejects = pl.DataFrame()
    try:
        table = report.per_direction().splitlines()
    finally:
        report.rejects = rejects
    assert table[:2] == ["| direction | input | kept | kept % |", "| --- | ---: | ---: | ---: |"]
    assert all(row.count("|") == 5 for row in table)
