"""One demo run shared by the client tests: every output layout the curation writes, from the bundled sample."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from xplus.pipelines.cli import main

from ..train.conftest import save_model, tico_pairs


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("demo-run")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["curate", "run", "demo", "-o", str(run_dir), "--overwrite"]) == 0
    return run_dir


@pytest.fixture(scope="session")
def qwen3(tmp_path_factory, bitext) -> Path:
    """A tiny random Qwen3 and its tokenizer (Qwen3's chat template), saved like a Hub checkpoint."""
    return save_model(tmp_path_factory.mktemp("tiny-qwen3"), "qwen3", tico_pairs(bitext, 400))
