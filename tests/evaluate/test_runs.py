"""Run folders: settings guard and xCOMET scores reused by a rerun."""

from __future__ import annotations

import pytest

import xplus.evaluate.runs as runs
from xplus.curate.flores import Direction


def test_xcomet_is_scored_once_per_translation_and_model(tmp_path, monkeypatch):
    calls = []

    def fake_scores(rows, model, env, batch_size):
        calls.append((len(rows), model))
        return [0.5] * len(rows)

    monkeypatch.setattr(runs, "xcomet_scores", fake_scores)
    runs.write_settings(tmp_path, {"model": "m"})
    rows = [{"i": i, "src": f"s{i}", "ref": f"the ref {i}", "hyp": f"the hyp {i}"} for i in range(3)]
    translations = {Direction("eng_Latn", "deu_Latn"): rows, Direction("deu_Latn", "eng_Latn"): rows}
    first = runs.score_run(tmp_path, translations, ["bleu"], xcomet="XL")
    assert first["directions"]["eng_Latn-deu_Latn"]["scores"]["xcomet"] == 50.0
    assert first["metrics"]["xcomet"]["model"] == "Unbabel/XCOMET-XL"
    assert runs.score_run(tmp_path, translations, ["bleu"], xcomet="XL") == first
    changed = {**translations, Direction("deu_Latn", "eng_Latn"): [{**rows[0], "hyp": "new"}, *rows[1:]]}
    runs.score_run(tmp_path, changed, ["bleu"], xcomet="XL")
    runs.score_run(tmp_path, changed, ["bleu"], xcomet="XXL")
    assert calls == [(6, "Unbabel/XCOMET-XL"), (3, "Unbabel/XCOMET-XL"), (6, "Unbabel/XCOMET-XXL")]


def test_other_settings_are_refused(tmp_path):
    runs.write_settings(tmp_path, {"model": "a", "limit": 3})
    runs.write_settings(tmp_path, {"model": "a", "limit": 3})
    with pytest.raises(runs.RunMismatchError, match=r"\(limit differ\)"):
        runs.write_settings(tmp_path, {"model": "a", "limit": 4})
