"""Fixtures of the evaluator's tests: FLORES sample lines, a tiny random Qwen3 model folder, and sacrebleu's
FLORES-200 SentencePiece model replaced by one trained here (sacrebleu looks for it at
$SACREBLEU/models/flores200sacrebleuspm, see `xplus.evaluate.metrics.spm_model_path`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sacrebleu.tokenizers import tokenizer_spm

from tests.evaluate.tiny import save_tiny_model
from xplus.evaluate.metrics import spm_model_path


@pytest.fixture(scope="session")
def flores_dir(shared_data) -> Path:
    """This repo's FLORES-200 sample: <split>/<code>.txt for the 17 recipe languages."""
    return shared_data / "flores200"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, flores_dir) -> Path:
    lines = []
    for code in ("eng_Latn", "swh_Latn", "zho_Hans"):
        lines += (flores_dir / "dev" / f"{code}.txt").read_text(encoding="utf-8").splitlines()[:200]
    return save_tiny_model(tmp_path_factory.mktemp("tiny-qwen3"), lines)


@pytest.fixture(scope="session")
def trained_spm(tmp_path_factory, flores_dir) -> Path:
    """A small SentencePiece model trained on FLORES dev lines (standing in for sacrebleu's flores200 one)."""
    import sentencepiece

    folder = tmp_path_factory.mktemp("spm")
    text = folder / "text.txt"
    text.write_text("".join((flores_dir / "dev" / f"{code}.txt").read_text(encoding="utf-8")
                            for code in ("eng_Latn", "swh_Latn", "zho_Hans")), encoding="utf-8")
    sentencepiece.SentencePieceTrainer.train(input=str(text), model_prefix=str(folder / "spm"), vocab_size=2000,
                                             minloglevel=2)
    return folder / "spm.model"


def place_spm(monkeypatch: pytest.MonkeyPatch, model: Path, folder: Path) -> Path:
    """Point sacrebleu's cache at `folder` (for this process and sacrebleu subprocesses), put `model` there as its
    flores200 model, and make downloads fail."""
    monkeypatch.setenv("SACREBLEU", str(folder))
    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(folder))

    def refuse(url: str, dest_path: str) -> None:
        raise OSError(f"no network in tests ({url})")

    monkeypatch.setattr(tokenizer_spm, "download_file", refuse)
    path = spm_model_path("flores200")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.read_bytes())
    return path


@pytest.fixture
def offline_spm(trained_spm, tmp_path, monkeypatch) -> Path:
    """sacrebleu's cache in a temporary $SACREBLEU holding the trained model as its flores200 model."""
    return place_spm(monkeypatch, trained_spm, tmp_path / "sacrebleu")
