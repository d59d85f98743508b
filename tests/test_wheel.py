"""The built wheel installs and runs the demo offline, outside this checkout (no editable finder)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .conftest import REPO_ROOT


@pytest.mark.slow
def test_wheel_installs_and_runs_demo(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"),
                    str(REPO_ROOT)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("xplus-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # dependencies come from this environment's site-packages, listed by path: .pth files there (such as
    # the editable finder of this checkout) are not processed, so only the wheel provides `xplus`
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
                   check=True)
    python = venv / "bin" / "python"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    where = subprocess.run([python, "-c", "import xplus.curate, xplus.evaluate; print(xplus.curate.__file__)"],
                           check=True, capture_output=True, text=True, env=env, cwd=tmp_path).stdout
    assert str(site) in where and str(REPO_ROOT) not in where
    xplus = venv / "bin" / "xplus"
    xplus.write_text(f"#!{python}\nimport sys\nfrom xplus.pipelines.cli import main\nsys.exit(main())\n")
    xplus.chmod(0o755)
    assert "curate" in subprocess.run([xplus, "--help"], check=True, capture_output=True, text=True, env=env).stdout
    demo = subprocess.run([xplus, "curate", "run", "demo"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "accounting OK: input 1300" in demo.stdout
    assert (tmp_path / "xplus-runs" / "demo" / "output" / "jsonl" / "00000.jsonl").stat().st_size > 100_000
