"""A run killed mid-way (SIGKILL) and resumed gives the same output as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _rows(folder: Path) -> list[str]:
    return sorted(line for path in folder.rglob("*.jsonl") for line in path.read_text().splitlines())


def _run(recipe: Path, run_dir: Path, *flags: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "xplus.pipelines.cli", "curate", "run", str(recipe), "-o",
                             str(run_dir), "--tasks", "4", "--workers", "1", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_output(bitext, tmp_path):
    folder = bitext / "opus-globalvoices" / "en-sw"
    data = tmp_path / "data"
    data.mkdir()
    for part in range(4):  # 4 files of 20k real lines: each task takes a moment
        for side in ("en", "sw"):
            (data / f"part{part}.{side}").write_bytes((folder / f"GlobalVoices.{side}").read_bytes() * 4)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: resume\nsources:\n  - reader: moses\n    path: {data}\n    src_lang: en\n"
                      f"    tgt_lang: sw\nsteps:\n  clean: {{}}\n  length: {{}}\n  template: {{}}\n")
    assert _run(recipe, tmp_path / "whole").wait(timeout=300) == 0

    killed = _run(recipe, tmp_path / "killed")
    completions = tmp_path / "killed" / "logs" / "00-curate" / "completions"
    deadline = time.monotonic() + 120
    while not (completions.is_dir() and any(completions.iterdir())):
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    done = len(list(completions.iterdir()))
    assert 1 <= done < 4, f"{done} tasks had completed when the run was killed"

    resumed = _run(recipe, tmp_path / "killed", "--resume")
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0 and "accounting OK: input 80000" in out
    for part in ("output/jsonl", "output/chat-messages", "rejects"):
        assert _rows(tmp_path / "killed" / part) == _rows(tmp_path / "whole" / part), part
