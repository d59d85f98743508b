"""Corpus scores (`xplus.evaluate.metrics`) and `xplus evaluate score`, checked against sacrebleu's own CLI
on real FLORES-200 sentences with perturbed hypotheses. Nothing here touches the network: the SentencePiece
model for spBLEU is either refused (offline error) or trained in the test."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest
from sacrebleu.tokenizers import tokenizer_spm

from xplus.evaluate.metrics import (
    SpmModelMissingError,
    read_segments,
    score_files,
    score_segments,
    spm_model_path,
)
from xplus.pipelines.cli import main

from ..conftest import shared_data_dir

DATA = shared_data_dir()
ENG = DATA / "flores200" / "dev" / "eng_Latn.txt"
WIDTH = 4  # decimals sacrebleu's CLI prints (-w); our scores are compared at this precision


def _perturb(line: str, rng: random.Random) -> str:
    """A plausible system output: the reference with a word dropped, swapped, replaced or recased."""
    words = line.split()
    for _ in range(rng.randint(0, 3)):
        i = rng.randrange(len(words) - 1)
        operation = rng.choice(("drop", "swap", "replace", "lower"))
        if operation == "drop":
            del words[i]
        elif operation == "swap":
            words[i], words[i + 1] = words[i + 1], words[i]
        elif operation == "replace":
            words[i] = rng.choice(("the", "a", "very", "translation"))
        else:
            words[i] = words[i].lower()
    return " ".join(words)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """(hypothesis file, reference file): 200 FLORES-200 dev sentences and perturbed copies of them."""
    if not ENG.is_file():
        pytest.skip(f"FLORES-200 dev data not found at {ENG}")
    references = ENG.read_text(encoding="utf-8").splitlines()[:200]
    hypotheses = [_perturb(line, random.Random(i)) for i, line in enumerate(references)]
    folder = tmp_path_factory.mktemp("corpus")
    hyp, ref = folder / "hyp.txt", folder / "ref.txt"
    hyp.write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
    ref.write_text("\n".join(references) + "\n", encoding="utf-8")
    return hyp, ref


@pytest.fixture
def sacrebleu_dir(tmp_path, monkeypatch) -> Path:
    """An empty sacrebleu cache dir, for this process and for sacrebleu CLI subprocesses, with downloads
    refused. sacrebleu reads $SACREBLEU once at import, so its module-level copy is patched too."""
    folder = tmp_path / "sacrebleu"
    folder.mkdir()
    monkeypatch.setenv("SACREBLEU", str(folder))
    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(folder))
    return folder


def _sacrebleu_cli(ref: Path, hyp: Path, *options: str) -> list[dict]:
    command = [sys.executable, "-m", "sacrebleu", str(ref), "-i", str(hyp), "-w", str(WIDTH), *options]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=dict(os.environ))
    result = json.loads(done.stdout)
    return result if isinstance(result, list) else [result]  # one metric prints one object, not a list


def test_bleu_and_chrf_plus_plus_equal_sacrebleu_cli(corpus, sacrebleu_dir):
    hyp, ref = corpus
    bleu, chrf = score_files(hyp, ref, ["bleu", "chrf++"])
    cli_bleu, cli_chrf = _sacrebleu_cli(ref, hyp, "-m", "bleu", "chrf", "--chrf-word-order", "2")
    assert (bleu.metric, chrf.metric) == ("bleu", "chrf++")
    for ours, theirs in ((bleu, cli_bleu), (chrf, cli_chrf)):
        assert float(f"{ours.score:.{WIDTH}f}") == theirs["score"]
        assert ours.signature == theirs["signature"]
    assert "tok:13a" in bleu.signature
    assert "nw:2" in chrf.signature
    assert 20 < bleu.score < 100 and 20 < chrf.score < 100  # perturbed, not garbage


def test_spbleu_with_a_local_model_equals_sacrebleu_cli(corpus, sacrebleu_dir, monkeypatch, tmp_path):
    spm = pytest.importorskip("sentencepiece", reason="sentencepiece is not installed (spBLEU needs it)")
    hyp, ref = corpus
    spm.SentencePieceTrainer.train(
        input=str(ENG), model_prefix=str(tmp_path / "spm"), vocab_size=1000, minloglevel=2
    )
    model = spm_model_path("flores200")
    model.parent.mkdir()
    (tmp_path / "spm.model").rename(model)
    monkeypatch.setattr(tokenizer_spm, "download_file", _refuse_download)

    (spbleu,) = score_files(hyp, ref, ["spbleu"])
    (cli_spbleu,) = _sacrebleu_cli(ref, hyp, "-m", "bleu", "-tok", "flores200")
    assert float(f"{spbleu.score:.{WIDTH}f}") == cli_spbleu["score"]
    assert spbleu.signature == cli_spbleu["signature"]
    assert "tok:flores200" in spbleu.signature


def _refuse_download(url: str, dest_path: str) -> None:
    Path(dest_path).parent.mkdir(parents=True, exist_ok=True)
    Path(dest_path).write_bytes(b"partial")  # what an interrupted download leaves behind
    raise urllib.error.URLError("network is unreachable")


def test_spbleu_offline_error_says_where_the_model_goes(corpus, sacrebleu_dir, monkeypatch):
    hyp, ref = corpus
    requested = []

    def refuse(url: str, dest_path: str) -> None:
        requested.append((url, dest_path))
        _refuse_download(url, dest_path)

    monkeypatch.setattr(tokenizer_spm, "download_file", refuse)
    model = sacrebleu_dir / "models" / "flores200sacrebleuspm"
    model.parent.mkdir()
    model.touch()  # an empty file, left by an earlier failed download, counts as absent
    with pytest.raises(SpmModelMissingError) as error:
        score_files(hyp, ref, ["bleu", "spbleu"])
    message = str(error.value)
    url = tokenizer_spm.SPM_MODELS["flores200"]["url"]
    assert requested == [(url, str(model))]
    assert f"not at {model}" in message
    assert "URLError" in message and "network is unreachable" in message
    assert f"$SACREBLEU (default ~/.sacrebleu; now {sacrebleu_dir})" in message
    assert f"curl -L -o flores200sacrebleuspm {url}" in message
    assert not model.exists()  # the partial download is gone, so the next run tries again


def test_spbleu_offline_error_on_ssl_failure_and_from_the_cli(corpus, sacrebleu_dir, monkeypatch, capsys):
    def exits(url: str, dest_path: str) -> None:
        raise SystemExit(1)  # what sacrebleu's downloader does on an SSL error

    monkeypatch.setattr(tokenizer_spm, "download_file", exits)
    hyp, ref = corpus
    assert main(["evaluate", "score", "--hyp", str(hyp), "--ref", str(ref), "-m", "spbleu-flores101"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("xplus evaluate score: error: spBLEU needs sacrebleu's flores101 SentencePiece")
    assert str(sacrebleu_dir / "models" / "sacrebleu_tokenizer_spm.model") in err


def test_cli_table_and_json(corpus, capsys):
    hyp, ref = corpus
    expected = score_files(hyp, ref, ["bleu", "chrf++"])
    args = ["evaluate", "score", "--hyp", str(hyp), "--ref", str(ref), "-m", "bleu", "chrf++"]

    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "metric   score  signature",
        *(f"{s.metric.ljust(6)}  {s.score:6.2f}  {s.signature}" for s in expected),
    ]

    assert main([*args, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["hyp"] == str(hyp) and payload["ref"] == str(ref)
    assert payload["scores"] == [
        {"metric": s.metric, "score": s.score, "signature": s.signature} for s in expected
    ]


def test_line_count_mismatch_names_both_files(corpus, tmp_path, capsys):
    hyp, ref = corpus
    short = tmp_path / "short.txt"
    short.write_text("\n".join(read_segments(hyp)[:150]) + "\n", encoding="utf-8")
    message = f"hypothesis file {short} has 150 lines but reference file {ref} has 200"
    with pytest.raises(ValueError, match=message):
        score_files(short, ref, ["bleu"])
    assert main(["evaluate", "score", "--hyp", str(short), "--ref", str(ref), "-m", "bleu"]) == 1
    assert message in capsys.readouterr().err


def test_segments_are_read_like_sacrebleu_cli(tmp_path):
    path = tmp_path / "segments.txt"
    path.write_bytes("one  \r\ntwo\u00a0\nthree\n".encode())
    assert read_segments(path) == ["one", "two", "three"]


def test_score_segments_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown metric"):
        score_segments(["a"], ["a"], ["meteor"])
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        score_segments(["a", "b"], ["a"], ["bleu"])
    with pytest.raises(ValueError, match="no segments"):
        score_segments([], [], ["bleu"])


def test_missing_file_is_a_cli_error(tmp_path, capsys):
    absent = tmp_path / "absent.txt"
    assert main(["evaluate", "score", "--hyp", str(absent), "--ref", str(absent), "-m", "bleu"]) == 1
    assert "No such file" in capsys.readouterr().err
