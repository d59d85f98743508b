"""Where recipes and the bundled demo data live, and the executors a recipe runs on: light (no block, no
datatrove, no torch import), so that the command line can name them in its help without loading the curation
machinery."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUNDLED = "bundled:"
#: the executors `xplus curate run --executor` offers (`xplus.pipelines.executors` builds them)
EXECUTORS = ("local", "slurm")


def bundled_data() -> Path:
    return Path(str(files("xplus.curate") / "data" / "demo"))


def resolve_path(path: str) -> str:
    return str(bundled_data() / path.removeprefix(BUNDLED)) if path.startswith(BUNDLED) else path


def recipe_names() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in files("xplus.pipelines").joinpath("recipes").iterdir()
                  if p.name.endswith(".yaml"))


def recipe_file(name_or_path: str) -> Path | None:
    """The recipe file: a path as given, else the bundled recipe of that name; None when neither exists."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = files("xplus.pipelines").joinpath("recipes", f"{name_or_path}.yaml")
    return Path(str(bundled)) if bundled.is_file() else None
