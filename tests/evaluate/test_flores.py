"""FLORES sources (the sample layout, both release layouts, a Hub id) and direction presets."""

from __future__ import annotations

import pytest

from xplus.curate.flores import Direction
from xplus.evaluate.flores import flores_source, resolve_directions, resolve_languages


def test_sample_layout_reads_the_repo_flores(flores_dir):
    source = flores_source(str(flores_dir), "devtest")
    english, chinese = source.lines("en"), source.lines("zh")
    assert len(english) == len(chinese) == 1012
    assert english[0] == (flores_dir / "devtest" / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()[0]
    assert len(flores_source(str(flores_dir), "dev").lines("swh_Latn")) == 997


def test_release_layouts_flores200_and_flores101(tmp_path):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "eng_Latn.dev").write_text("one\ntwo\n", encoding="utf-8")  # FLORES-200 release
    (tmp_path / "dev" / "zho_simpl.dev").write_text("一\n二\n", encoding="utf-8")  # FLORES-101 release
    source = flores_source(str(tmp_path), "dev")
    assert source.lines("en") == ["one", "two"]
    assert source.lines("zho_Hans") == ["一", "二"]
    with pytest.raises(FileNotFoundError, match=r"swh_Latn\.dev, \S+/swh_Latn\.txt, \S+/swh\.dev"):
        source.lines("sw")


def test_hub_dataset_needs_a_revision_and_reads_the_text_column(monkeypatch):
    with pytest.raises(ValueError, match="pinned revision"):
        flores_source("openlanguagedata/flores_plus")
    calls = []

    class Rows:
        column_names = ["id", "text"]

        def __getitem__(self, column):
            return ["a", "b"]

    def load_dataset(path, name, split, revision):
        calls.append((path, name, split, revision))
        return Rows()

    import datasets

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    source = flores_source("openlanguagedata/flores_plus", "devtest", "abc123")
    assert source.lines("sw") == ["a", "b"]
    assert calls == [("openlanguagedata/flores_plus", "swh_Latn", "devtest", "abc123")]
    assert source.describe() == {"location": "openlanguagedata/flores_plus", "split": "devtest", "revision": "abc123"}


def test_direction_presets_and_pairs():
    languages = resolve_languages(["zh", "en", "sw"])
    assert languages == ["eng_Latn", "zho_Hans", "swh_Latn"]
    assert [d.name for d in resolve_directions(["en-x", "x-en"], languages)] == [
        "eng_Latn-zho_Hans", "eng_Latn-swh_Latn", "zho_Hans-eng_Latn", "swh_Latn-eng_Latn"]
    x_y = resolve_directions(["x-y"], languages)
    assert [d.name for d in x_y] == ["zho_Hans-swh_Latn", "swh_Latn-zho_Hans"]
    assert {d.group for d in resolve_directions(["all"], languages)} == {"en->x", "x->en", "x->y"}
    assert len(resolve_directions(["all"], resolve_languages(None))) == 17 * 16
    assert resolve_directions(["en-zh", "zh-Hant-en", "en-zh"], languages) == [
        Direction("eng_Latn", "zho_Hans"), Direction("zho_Hant", "eng_Latn")]


def test_bad_directions_are_errors():
    with pytest.raises(ValueError, match="into itself"):
        Direction.parse("en-eng_Latn")
    with pytest.raises(ValueError, match="no direction"):
        Direction.parse("english")
    with pytest.raises(ValueError, match="no directions"):
        resolve_directions(["en-x"], ["eng_Latn"])
