"""Shared fixtures: the real sample data in ../shared/data and a helper to run datatrove pipelines."""

from __future__ import annotations

import os
import sys

# the tests never reach the network: Hub libraries must not try (and wait) either
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
from pathlib import Path

import pytest
from datatrove.executor import LocalPipelineExecutor

# where the real sample data is: the package's one rule ($XPLUS_SHARED_DATA, else ../shared/data), as the
# benchmarks and the toy end-to-end run locate it
from xplus.pipelines.shared_data import shared_data_dir

__all__ = ["REPO_ROOT", "block_stats", "run_pipeline", "shared_data_dir"]

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """accelerate keeps one process-wide state: a test whose trainer set it up (TRL's SFTTrainer picks its own
    mixed precision) would make every later `Accelerator(...)` with other settings raise. Each test starts clean."""
    yield
    if "accelerate.state" in sys.modules:
        sys.modules["accelerate.state"].AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "README.md").is_file():
        pytest.fail(f"the real sample data is missing: expected {path} (set XPLUS_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def bitext(shared_data) -> Path:
    return shared_data / "bitext"


def run_pipeline(pipeline: list, logging_dir: Path, tasks: int = 1) -> None:
    """Run blocks with datatrove's local executor, one worker, in this process."""
    LocalPipelineExecutor(pipeline, tasks=tasks, workers=1, logging_dir=str(logging_dir)).run()


def block_stats(logging_dir: Path, name: str) -> dict[str, float]:
    """The totals of the block whose name contains `name` in a run's `stats.json` (a stat updated once is a
    number there, one updated more often a dict holding its `total`)."""
    import json

    stats = json.loads((Path(logging_dir) / "stats.json").read_text())
    block = next(block["stats"] for block in stats if name in block["name"])
    return {key: value["total"] if isinstance(value, dict) else value for key, value in block.items()}
