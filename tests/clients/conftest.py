"""One demo run shared by the client tests: every output layout the curation writes, from the bundled sample."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from xplus.pipelines.cli import main


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("demo-run")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["curate", "run", "demo", "-o", str(run_dir), "--overwrite"]) == 0
    return run_dir
