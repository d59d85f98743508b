"""xCOMET through its isolated environment: the client protocol (fast, with a stand-in environment) and, marked
slow, the real unbabel-comet 2.2.7 venv created by `xplus evaluate setup-comet` scoring with a tiny random
XCOMET checkpoint built in the test (`xplus.pipelines.toy_models`).
The venv is the one the CLI uses, `default_env_path()` ($XPLUS_COMET_ENV, else ~/.cache/xplus/comet-venv), and is
reused while the pinned requirements are unchanged; creating it needs PyPI only."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from xplus.evaluate.comet import env as comet_env
from xplus.evaluate.comet.client import CometError, resolve_model, xcomet_scores
from xplus.evaluate.comet.env import CometEnvMissingError, create_env, require_env
from xplus.pipelines import toy_models
from xplus.pipelines.cli import main

CACHED_ENV = comet_env.default_env_path()  # the CLI's location: one venv for the tests and the commands
FAKE_RUNNER = """
import json, sys
args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
if args["--model"] == "missing":
    open(args["--error-file"], "w").write("cannot get COMET model 'missing'")
    sys.exit(2)
rows = [json.loads(line) for line in open(args["--input"])]
with open(args["--output"], "w") as out:
    for row in rows:
        out.write(json.dumps({"score": len(row["mt"]) / 100}) + "\\n")
"""


@pytest.fixture
def fake_env(tmp_path) -> Path:
    """A ready-looking environment whose python answers like the runner (score = len(mt) / 100)."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    script = tmp_path / "fake_runner.py"
    script.write_text(FAKE_RUNNER)
    python = comet_env.env_python(env)
    python.write_text(f"#!/bin/sh\nexec {sys.executable} {script} \"$@\"\n")
    python.chmod(0o755)
    (env / comet_env.STAMP).write_text(comet_env.REQUIREMENTS.read_text())
    return env


def test_missing_environment_says_how_to_create_it(tmp_path):
    with pytest.raises(CometEnvMissingError) as error:
        require_env(tmp_path / "absent")
    assert f"`xplus evaluate setup-comet --path {tmp_path / 'absent'}`" in str(error.value)
    (tmp_path / "stale" / "bin").mkdir(parents=True)
    comet_env.env_python(tmp_path / "stale").touch()
    with pytest.raises(CometEnvMissingError, match="is out of date or incomplete"):
        require_env(tmp_path / "stale")


def test_client_sends_jsonl_and_reads_scores_in_order(fake_env):
    rows = [{"src": "s", "mt": "x" * n, "ref": "r"} for n in (5, 50, 20)]
    assert xcomet_scores(rows, "XL", fake_env) == [0.05, 0.5, 0.2]
    with pytest.raises(CometError, match="exit code 2.*cannot get COMET model 'missing'"):
        xcomet_scores(rows, "missing", fake_env)


def test_model_names():
    assert resolve_model("xxl") == "Unbabel/XCOMET-XXL"
    assert resolve_model("XL") == "Unbabel/XCOMET-XL"
    assert resolve_model("/models/my-xcomet") == "/models/my-xcomet"


def test_requirements_pin_comet_and_what_it_breaks_on():
    pins = dict(line.split("==") for line in comet_env.REQUIREMENTS.read_text().splitlines()
                if line and not line.startswith("#"))
    assert pins["unbabel-comet"] == "2.2.7"
    assert pins["numpy"].startswith("1.") and pins["transformers"].startswith("4.")
    assert pins["huggingface-hub"].startswith("0.")


@pytest.mark.slow
def test_xcomet_in_the_isolated_environment_with_a_tiny_checkpoint(tmp_path, flores_dir, capsys):
    python = create_env(CACHED_ENV, quiet=True)
    assert main(["evaluate", "setup-comet", "--path", str(CACHED_ENV)]) == 0  # ready: returns at once
    assert "xCOMET environment ready" in capsys.readouterr().out

    english = (flores_dir / "dev" / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()
    german = (flores_dir / "dev" / "deu_Latn.txt").read_text(encoding="utf-8").splitlines()
    text = tmp_path / "text.txt"
    text.write_text("\n".join(english[:300] + german[:300]) + "\n", encoding="utf-8")
    # pipelines/toy_models.py imports nothing from xplus at the top: the comet env's python can run it
    builder = Path(toy_models.__file__)
    subprocess.run([str(python), str(builder), "xcomet", str(tmp_path / "xcomet"), str(text)], check=True,
                   capture_output=True)

    rows = [{"src": english[i], "mt": german[i + k % 2], "ref": german[i]} for k, i in enumerate(range(10, 16))]
    scores = xcomet_scores(rows + rows[:2], str(tmp_path / "xcomet"), CACHED_ENV, batch_size=4)
    assert len(scores) == 8 and all(math.isfinite(s) for s in scores)
    assert scores[6:] == pytest.approx(scores[:2], abs=1e-6)  # same input, same score, whatever its batch

    with pytest.raises(CometError, match=r"cannot get COMET model 'Unbabel/XCOMET-XL'.*huggingface-cli login"):
        xcomet_scores(rows[:1], "XL", CACHED_ENV)  # HF_HUB_OFFLINE=1 in the tests: not in the cache
