"""The demo recipe on a real SLURM cluster (Debian's slurmctld/slurmd/munge on loopback, started by
`.ci/slurm/setup.sh`), compared with the local executor. CI starts the cluster and sets
XPLUS_REQUIRE_SLURM=1, so there the test fails instead of skipping when the cluster is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from xplus.curate.accounting import run_funnel
from xplus.pipelines.cli import main


def _cluster_up() -> bool:
    return shutil.which("sbatch") is not None and subprocess.run(["scontrol", "ping"],
                                                                 capture_output=True).returncode == 0


def _rows(folder: Path) -> list[str]:
    return sorted(line for path in folder.rglob("*.jsonl") for line in path.read_text().splitlines())


@pytest.mark.slow
def test_demo_on_slurm_equals_local(tmp_path):
    if not _cluster_up():
        message = "no SLURM cluster: run `bash .ci/slurm/install.sh && bash .ci/slurm/setup.sh` and export " \
                  "SLURM_CONF=/tmp/slurm/slurm.conf"
        if os.environ.get("XPLUS_REQUIRE_SLURM"):
            pytest.fail(message)
        pytest.skip(message)
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    assert main(["curate", "run", "demo", "-o", str(local), "--tasks", "2", "--workers", "1"]) == 0
    assert main(["curate", "run", "demo", "-o", str(slurm), "--tasks", "2", "--executor", "slurm",
                 "--partition", os.environ.get("XPLUS_SLURM_PARTITION", "debug"), "--time", "00:10:00",
                 "--mem-per-cpu-gb", "1"]) == 0
    for folder in ("output/jsonl", "output/chat-messages", "rejects"):
        assert _rows(slurm / folder) == _rows(local / folder), folder
    assert run_funnel(slurm).check().input == 1300
    stages = sorted(p.name for p in (slurm / "logs").iterdir())
    assert stages == ["00-prepare", "01-dedup-buckets", "02-dedup-cluster", "03-finish"]  # the multi-stage SimHash
    logs = slurm / "logs" / "00-prepare"
    assert sorted(p.name for p in (logs / "completions").iterdir()) == ["00000", "00001"]
    assert any((logs / "slurm_logs").iterdir())  # it really went through sbatch
    executor = json.loads((logs / "executor.json").read_text())
    assert executor["partition"] == "debug" and executor["tasks"] == 2
