"""`report.html`: the run report as one self-contained page (plots embedded as base64 PNG, no external URL).

Rejected pairs come first (what people open a report for): one collapsible section per step, in pipeline
order, one per reason inside it with sample pairs, source and target side by side, and a box that filters
them. Then the funnel (its table, which a script on the page re-adds to show the accounting holds), the
per-direction table (steps in pipeline order) and the plots.
"""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING

import polars as pl

from xplus.curate.accounting import READER, WRITER
from xplus.curate.languages import get_language
from xplus.curate.report import direction_name, plain

if TYPE_CHECKING:
    from pathlib import Path

    from xplus.curate.report import RunReport

SAMPLES_PER_REASON = 20

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans CJK SC',sans-serif;margin:0 auto;
max-width:1200px;padding:0 1.5em 3em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-top:1em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em}
.card b{display:block;font-size:1.4em}.warn{background:#fff3cd;padding:.5em 1em;border-radius:6px}
.ok{color:#1b7a1b}.bad{color:#b00020}
details{margin:.3em 0}details details{margin-left:1.2em}summary{cursor:pointer}
table.pairs{table-layout:fixed;width:100%}table.pairs td{word-wrap:break-word}
table.pairs col.where{width:17%}table.pairs col.side{width:31%}table.pairs col.detail{width:21%}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
"""

SCRIPT = """
(() => {
  const num = td => Number(td.textContent.replace(/[^0-9]/g, ''));
  let input = 0, rejected = 0;
  for (const tr of document.querySelectorAll('#funnel tbody tr')) {
    const c = tr.cells;
    if (tr.dataset.kind === 'READER') input += num(c[2]);
    if (tr.dataset.kind !== 'WRITER') rejected += num(c[4]);
  }
  const output = num(document.getElementById('output'));
  const check = document.getElementById('browser-check');
  const ok = input === output + rejected;
  check.className = ok ? 'ok' : 'bad';
  check.textContent = `checked in the browser from the table: input ${input.toLocaleString('en-US')} `
    + `${ok ? '=' : '≠'} output ${output.toLocaleString('en-US')} + rejects ${rejected.toLocaleString('en-US')}`;
  const box = document.getElementById('filter');
  box.addEventListener('input', () => {
    const q = box.value.toLowerCase();
    for (const tr of document.querySelectorAll('table.pairs tbody tr'))
      tr.hidden = q !== '' && !tr.textContent.toLowerCase().includes(q);
    if (q) document.querySelectorAll('#rejected details').forEach(d => d.open = true);
  });
})();
"""


def _n(value: int) -> str:
    return f"{value:,}"


def _table(header: list[str], rows: list[str], table_id: str, numeric: range) -> str:
    head = "".join(f'<th class="n">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
                   for i, h in enumerate(header))
    return f"<table id=\"{table_id}\"><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def summary(report: RunReport) -> str:
    funnel = report.funnel
    share = funnel.output / funnel.input if funnel.input else 0.0
    cards = [("input pairs", _n(funnel.input), "input"), ("output pairs", _n(funnel.output), "output"),
             ("rejected", _n(funnel.rejected), "rejected"), ("kept", f"{share:.1%}", "kept-share")]
    html = '<div class="cards">' + "".join(f'<div class="card"><b id="{ident}">{value}</b>{escape(label)}</div>'
                                          for label, value, ident in cards) + "</div>"
    problems = funnel.problems()
    verdict = ('<p class="ok">accounting OK (stats of every task): input = output + rejects</p>' if not problems
               else '<p class="bad">accounting FAILED: ' + "; ".join(map(escape, problems)) + "</p>")
    note = report.quality_note().replace("**", "").replace("`", "")
    warn = ' class="warn"' if "NOT" in note else ""
    return f'{html}{verdict}<p id="browser-check"></p><p{warn}>{escape(note)}</p>'


def funnel_table(report: RunReport) -> str:
    rows = []
    for b in report.funnel.blocks:
        reasons = ", ".join(f"{k} {_n(v)}" for k, v in sorted(b.reasons.items(), key=lambda kv: -kv[1]))
        if b.records_out is not None:
            reasons = f"{_n(b.records_out)} chat records out"
        kind = b.kind if b.kind in (READER, WRITER) else "STEP"
        rows.append(f'<tr data-kind="{kind}"><td>{escape(plain(b.name))}</td><td>{kind.lower()}</td>'
                    f'<td class="n">{_n(b.total)}</td><td class="n">{_n(b.forwarded)}</td>'
                    f'<td class="n">{_n(b.dropped)}</td><td class="n">{f"{b.seconds:.2f}" if b.seconds else "-"}</td>'
                    f'<td>{escape(reasons)}</td></tr>')
    return _table(["block", "kind", "in", "out", "dropped", "time (s)", "reasons"], rows, "funnel", range(2, 6))


def bcp47(code: str) -> str:
    """The HTML `lang` of a FLORES-200 code (`zho_Hans` -> `zh-Hans`): browsers pick CJK glyphs by it."""
    try:
        language = get_language(code)
    except ValueError:
        return ""
    return f"{language.iso639_1 or language.iso639_3}-{language.script}"


def _pair_rows(rows: list[dict]) -> str:
    out = []
    for r in rows:
        where = f"{r.get('file') or r.get('corpus') or ''}:{r.get('line') or ''}"
        out.append(f'<tr><td>{escape(where)}<br><small>{escape(direction_name(r["src"], r["trg"]) or "")}</small></td>'
                   f'<td lang="{bcp47(r["src"])}">{escape(r.get("src_line") or "")}</td>'
                   f'<td lang="{bcp47(r["trg"])}">{escape(r.get("tgt_line") or "")}</td>'
                   f'<td>{escape(str(r.get("detail") or ""))}</td></tr>')
    cols = '<colgroup><col class="where"><col class="side"><col class="side"><col class="detail"></colgroup>'
    head = "<thead><tr><th>file:line</th><th>source</th><th>target</th><th>detail</th></tr></thead>"
    return f'<table class="pairs">{cols}{head}<tbody>{"".join(out)}</tbody></table>'


def rejected_pairs(report: RunReport, per_reason: int = SAMPLES_PER_REASON) -> str:
    """A <details> per step (pipeline order), one per reason inside (most frequent first) with sample pairs."""
    if not len(report.rejects):
        return "<p>No pair was rejected.</p>"
    counts = report.reject_counts()
    total = report.funnel.input or 1
    parts = ['<p><input id="filter" type="search" size="40" placeholder="filter the samples (any text)"> '
             f"first {per_reason} pairs of each reason</p>"]
    # the step with the most rejects, and its most frequent reason, are open on load
    per_step = counts.group_by("step").agg(pl.col("len").sum())
    biggest = per_step.sort(["len", "step"], descending=[True, False])["step"][0]
    for step in report.steps():
        mine = counts.filter(pl.col("step") == step)
        n = int(mine["len"].sum())
        parts.append(f'<details class="step" data-step="{escape(step)}"{" open" * (step == biggest)}><summary>'
                     f"<b>{escape(step)}</b>: {_n(n)} pair{'s' * (n != 1)} ({n / total:.1%} of the input)</summary>")
        for k, (reason, count) in enumerate(mine.select("reason", "len").iter_rows()):
            is_open = " open" * (step == biggest and k == 0)
            parts.append(f'<details class="reason" data-reason="{escape(reason)}"{is_open}><summary>'
                         f"{escape(reason)}: {_n(count)}</summary>"
                         f"{_pair_rows(report.sample(step, reason, per_reason))}</details>")
        parts.append("</details>")
    return "".join(parts)


def direction_table(report: RunReport) -> str:
    directions, kept, dropped = report.direction_counts()
    steps = report.steps()
    rows = []
    for pair in directions:
        total = kept[pair] + sum(dropped[pair].values())
        cells = "".join(f'<td class="n">{_n(dropped[pair][s])}</td>' for s in steps)
        rows.append(f'<tr><td>{escape(pair)}</td><td class="n">{_n(total)}</td>{cells}'
                    f'<td class="n">{_n(kept[pair])}</td><td class="n">{kept[pair] / total:.1%}</td></tr>')
    return _table(["direction", "input", *(f"− {s}" for s in steps), "kept", "kept %"], rows, "directions",
                  range(1, len(steps) + 4))


def _image(folder: Path, name: str) -> str:
    data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
    return f'<figure><img alt="{escape(name)}" src="data:image/png;base64,{data}"></figure>'


def render(report: RunReport, plots: list[str]) -> str:
    """The whole page."""
    title = f"Curation report: {report.run_dir.name}"
    funnel_plot = _image(report.folder, "funnel.png") if "funnel.png" in plots else ""
    others = "".join(_image(report.folder, name) for name in plots if name != "funnel.png")
    body = [f"<h1>{escape(title)}</h1>", summary(report),
            "<h2>Rejected pairs, by step and reason</h2>", rejected_pairs(report),
            "<h2>Funnel</h2>", funnel_plot, funnel_table(report),
            "<h2>Per direction (pairs rejected by each step, in pipeline order)</h2>", direction_table(report),
            "<h2>Plots</h2>", others]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f"<body>{''.join(body)}<script>{SCRIPT}</script></body></html>\n")


def write_html(report: RunReport, plots: list[str]) -> Path:
    """Write `<run>/report/report.html` (after the plots); return its path."""
    path = report.folder / "report.html"
    path.write_text(render(report, plots), encoding="utf-8")
    return path
