"""The one FLORES module: layouts, FLORES+ names, and the direction spelling every file we write shares."""

from __future__ import annotations

import json

import pytest

from xplus.curate.flores import (
    Direction,
    Flores,
    FloresNotFoundError,
    flores_plus_code,
    format_direction,
    parse_direction,
)
from xplus.curate.languages import RECIPE_LANGUAGES, get_language
from xplus.curate.loss import Calibrator, LossFilter
from xplus.pipelines.run import merge_thresholds
from xplus.train.sensitivity import flores_records


def test_every_layout_is_read_and_the_first_candidate_wins(tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "eng_Latn.dev").write_text("release\n", encoding="utf-8")  # FLORES-200 release
    (dev / "eng_Latn.txt").write_text("plain\n", encoding="utf-8")  # same language, plain: tried second
    (dev / "cmn_Hans.txt").write_text("一\n二\n", encoding="utf-8")  # FLORES+ name of zho_Hans
    (dev / "swh.dev").write_text("moja\r\nmbili\u2028bado\n", encoding="utf-8")  # FLORES-101 name, CRLF
    (dev / "notes.md").write_text("not FLORES\n", encoding="utf-8")
    flores = Flores(str(tmp_path))
    assert flores.lines("en") == ["release"]
    assert flores.lines("zh") == ["一", "二"]
    assert flores.lines("sw") == ["moja", "mbili\u2028bado"]  # lines end at \n only
    assert {code: path.name for code, path in flores.files().items()} == {
        "eng_Latn": "eng_Latn.dev", "swh_Latn": "swh.dev", "zho_Hans": "cmn_Hans.txt"}
    with pytest.raises(FloresNotFoundError, match=r"deu_Latn\.dev, .*deu_Latn\.txt, .*deu\.dev"):
        flores.lines("de")
    with pytest.raises(ValueError, match="split"):
        Flores(str(tmp_path), "test")


def test_the_shared_sample_is_a_release_root(shared_data):
    dev, devtest = Flores(shared_data / "flores200", "dev"), Flores(shared_data / "flores200", "devtest")
    assert len(dev.lines("eng_Latn")) == 997 and len(devtest.lines("zho_Hans")) == 1012
    assert set(dev.files()) == {get_language(code).flores200 for code in RECIPE_LANGUAGES}


def test_hub_reads_flores_plus_names(monkeypatch):
    calls = []

    class Rows:
        column_names = ["id", "iso_639_3", "text"]

        def __getitem__(self, column):
            return [f"{column} of {calls[-1][1]}"]

    def load_dataset(path, name, split, revision):
        calls.append((path, name, split, revision))
        return Rows()

    import datasets

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    assert Flores(hub_revision="abc").lines("zh") == ["text of cmn_Hans"]
    assert Flores.at("other/flores", "devtest", "r1").lines("zh") == ["text of zho_Hans"]  # FLORES-200 codes there
    assert calls == [("openlanguagedata/flores_plus", "cmn_Hans", "dev", "abc"),
                     ("other/flores", "zho_Hans", "devtest", "r1")]
    assert flores_plus_code("zh-Hant") == "cmn_Hant" and flores_plus_code("sw") == "swh_Latn"


def test_direction_spelling_round_trips():
    codes = [get_language(code).flores200 for code in RECIPE_LANGUAGES] + ["zho_Hant", "sat_Olck"]
    for src in codes:
        for tgt in codes:
            if src != tgt:
                assert parse_direction(format_direction(src, tgt)) == (src, tgt)
                assert Direction.parse(Direction(src, tgt).name) == Direction(src, tgt)
    assert format_direction("en", "zh-TW") == "eng_Latn-zho_Hant"
    for legacy in ("eng_Latn->swh_Latn", "eng_Latn→swh_Latn", "en-sw", "EN-US-sw"):
        assert parse_direction(legacy) == ("eng_Latn", "swh_Latn")
    for bad in ("eng_Latn", "english", "en-en"):
        with pytest.raises(ValueError):
            parse_direction(bad)


def test_a_runs_thresholds_table_feeds_back_as_thresholds(tmp_path):
    """Per-task tables -> the run's loss_thresholds.json -> `thresholds:` of the next run, unchanged."""
    given = {"eng_Latn-swh_Latn": 3.5, "zho_Hans->eng_Latn": 4.25, "deu_Latn→eng_Latn": 2.0}
    calibrator = Calibrator(None, Flores(), given=given, cache_dir=None)  # given thresholds never need the scorer
    calibrator.write_table(tmp_path / "loss_thresholds", "00000.json")
    rows = json.loads((tmp_path / "loss_thresholds" / "00000.json").read_text())
    assert {row["direction"] for row in rows} == {"eng_Latn-swh_Latn", "zho_Hans-eng_Latn", "deu_Latn-eng_Latn"}
    merge_thresholds(tmp_path)
    table = json.loads((tmp_path / "loss_thresholds.json").read_text())
    assert table == {"eng_Latn-swh_Latn": 3.5, "zho_Hans-eng_Latn": 4.25, "deu_Latn-eng_Latn": 2.0}
    again = Calibrator(None, Flores(), given=table, cache_dir=None)
    assert {t.direction: t.value for t in again.table.values()} == table
    assert LossFilter(thresholds=table).thresholds == table  # a recipe's `thresholds:` accepts it


def test_sensitivity_reads_the_release_root_or_its_dev_folder(shared_data):
    root = flores_records(shared_data / "flores200", ["en-sw", "zho_Hans-eng_Latn"], 2)
    assert list(root) == ["eng_Latn-swh_Latn", "zho_Hans-eng_Latn"]
    assert flores_records(shared_data / "flores200" / "dev", ["en-sw", "zho_Hans-eng_Latn"], 2) == root
    english = Flores(shared_data / "flores200").lines("en")[:2]
    assert [r["messages"][-1]["content"] for r in root["zho_Hans-eng_Latn"]] == english
