"""The isolated unbabel-comet environment: where it lives, how it is created, and its python.

`create_env` makes a venv with the interpreter xplus runs on and pip-installs the pinned `requirements.txt`
into it. A copy of those requirements is stored in the venv when the install succeeded, so a second call
returns at once, and a changed requirements file (a new pin in a new xplus release) rebuilds the venv.
Only PyPI (or the pip configuration's indexes) is needed; no model is downloaded here.

Default location: $XPLUS_COMET_ENV, else ~/.cache/xplus/comet-venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
RUNNER = Path(__file__).with_name("runner.py")
STAMP = "xplus-comet-requirements.txt"


class CometEnvMissingError(FileNotFoundError):
    """The xCOMET environment has not been created (or its creation did not finish)."""


def default_env_path() -> Path:
    return Path(os.environ.get("XPLUS_COMET_ENV") or Path.home() / ".cache" / "xplus" / "comet-venv")


def env_python(env: Path) -> Path:
    """The venv's python (`bin/python`, or `Scripts/python.exe` on Windows)."""
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def is_ready(env: Path) -> bool:
    """True when the venv exists and was completed from the current requirements."""
    stamp = env / STAMP
    return env_python(env).is_file() and stamp.is_file() and stamp.read_text() == REQUIREMENTS.read_text()


def require_env(env: Path | None = None) -> Path:
    """The python of a ready environment, or an error that says how to create it."""
    env = Path(env) if env else default_env_path()
    if not is_ready(env):
        state = "is out of date or incomplete" if env.exists() else "does not exist"
        raise CometEnvMissingError(
            f"xCOMET runs in its own environment, and {env} {state}. Create it with "
            f"`xplus evaluate setup-comet --path {env}` (a venv with unbabel-comet 2.2.7; needs PyPI), "
            "or point --comet-env / $XPLUS_COMET_ENV at one."
        )
    return env_python(env)


def create_env(env: Path | None = None, force: bool = False, quiet: bool = False) -> Path:
    """Create (or reuse) the environment at `env`; returns its python."""
    env = Path(env) if env else default_env_path()
    if is_ready(env) and not force:
        return env_python(env)
    if env.exists():
        shutil.rmtree(env)
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    pip = [str(env_python(env)), "-m", "pip", "install", "--disable-pip-version-check", *(["-q"] if quiet else [])]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    (env / STAMP).write_text(REQUIREMENTS.read_text())
    return env_python(env)
