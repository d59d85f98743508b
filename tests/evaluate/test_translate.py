"""`xplus evaluate translate` end to end: a tiny random Qwen3 model translates FLORES sample lines, the run is
scored (spBLEU with a SentencePiece model trained here, chrF++), reported, resumed and guarded."""

from __future__ import annotations

import json

from sacrebleu.metrics import BLEU

from xplus.evaluate.runs import load_segments
from xplus.pipelines.cli import main


def _translate(model, flores_dir, out, *extra):
    return main(["evaluate", "translate", "--model", str(model), "--flores", str(flores_dir), "-o", str(out),
                 "--languages", "en", "sw", "zh", "--directions", "en-x", "x-en", "zh-sw", "--limit", "3",
                 "--max-new-tokens", "6", "--batch-size", "2", "--device", "cpu", *extra])


def test_tiny_qwen3_translates_flores_through_the_whole_path(tiny_model_dir, flores_dir, offline_spm, tmp_path,
                                                             capsys):
    run = tmp_path / "run"
    assert _translate(tiny_model_dir, flores_dir, run) == 0
    out = capsys.readouterr().out
    assert "## Per language (Table 1 layout" in out and "wrote " in out

    scores = json.loads((run / "scores.json").read_text(encoding="utf-8"))
    assert list(scores["directions"]) == ["eng_Latn-swh_Latn", "eng_Latn-zho_Hans", "swh_Latn-eng_Latn",
                                          "zho_Hans-eng_Latn", "zho_Hans-swh_Latn"]
    assert "tok:flores200" in scores["metrics"]["spbleu"]["signature"]
    assert "nw:2" in scores["metrics"]["chrf++"]["signature"]
    assert scores["settings"]["flores"] == {"location": str(flores_dir), "split": "devtest", "revision": None}
    english = (flores_dir / "devtest" / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()[:3]
    swahili = (flores_dir / "devtest" / "swh_Latn.txt").read_text(encoding="utf-8").splitlines()[:3]
    rows = load_segments(run, "eng_Latn-swh_Latn")
    assert [row["src"] for row in rows] == english and [row["ref"] for row in rows] == swahili
    assert all("\n" not in row["hyp"] and "<think>" not in row["hyp"] for row in rows)
    expected = BLEU(tokenize="flores200").corpus_score([row["hyp"] for row in rows], [swahili]).score
    assert scores["directions"]["eng_Latn-swh_Latn"]["scores"]["spbleu"] == expected
    for name in ("report.md", "report.csv", "report.json", "heatmap-spbleu.png", "heatmap-chrf++.png"):
        assert (run / name).stat().st_size > 0

    # a rerun resumes from the cache: nothing is translated again, the scores are the same
    cache = run / "translations" / "eng_Latn-swh_Latn.jsonl"
    before = cache.stat().st_mtime_ns
    assert _translate(tiny_model_dir, flores_dir, run) == 0
    assert cache.stat().st_mtime_ns == before
    assert json.loads((run / "scores.json").read_text(encoding="utf-8")) == scores

    # other settings into the same folder are refused
    capsys.readouterr()
    assert _translate(tiny_model_dir, flores_dir, run, "--split", "dev") == 1
    assert "holds a run with other settings (flores differ)" in capsys.readouterr().err


def test_missing_flores_file_fails_before_loading_the_model(tmp_path, capsys):
    (tmp_path / "flores" / "devtest").mkdir(parents=True)
    code = main(["evaluate", "translate", "--model", str(tmp_path / "no-model"), "--flores", str(tmp_path / "flores"),
                 "-o", str(tmp_path / "run"), "--languages", "en", "sw"])
    assert code == 1
    assert "no FLORES devtest file for" in capsys.readouterr().err


def test_missing_local_model_is_named_before_anything_loads(flores_dir, tmp_path, capsys):
    """It read "Repo id must use alphanumeric chars" (the Hub client's answer to a path)."""
    missing = tmp_path / "models" / "qwen3-xplus"
    code = main(["evaluate", "translate", "--model", str(missing), "--flores", str(flores_dir),
                 "-o", str(tmp_path / "run"), "--languages", "en", "sw", "--limit", "2"])
    err = capsys.readouterr().err
    assert code == 1 and f"{missing}: no such file or folder" in err and "Repo id" not in err
    assert not (tmp_path / "run").exists()


def test_missing_spbleu_model_fails_before_generation(tiny_model_dir, flores_dir, tmp_path, monkeypatch, capsys):
    """spBLEU's SentencePiece model was found missing only after all generation."""
    from sacrebleu.tokenizers import tokenizer_spm

    from xplus.evaluate.generate import HFGenerator

    def offline(url, path):
        raise OSError(f"no network for {url}")

    def generation_started(*args, **kwargs):
        raise AssertionError("the model was loaded before the metrics were checked")

    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(tmp_path / "sacrebleu"))
    monkeypatch.setattr(tokenizer_spm, "download_file", offline)
    monkeypatch.setattr(HFGenerator, "load", generation_started)
    assert _translate(tiny_model_dir, flores_dir, tmp_path / "run") == 1
    assert "flores200sacrebleuspm" in capsys.readouterr().err


def test_overwrite_deletes_only_an_earlier_evaluation_run(flores_dir, offline_spm, tmp_path, capsys):
    """`--overwrite` ran rmtree on whatever -o named (the same bug as curate run's)."""
    precious = tmp_path / "my-data"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me\n")
    code = main(["evaluate", "translate", "--model", str(tmp_path), "--flores", str(flores_dir), "-o", str(precious),
                 "--languages", "en", "sw", "--limit", "2", "--overwrite"])
    assert code == 1 and "not an xplus evaluation run" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me\n"
