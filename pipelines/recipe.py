"""Recipes: a curation run described as data (YAML), validated up front, turned into datatrove blocks.

A recipe names its `sources` (one reader each: `moses`, `tsv`, `hf`, `tmx`, with that reader's arguments),
the `steps` to run with their arguments, and the `output` formats. `bundled:<folder>` paths point into the
demo sample shipped inside the package. Any mistake (unknown key, reader, step or argument, bad language
code) is a `RecipeError` naming the recipe file and the key, before anything runs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from datatrove.pipeline.base import PipelineStep

from xplus.curate.clean import STEP as CLEAN_STEP
from xplus.curate.clean import Cleaner
from xplus.curate.length import STEP as LENGTH_STEP
from xplus.curate.length import LengthRatioFilter
from xplus.curate.readers.base import STEP as UNIFY_STEP
from xplus.curate.readers.hf import HFBitextReader
from xplus.curate.readers.moses import MosesReader
from xplus.curate.readers.tmx import TmxReader
from xplus.curate.readers.tsv import PARACRAWL_V3_COLUMNS, TsvReader
from xplus.curate.writers import BitextJsonlWriter, BitextParquetWriter, rejects_writer

READERS = {"moses": MosesReader, "tsv": TsvReader, "hf": HFBitextReader, "tmx": TmxReader}
STEPS = {CLEAN_STEP: Cleaner, LENGTH_STEP: LengthRatioFilter}  # in pipeline order
WRITERS = {"jsonl": BitextJsonlWriter, "parquet": BitextParquetWriter}
COLUMN_PRESETS = {"paracrawl_v3": PARACRAWL_V3_COLUMNS}
BUNDLED = "bundled:"
RECIPE_KEYS = {"name", "description", "sources", "steps", "output"}
# constructor arguments a recipe does not set: the runner wires them
WIRED_ARGS = {"self", "data_folder", "exclusion_writer"}


class RecipeError(ValueError):
    """A recipe that cannot run; the message names the recipe and the key."""


@dataclass
class Source:
    reader: str
    path: str
    options: dict[str, Any]


@dataclass
class Recipe:
    name: str
    origin: str
    description: str = ""
    sources: list[Source] = field(default_factory=list)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    formats: list[str] = field(default_factory=lambda: ["jsonl"])

    def build(self, run_dir: str | Path) -> list[PipelineStep]:
        """Readers -> steps -> writers, each dropping block with its own rejects writer under `run_dir`."""
        run_dir = str(run_dir)
        pipeline: list[PipelineStep] = []
        for i, source in enumerate(self.sources):
            rejects = rejects_writer(run_dir, UNIFY_STEP, part=f"source{i}")
            pipeline.append(READERS[source.reader](resolve_path(source.path), exclusion_writer=rejects,
                                                   **source.options))
        for step, options in self.steps.items():
            pipeline.append(STEPS[step](exclusion_writer=rejects_writer(run_dir, step), **options))
        for fmt in self.formats:
            pipeline.append(WRITERS[fmt](f"{run_dir}/output/{fmt}"))
        return pipeline


def bundled_data() -> Path:
    return Path(str(files("xplus.curate") / "data" / "demo"))


def resolve_path(path: str) -> str:
    return str(bundled_data() / path.removeprefix(BUNDLED)) if path.startswith(BUNDLED) else path


def recipe_names() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in files("xplus.pipelines").joinpath("recipes").iterdir()
                  if p.name.endswith(".yaml"))


def load_recipe(name_or_path: str) -> Recipe:
    """A bundled recipe by name (`demo`) or a YAML file path."""
    path = Path(name_or_path)
    if not path.is_file():
        bundled = files("xplus.pipelines").joinpath("recipes", f"{name_or_path}.yaml")
        if not bundled.is_file():
            raise RecipeError(f"no recipe file {name_or_path!r} and no bundled recipe of that name "
                              f"(bundled: {', '.join(recipe_names())})")
        path = Path(str(bundled))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML: {err}") from err
    return parse_recipe(data, str(path))


def parse_recipe(data: Any, origin: str) -> Recipe:
    def fail(key: str, message: str):
        raise RecipeError(f"{origin}: {key}: {message}")

    if not isinstance(data, dict):
        fail("(top)", "a recipe is a mapping with keys " + ", ".join(sorted(RECIPE_KEYS)))
    if unknown := set(data) - RECIPE_KEYS:
        fail(", ".join(sorted(unknown)), f"unknown key(s); a recipe has {sorted(RECIPE_KEYS)}")
    recipe = Recipe(name=str(data.get("name") or Path(origin).stem), origin=origin,
                    description=str(data.get("description", "")))
    sources = data.get("sources")
    if not sources or not isinstance(sources, list):
        fail("sources", "a non-empty list of sources is required")
    for i, raw in enumerate(sources):
        recipe.sources.append(_parse_source(raw, f"sources[{i}]", fail))
    steps = data.get("steps") or {}
    if not isinstance(steps, dict):
        fail("steps", f"a mapping of step name -> arguments ({', '.join(STEPS)})")
    for step in STEPS:  # pipeline order, whatever the order in the file
        if step in steps:
            recipe.steps[step] = _check_args(STEPS[step], steps[step] or {}, f"steps.{step}", fail)
    if unknown := set(steps) - set(STEPS):
        fail(f"steps.{sorted(unknown)[0]}", f"unknown step; known: {', '.join(STEPS)}")
    formats = (data.get("output") or {}).get("formats", ["jsonl"])
    if bad := [f for f in formats if f not in WRITERS]:
        fail("output.formats", f"unknown format(s) {bad}; known: {', '.join(WRITERS)}")
    recipe.formats = list(formats)
    return recipe


def _parse_source(raw: Any, key: str, fail) -> Source:
    if not isinstance(raw, dict):
        fail(key, "a source is a mapping with `reader`, `path`, `src_lang`, `tgt_lang` and reader options")
    options = dict(raw)
    reader = options.pop("reader", None)
    if reader not in READERS:
        fail(f"{key}.reader", f"{reader!r} is not a reader; known: {', '.join(READERS)}")
    path = options.pop("path", None)
    if not path and not options.get("hub_dataset"):
        fail(f"{key}.path", "missing (a folder, a remote path, or bundled:<folder>)")
    if isinstance(options.get("columns"), str):
        preset = options["columns"]
        if preset not in COLUMN_PRESETS:
            fail(f"{key}.columns", f"unknown preset {preset!r}; known: {', '.join(COLUMN_PRESETS)} (or a list)")
        options["columns"] = COLUMN_PRESETS[preset]
    for side in ("src_lang", "tgt_lang"):
        if side not in options:
            fail(f"{key}.{side}", "missing")
    _check_args(READERS[reader], options, key, fail)
    _check_languages(options, key, fail)
    return Source(reader, str(path or ""), options)


def _check_args(block: type, options: Any, key: str, fail) -> dict[str, Any]:
    if not isinstance(options, dict):
        fail(key, "arguments must be a mapping")
    accepted = set(inspect.signature(block.__init__).parameters) - WIRED_ARGS
    if unknown := set(options) - accepted:
        fail(f"{key}.{sorted(unknown)[0]}", f"not an argument of {block.__name__}; accepted: {sorted(accepted)}")
    return options


def _check_languages(options: dict[str, Any], key: str, fail) -> None:
    from xplus.curate.languages import UnknownLanguageError, normalize

    for side in ("src_lang", "tgt_lang"):
        try:
            normalize(str(options[side]))
        except UnknownLanguageError as err:
            fail(f"{key}.{side}", str(err))
