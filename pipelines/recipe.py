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
from xplus.curate.consistency import STEP as CONSISTENCY_STEP
from xplus.curate.consistency import ConsistencyFilter
from xplus.curate.decontaminate import STEP as DECONTAMINATE_STEP
from xplus.curate.decontaminate import FloresDecontaminator
from xplus.curate.export import LAYOUTS
from xplus.curate.handoff import HandoffReader, HandoffWriter
from xplus.curate.length import STEP as LENGTH_STEP
from xplus.curate.length import LengthRatioFilter
from xplus.curate.lid import STEP as LID_STEP
from xplus.curate.lid import LanguageIdFilter
from xplus.curate.loss import STEP as LOSS_STEP
from xplus.curate.loss import LossFilter
from xplus.curate.loss.scorer import DEFAULT_MODEL as LOSS_MODEL
from xplus.curate.readers.base import STEP as UNIFY_STEP
from xplus.curate.readers.hf import HFBitextReader
from xplus.curate.readers.moses import MosesReader
from xplus.curate.readers.tmx import TmxReader
from xplus.curate.readers.tsv import PARACRAWL_V3_COLUMNS, TsvReader
from xplus.curate.simhash import (
    STEP as DEDUP_STEP,
)
from xplus.curate.simhash import (
    SimHashBuckets,
    SimHashCluster,
    SimHashConfig,
    SimHashDedup,
    SimHashFilter,
    SimHashSignature,
)
from xplus.curate.simhash.fingerprint import table_masks
from xplus.curate.template import STEP as TEMPLATE_STEP
from xplus.curate.template import InstructionTemplater
from xplus.curate.writers import BitextJsonlWriter, BitextParquetWriter, ChatJsonlWriter, rejects_writer
from xplus.pipelines.executors import Stage

READERS = {"moses": MosesReader, "tsv": TsvReader, "hf": HFBitextReader, "tmx": TmxReader}
#: the steps, in pipeline order whatever the order in the recipe file (dedup's arguments are its config's)
STEPS = {CLEAN_STEP: Cleaner, LENGTH_STEP: LengthRatioFilter, CONSISTENCY_STEP: ConsistencyFilter,
         DEDUP_STEP: SimHashConfig, LID_STEP: LanguageIdFilter,
         LOSS_STEP: LossFilter, DECONTAMINATE_STEP: FloresDecontaminator, TEMPLATE_STEP: InstructionTemplater}
#: steps that take the recipe's `flores` folder unless their arguments name one (or, for the loss, give
#: explicit thresholds)
FLORES_STEPS = {DECONTAMINATE_STEP: "flores_dir", LOSS_STEP: "flores_dir"}
LOSS_MODEL_HINT = (f"the paper's scorer is {LOSS_MODEL}: `huggingface-cli download {LOSS_MODEL} --local-dir "
                   f"models/nllb-600m`, then `--loss-model models/nllb-600m` or `steps.loss.model`")
WRITERS = {"jsonl": BitextJsonlWriter, "parquet": BitextParquetWriter}
COLUMN_PRESETS = {"paracrawl_v3": PARACRAWL_V3_COLUMNS}
BUNDLED = "bundled:"
RECIPE_KEYS = {"name", "description", "flores", "sources", "steps", "output"}
OUTPUT_KEYS = {"formats", "chat_layouts"}
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
    flores: str | None = None
    formats: list[str] = field(default_factory=lambda: ["jsonl"])
    chat_layouts: list[str] = field(default_factory=lambda: ["messages"])
    notices: list[str] = field(default_factory=list)

    def stages(self, run_dir: str | Path, tasks: int = 1, distributed: bool = False,
               gpus_per_task: int = 0) -> list[Stage]:
        """The run as executor stages. On SLURM, the loss step gets a stage of its own with `gpus_per_task`."""
        stages = self._cpu_stages(str(run_dir), tasks, distributed)
        if not (distributed and LOSS_STEP in self.steps):
            return stages
        last = stages[-1]
        cut = next(i for i, block in enumerate(last.pipeline) if isinstance(block, LossFilter))
        handoff = f"{run_dir}/work/before-loss"
        return [*stages[:-1], Stage(last.name, last.pipeline[:cut] + [HandoffWriter(handoff)], last.tasks),
                Stage("loss-gpu", [HandoffReader(handoff), *last.pipeline[cut:]], last.tasks, gpus_per_task)]

    def _cpu_stages(self, run_dir: str, tasks: int, distributed: bool) -> list[Stage]:
        """One stage, or, when the dedup must see the pairs of every task (tasks > 1, or SLURM), the multi-stage
        SimHash: prepare (+ signatures) -> buckets -> cluster -> finish."""
        steps = list(self.steps.items())
        readers = self._readers(run_dir)
        if DEDUP_STEP not in self.steps or (tasks == 1 and not distributed):
            return [Stage("curate", readers + self._blocks(steps, run_dir), tasks)]
        cut = [name for name, _ in steps].index(DEDUP_STEP)
        config = SimHashConfig(**self.steps[DEDUP_STEP])
        work = f"{run_dir}/work"
        prepared, signatures, buckets, removals = (f"{work}/{name}" for name in
                                                   ("prepared", "signatures", "buckets", "removals"))
        dedup = SimHashFilter(removals, config, exclusion_writer=rejects_writer(run_dir, DEDUP_STEP))
        return [
            Stage("prepare", readers + self._blocks(steps[:cut], run_dir, last=False)
                  + [HandoffWriter(prepared), SimHashSignature(signatures, config)], tasks),
            Stage("dedup-buckets", [SimHashBuckets(signatures, buckets, config)], min(tasks, len(table_masks(config)))),
            Stage("dedup-cluster", [SimHashCluster(buckets, removals, signatures, config)], 1),
            Stage("finish", [HandoffReader(prepared), dedup] + self._blocks(steps[cut + 1:], run_dir), tasks),
        ]

    def build(self, run_dir: str | Path) -> list[PipelineStep]:
        """The whole run as one pipeline (single node)."""
        (stage,) = self.stages(run_dir)
        return stage.pipeline

    def _readers(self, run_dir: str) -> list[PipelineStep]:
        readers = []
        for i, source in enumerate(self.sources):
            rejects = rejects_writer(run_dir, UNIFY_STEP, part=f"source{i}")
            readers.append(READERS[source.reader](resolve_path(source.path), exclusion_writer=rejects,
                                                  **source.options))
        return readers

    def _blocks(self, steps: list[tuple[str, dict]], run_dir: str, last: bool = True) -> list[PipelineStep]:
        """The blocks of these steps, each dropping block with its own rejects writer; with `last`, the writers:
        the curated pairs, then (after templating) the chats."""
        blocks: list[PipelineStep] = []
        for step, options in steps:
            if step == TEMPLATE_STEP:
                blocks += [WRITERS[fmt](f"{run_dir}/output/{fmt}") for fmt in self.formats]
                blocks.append(InstructionTemplater(**options))
                return blocks + [ChatJsonlWriter(f"{run_dir}/output/chat-{layout}", layout=layout)
                                 for layout in self.chat_layouts]
            rejects = rejects_writer(run_dir, step)
            if step == DEDUP_STEP:
                blocks.append(SimHashDedup(SimHashConfig(**options), exclusion_writer=rejects))
            elif step == LOSS_STEP:
                blocks.append(LossFilter(exclusion_writer=rejects, **{"thresholds_folder": f"{run_dir}/loss_thresholds",
                                                                      **options}))
            else:
                blocks.append(STEPS[step](exclusion_writer=rejects, **options))
        if last:
            blocks += [WRITERS[fmt](f"{run_dir}/output/{fmt}") for fmt in self.formats]
        return blocks

    def outputs(self, run_dir: str | Path) -> list[Path]:
        folders = [Path(run_dir) / "output" / fmt for fmt in self.formats]
        if TEMPLATE_STEP in self.steps:
            folders += [Path(run_dir) / "output" / f"chat-{layout}" for layout in self.chat_layouts]
        return folders


def bundled_data() -> Path:
    return Path(str(files("xplus.curate") / "data" / "demo"))


def resolve_path(path: str) -> str:
    return str(bundled_data() / path.removeprefix(BUNDLED)) if path.startswith(BUNDLED) else path


def recipe_names() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in files("xplus.pipelines").joinpath("recipes").iterdir()
                  if p.name.endswith(".yaml"))


def load_recipe(name_or_path: str, flores: str | None = None, loss_model: str | None = None) -> Recipe:
    """A bundled recipe by name (`demo`) or a YAML file path; `flores` and `loss_model` override the recipe's."""
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
    if isinstance(data, dict) and flores:
        data["flores"] = flores
    if isinstance(data, dict) and loss_model and isinstance(data.get("steps"), dict) and LOSS_STEP in data["steps"]:
        data["steps"][LOSS_STEP] = {**(data["steps"][LOSS_STEP] or {}), "model": loss_model}
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
    if data.get("flores"):
        recipe.flores = resolve_path(str(data["flores"]))
        if not Path(recipe.flores).is_dir():
            fail("flores", f"{recipe.flores} is not a folder (a FLORES-101/200 release with dev/ and devtest/)")
    sources = data.get("sources")
    if not sources or not isinstance(sources, list):
        fail("sources", "a non-empty list of sources is required")
    for i, raw in enumerate(sources):
        recipe.sources.append(_parse_source(raw, f"sources[{i}]", fail))
    steps = data.get("steps") or {}
    if not isinstance(steps, dict):
        fail("steps", f"a mapping of step name -> arguments ({', '.join(STEPS)})")
    if unknown := set(steps) - set(STEPS):
        fail(f"steps.{sorted(unknown)[0]}", f"unknown step; known: {', '.join(STEPS)}")
    for step in STEPS:
        if step not in steps:
            continue
        options = _check_args(STEPS[step], dict(steps[step] or {}), f"steps.{step}", fail)
        if step == LOSS_STEP and "model" in options and not options["model"]:
            recipe.notices.append(f"step 'loss' skipped: no scoring model configured; {LOSS_MODEL_HINT}. "
                                  f"The output is NOT quality-filtered by a translation model.")
            continue
        flores_arg = FLORES_STEPS.get(step)
        if flores_arg and flores_arg not in options and not (step == LOSS_STEP and options.get("thresholds")):
            if recipe.flores is None and step == LOSS_STEP:
                recipe.notices.append("step 'loss' calibrates on the Hub's FLORES (no `flores:` folder given)")
            elif recipe.flores is None:
                recipe.notices.append(f"step {step!r} skipped: it needs FLORES (set `flores:` in the recipe "
                                      f"or `{flores_arg}` in its arguments)")
                continue
            else:
                options[flores_arg] = recipe.flores
        recipe.steps[step] = options
    output = data.get("output") or {}
    if unknown := set(output) - OUTPUT_KEYS:
        fail(f"output.{sorted(unknown)[0]}", f"unknown key; output has {sorted(OUTPUT_KEYS)}")
    recipe.formats = list(output.get("formats", ["jsonl"]))
    if bad := [f for f in recipe.formats if f not in WRITERS]:
        fail("output.formats", f"unknown format(s) {bad}; known: {', '.join(WRITERS)}")
    recipe.chat_layouts = list(output.get("chat_layouts", ["messages"]))
    if bad := [f for f in recipe.chat_layouts if f not in LAYOUTS]:
        fail("output.chat_layouts", f"unknown layout(s) {bad}; known: {', '.join(LAYOUTS)}")
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
