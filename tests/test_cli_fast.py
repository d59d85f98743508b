"""`xplus --help` answers at once: building the command line imports no heavy module (torch, transformers,
datasets); each command imports what it needs when it runs. A property of the imports, not a timing."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "datasets")
PROBE = """
import sys
from xplus.pipelines.cli import build_parser, main
build_parser()
try:
    main({argv!r})
except SystemExit as done:
    assert done.code == 0, done.code
print("heavy:" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("argv", [["--help"], ["curate", "--help"], ["curate", "run", "--help"],
                                  ["train", "run", "--help"], ["train", "sweep", "--help"], ["evaluate", "--help"],
                                  ["end-to-end", "--help"], ["--version"]])
def test_help_imports_no_heavy_module(argv):
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "heavy:", f"{argv}: {done.stdout.splitlines()[-1]}"
    assert "usage: xplus" in done.stdout or "xplus " in done.stdout


def test_the_probe_sees_a_heavy_import():
    """The same probe reports torch once a command module that needs it is imported (the test can fail)."""
    probe = PROBE.format(argv=["--version"], heavy=HEAVY).replace("build_parser()", "build_parser(); import torch")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.stdout.splitlines()[-1] == "heavy:torch"


def test_a_recipe_without_a_loss_step_builds_without_torch(tmp_path):
    """Every `xplus curate run` paid torch's import (~4.5 s) through the loss block's module; now only a worker
    that scores pairs loads it. The demo recipe's stages (all blocks built) import no torch."""
    probe = ("import sys\nfrom pathlib import Path\nfrom xplus.pipelines.recipe import load_recipe\n"
             f"load_recipe('demo').stages(Path({str(tmp_path)!r}), tasks=1, distributed=False, gpus_per_task=0)\n"
             "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "False"
