"""LLaMA-Factory's own loader (release 0.9.5, in its own venv: `.ci/llamafactory_env.sh`) reads every chat layout
a run writes, through the `dataset_info.json` the run writes beside them, and labels the tokens our trainer does.

Before: no run wrote `dataset_info.json`, and the entries `llamafactory_dataset_info` made mapped a `system`
column the chat files never have: LLaMA-Factory's converter.py stopped with KeyError: 'system'.
The venv is built by CI (.ci/run); elsewhere the test is skipped until `bash .ci/llamafactory_env.sh` has run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from xplus.curate.export import LAYOUTS
from xplus.curate.readers.moses import MosesReader
from xplus.curate.template import InstructionTemplater
from xplus.curate.writers import ChatJsonlWriter
from xplus.train.data import IGNORE_INDEX, encode_chat

from ..conftest import REPO_ROOT, run_pipeline

VENV = Path(os.environ.get("XPLUS_LLAMAFACTORY_VENV", REPO_ROOT / ".cache" / "llamafactory-venv"))
DRIVER = Path(__file__).with_name("llamafactory_load.py")


@pytest.fixture(scope="module")
def llamafactory_python() -> Path:
    python = VENV / "bin" / "python"
    if not (VENV / ".llamafactory-0.9.5-ready").is_file():
        message = f"LLaMA-Factory's venv is missing ({VENV}): bash .ci/llamafactory_env.sh builds it"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return python


def _system_prompt_run(bitext: Path, out: Path) -> Path:
    """A small run of our templater with a system prompt, in every layout (the system turn's path)."""
    reader = MosesReader(bitext / "tico19" / "eng-swa", "eng", "swa", limit=12)
    run_pipeline([reader, InstructionTemplater(system_prompt="You are a careful translator.")]
                 + [ChatJsonlWriter(out / "output" / f"chat-{layout}", layout=layout) for layout in LAYOUTS],
                 out / "logs")
    return out / "output"


def _expected(tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    """Our trainer's ids and labels, with the newline after `<|im_end|>` labelled as well: LLaMA-Factory's qwen3
    template trains `answer<|im_end|>\\n`; everything else (prompt, the empty think block) is masked in both."""
    ours = encode_chat(tokenizer, messages)
    assert tokenizer.decode(ours.input_ids[-1:]) == "\n" and ours.labels[-1] == IGNORE_INDEX
    return ours.input_ids, ours.labels[:-1] + ours.input_ids[-1:]


def test_llamafactory_loads_every_layout_with_our_masks(llamafactory_python, demo_run, qwen3, bitext, tmp_path,
                                                        capsys):
    system_output = _system_prompt_run(bitext, tmp_path / "system-run")
    specs = [f"{folder}:xplus_{layout}" for folder in (demo_run / "output", system_output) for layout in LAYOUTS]
    for folder in (demo_run / "output", system_output):
        info = json.loads((folder / "dataset_info.json").read_text())
        assert sorted(info) == sorted(f"xplus_{layout}" for layout in LAYOUTS)
    out = tmp_path / "loaded.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["HF_DATASETS_CACHE"] = str(tmp_path / "hf-datasets")  # its dataset cache stays out of the user's home
    done = subprocess.run([str(llamafactory_python), str(DRIVER), str(qwen3), str(out), str(tmp_path / "work"),
                           *specs], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1200)
    log = [line for line in (done.stdout + done.stderr).splitlines()
           if "llamafactory" in line and ("Loading dataset" in line or "get_dataset" in line)]
    with capsys.disabled():
        print("\n" + "\n".join(log))
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(out.read_text())
    tokenizer = AutoTokenizer.from_pretrained(qwen3)
    for spec in specs:
        folder = Path(spec.rsplit(":", 1)[0])
        (chat_file,) = (folder / "chat-messages").glob("*.jsonl")
        chats = [json.loads(line)["messages"] for line in chat_file.read_text(encoding="utf-8").splitlines()]
        rows = loaded[spec]
        assert len(rows) == len(chats) > 0, spec
        for messages, row in list(zip(chats, rows, strict=True))[::25 if len(rows) > 100 else 1]:
            ids, labels = _expected(tokenizer, messages)
            assert (row["input_ids"], row["labels"]) == (ids, labels), (spec, messages)
            if messages[0]["role"] == "system":
                assert tokenizer.decode(row["input_ids"]).startswith(f"<|im_start|>system\n{messages[0]['content']}")
