"""Tiny random models and tokenizers built in the test session (no Hub) with `xplus.pipelines.toy_models`: a
Qwen3 and a Llama architecture with 8 layers of width 64, a byte-level BPE trained on real bitext, and the
real chat templates' logic (Qwen3's template with its thinking handling; Llama 3's header/eot layout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xplus.curate.prompts import benchmax_prompt, chat_messages
from xplus.pipelines.toy_models import toy_causal_lm, toy_tokenizer


def tico_pairs(bitext: Path, n: int) -> list[tuple[str, str]]:
    folder = bitext / "tico19" / "eng-swa"
    en = (folder / "tico19-test.eng").read_text(encoding="utf-8").splitlines()
    sw = (folder / "tico19-test.swa").read_text(encoding="utf-8").splitlines()
    return [(e, s) for e, s in zip(en, sw, strict=True) if e.strip() and s.strip()][:n]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny matmuls on a shared 2-core machine run ~15x faster on one thread than fighting over two."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def pairs(bitext) -> list[tuple[str, str]]:
    return tico_pairs(bitext, 400)


@pytest.fixture(scope="session", params=["qwen3", "llama"])
def tiny_model_dir(request, tmp_path_factory, pairs) -> Path:
    """A saved tiny model + tokenizer of each family, loadable by path like a Hub checkpoint."""
    return save_model(tmp_path_factory.mktemp(f"tiny-{request.param}"), request.param, pairs)


def save_model(path: Path, kind: str, pairs: list[tuple[str, str]], **overrides) -> Path:
    """A tiny model of the family and its tokenizer saved to `path`, loadable like a Hub checkpoint."""
    tokenizer = toy_tokenizer([t for pair in pairs for t in pair], kind)
    toy_causal_lm(kind, len(tokenizer), **overrides).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def qwen3_dir(tmp_path_factory, pairs) -> Path:
    return save_model(tmp_path_factory.mktemp("tiny-qwen3"), "qwen3", pairs)


def write_chat_records(path: Path, pairs: list[tuple[str, str]]) -> Path:
    """Chat records laid out like curation step 6's `chat-messages` JSONL (BenchMAX prompt, en -> sw)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for en, sw in pairs:
            row = {"messages": chat_messages(benchmax_prompt(en, "eng_Latn", "swh_Latn"), sw),
                   "src": "eng_Latn", "trg": "swh_Latn", "src_line": en, "tgt_line": sw}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def chat_file(tmp_path_factory, pairs) -> Path:
    return write_chat_records(tmp_path_factory.mktemp("chat") / "00000.jsonl", pairs[:24])
