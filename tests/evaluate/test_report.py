"""Reports: the Table 1 aggregation on a fixture with known numbers, and the files written."""

from __future__ import annotations

import csv
import json

import pytest

from xplus.evaluate.report import markdown, table1, write_reports

SCORES = {  # (src, tgt): spBLEU; en->sw is missing on purpose
    ("eng_Latn", "deu_Latn"): 30.0, ("eng_Latn", "zho_Hans"): 20.0,
    ("deu_Latn", "eng_Latn"): 40.0, ("zho_Hans", "eng_Latn"): 25.0,
    ("deu_Latn", "zho_Hans"): 10.0, ("zho_Hans", "deu_Latn"): 12.0, ("swh_Latn", "deu_Latn"): 14.0,
}


def _group(src, tgt):
    return "en->x" if src == "eng_Latn" else "x->en" if tgt == "eng_Latn" else "x->y"


@pytest.fixture
def scores() -> dict:
    directions = {
        f"{src}-{tgt}": {"src": src, "tgt": tgt, "group": _group(src, tgt), "segments": 10,
                         "scores": {"spbleu": value, "chrf++": value + 20}}
        for (src, tgt), value in SCORES.items()
    }
    directions["eng_Latn-deu_Latn"]["scores"]["xcomet"] = 80.0
    return {"settings": {"model": "tiny", "flores": {"location": "flores", "split": "devtest", "revision": None}},
            "metrics": {"spbleu": {"signature": "nrefs:1|tok:flores200"}}, "directions": directions}


def test_table1_means_per_language(scores):
    table = table1(scores)
    assert list(table) == ["deu_Latn", "zho_Hans", "swh_Latn", "avg"]
    assert table["deu_Latn"]["spbleu"] == {"en->x": 30.0, "x->en": 40.0, "x->y": 13.0}  # (12 + 14) / 2 into deu
    assert table["zho_Hans"]["spbleu"] == {"en->x": 20.0, "x->en": 25.0, "x->y": 10.0}
    assert table["swh_Latn"]["spbleu"] == {"en->x": None, "x->en": None, "x->y": None}
    assert table["avg"]["spbleu"] == {"en->x": 25.0, "x->en": 32.5, "x->y": 11.5}
    assert table["avg"]["chrf++"] == {"en->x": 45.0, "x->en": 52.5, "x->y": 31.5}
    assert table["avg"]["xcomet"] == {"en->x": 80.0, "x->en": None, "x->y": None}


def test_reports_are_written(scores, tmp_path):
    written = write_reports(scores, tmp_path)
    assert [path.name for path in written] == ["report.md", "report.csv", "report.json", "heatmap-spbleu.png",
                                               "heatmap-chrf++.png", "heatmap-xcomet.png"]
    assert all(path.read_bytes()[:4] == b"\x89PNG" for path in written[3:])
    text = markdown(scores)
    assert "| language | spbleu en->x | spbleu x->en | spbleu x->y | chrf++ en->x |" in text
    assert "| deu_Latn | 30.00 | 40.00 | 13.00 | 50.00 | 60.00 | 33.00 | 80.00 |  |  |" in text
    assert "| avg | 25.00 | 32.50 | 11.50 |" in text
    assert "| swh_Latn-deu_Latn | x->y | 10 | 14.00 | 34.00 |  |" in text
    with open(tmp_path / "report.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * len(SCORES) + 1
    assert rows[0] == {"direction": "eng_Latn-deu_Latn", "src": "eng_Latn", "tgt": "deu_Latn", "group": "en->x",
                       "segments": "10", "metric": "spbleu", "score": "30.0000"}
    payload = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert payload["table1"]["avg"]["spbleu"]["x->en"] == 32.5
    assert payload["directions"] == scores["directions"]


def test_heatmap_shows_one_decimal_and_its_whole_title(scores):
    """Before: values rounded to integers (30.12 showed as 30) and a long model path cut off the title."""
    from xplus.evaluate.report import heatmap_figure

    scores["settings"]["model"] = "/work/runs/toy-layer-selective/checkpoints/final-merged-model-with-a-long-name"
    scores["directions"]["eng_Latn-deu_Latn"]["scores"]["spbleu"] = 30.12
    figure = heatmap_figure(scores, "spbleu")
    axes = figure.axes[0]
    cells = {text.get_text() for text in axes.texts}
    assert {"30.1", "20.0", "40.0", "25.0", "10.0", "12.0", "14.0"} == cells
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    title, box = axes.title.get_window_extent(renderer), figure.bbox
    assert box.x0 <= title.x0 and title.x1 <= box.x1 and title.y1 <= box.y1
    assert "final-merged-model-with-a-long-name" in axes.get_title().replace("\n", "")
    assert axes.get_xlabel() == "target language" and axes.get_ylabel() == "source language"
    import matplotlib.pyplot as plt

    plt.close(figure)
