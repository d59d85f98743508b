"""Recipes: a curation run described as data (YAML), validated up front, turned into datatrove blocks.

A recipe names its `sources` (one reader each: `moses`, `tsv`, `hf`, `tmx`, with that reader's arguments),
the `steps` to run, in the order written, with their arguments, and the `output` formats. `bundled:<folder>`
paths point into the demo sample shipped inside the package. Any mistake (unknown key, reader, step or
argument, a value of the wrong type or out of range, a bad language code, the same language on both sides, an
order the runner cannot honour) is a one-line `RecipeError` naming the recipe file and the key, before
anything runs. The types and ranges are the blocks' own: each reader's and step's arguments are validated
against its constructor's annotations (`xplus.curate.typed`), then the block is built once as a dry run, so
the range checks of its constructor run too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from xplus.curate.errors import ConfigError
from xplus.curate.export import LAYOUTS
from xplus.curate.handoff import HandoffReader, HandoffWriter
from xplus.curate.length import STEP as LENGTH_STEP
from xplus.curate.length import LengthRatioFilter
from xplus.curate.lid import STEP as LID_STEP
from xplus.curate.lid import LanguageIdFilter
from xplus.curate.loss import STEP as LOSS_STEP
from xplus.curate.loss import LossFilter
from xplus.curate.loss.defaults import DEFAULT_MODEL as LOSS_MODEL
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
from xplus.curate.typed import TypedError, missing_local_path, validate_arguments, yaml_line
from xplus.curate.untranslated import STEP as UNTRANSLATED_STEP
from xplus.curate.untranslated import UntranslatedFilter
from xplus.curate.writers import BitextJsonlWriter, BitextParquetWriter, ChatJsonlWriter, rejects_writer
from xplus.pipelines.executors import Stage
from xplus.pipelines.recipe_files import BUNDLED, bundled_data, recipe_file, recipe_names, resolve_path

READERS = {"moses": MosesReader, "tsv": TsvReader, "hf": HFBitextReader, "tmx": TmxReader}
#: the steps (dedup's arguments are its config's); a recipe runs them in the order it writes them
STEPS = {CLEAN_STEP: Cleaner, LENGTH_STEP: LengthRatioFilter, CONSISTENCY_STEP: ConsistencyFilter,
         UNTRANSLATED_STEP: UntranslatedFilter, DEDUP_STEP: SimHashConfig, LID_STEP: LanguageIdFilter,
         LOSS_STEP: LossFilter, DECONTAMINATE_STEP: FloresDecontaminator, TEMPLATE_STEP: InstructionTemplater}
#: steps that take the recipe's `flores` folder unless their arguments name one (or, for the loss, give
#: explicit thresholds)
FLORES_STEPS = {DECONTAMINATE_STEP: "flores_dir", LOSS_STEP: "flores_dir"}
LOSS_MODEL_HINT = (f"the paper's scorer is {LOSS_MODEL}: `huggingface-cli download {LOSS_MODEL} --local-dir "
                   f"models/nllb-600m`, then `--loss-model models/nllb-600m` or `steps.loss.model`")
WRITERS = {"jsonl": BitextJsonlWriter, "parquet": BitextParquetWriter}
COLUMN_PRESETS = {"paracrawl_v3": PARACRAWL_V3_COLUMNS}
RECIPE_KEYS = {"name", "description", "flores", "sources", "steps", "output"}
OUTPUT_KEYS = {"formats", "chat_layouts"}
# constructor arguments a recipe does not set: the runner wires them
WIRED_ARGS = frozenset({"self", "data_folder", "exclusion_writer"})
__all__ = ["BUNDLED", "Recipe", "RecipeError", "Source", "bundled_data", "load_recipe", "parse_recipe",
           "recipe_names", "resolve_path"]


class RecipeError(ConfigError, ValueError):
    """A recipe that cannot run (exit 2); the message names the recipe, the line when known, and the key."""

    def __init__(self, message: str, key: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.key, self.detail = key, detail


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


def load_recipe(name_or_path: str, flores: str | None = None, loss_model: str | None = None) -> Recipe:
    """A bundled recipe by name (`demo`) or a YAML file path; `flores` and `loss_model` override the recipe's."""
    path = recipe_file(name_or_path)
    if path is None:
        raise RecipeError(f"no recipe file {name_or_path!r} and no bundled recipe of that name "
                          f"(bundled: {', '.join(recipe_names())})")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RecipeError(f"{where}: not valid YAML: {getattr(err, 'problem', None) or err}") from err
    if isinstance(data, dict) and flores:
        data["flores"] = flores
    if isinstance(data, dict) and loss_model and isinstance(data.get("steps"), dict) and LOSS_STEP in data["steps"]:
        data["steps"][LOSS_STEP] = {**(data["steps"][LOSS_STEP] or {}), "model": loss_model}
    try:
        return parse_recipe(data, str(path))
    except RecipeError as err:
        line = yaml_line(text, err.key) if err.key else None
        if line is None:
            raise
        raise RecipeError(f"{path}:{line}: {err.key}: {err.detail}", err.key, err.detail) from None


def parse_recipe(data: Any, origin: str) -> Recipe:
    def fail(key: str, message: str):
        raise RecipeError(f"{origin}: {key}: {message}", key, message)

    if not isinstance(data, dict):
        fail("(top)", "a recipe is a mapping with keys " + ", ".join(sorted(RECIPE_KEYS)))
    if unknown := set(data) - RECIPE_KEYS:
        fail(", ".join(sorted(unknown)), f"unknown key(s); a recipe has {sorted(RECIPE_KEYS)}")
    for key in ("name", "description", "flores"):
        if data.get(key) is not None and not isinstance(data[key], str):
            fail(key, f"expected a string, got {data[key]!r}")
    recipe = Recipe(name=data.get("name") or Path(origin).stem, origin=origin,
                    description=data.get("description") or "")
    if data.get("flores"):
        recipe.flores = resolve_path(data["flores"])
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
    if unknown := [step for step in steps if step not in STEPS]:
        fail(f"steps.{unknown[0]}", f"unknown step; known: {', '.join(STEPS)}")
    _check_order(list(steps), fail)
    for step, raw in steps.items():
        options = _step_options(recipe, step, raw, fail)
        if options is not None:
            recipe.steps[step] = options
    _parse_output(recipe, data.get("output") or {}, fail)
    return recipe


def _check_order(names: list[str], fail) -> None:
    """Steps run in the order written; refuse the orders the runner cannot honour."""
    if TEMPLATE_STEP in names and names[-1] != TEMPLATE_STEP:
        fail(f"steps.{TEMPLATE_STEP}", f"must be the last step (it turns pairs into chats), but "
                                       f"{names[names.index(TEMPLATE_STEP) + 1]!r} follows it")
    if LOSS_STEP in names and DEDUP_STEP in names and names.index(LOSS_STEP) < names.index(DEDUP_STEP):
        fail(f"steps.{LOSS_STEP}", f"must come after {DEDUP_STEP!r} (a multi-task run scores the loss in the "
                                   f"stage after the dedup barrier)")


def _step_options(recipe: Recipe, step: str, raw: Any, fail) -> dict[str, Any] | None:
    """The step's validated arguments, with the recipe's FLORES folder wired in; None when the step is skipped
    (a notice says why)."""
    key = f"steps.{step}"
    if raw is not None and not isinstance(raw, dict):
        fail(key, f"arguments must be a mapping, got {raw!r}")
    options = dict(raw or {})
    if step == LOSS_STEP and "model" in options and not options["model"]:
        _typed(STEPS[step], {k: v for k, v in options.items() if k != "model"}, key, fail, partial=True)
        recipe.notices.append(f"step 'loss' skipped: no scoring model configured; {LOSS_MODEL_HINT}. "
                              f"The output is NOT quality-filtered by a translation model.")
        return None
    flores_arg = FLORES_STEPS.get(step)
    if flores_arg and flores_arg not in options and not (step == LOSS_STEP and options.get("thresholds")):
        if recipe.flores is None and step == LOSS_STEP:
            recipe.notices.append("step 'loss' calibrates on the Hub's FLORES (no `flores:` folder given)")
        elif recipe.flores is None:
            _typed(STEPS[step], options, key, fail, partial=True)
            recipe.notices.append(f"step {step!r} skipped: it needs FLORES (set `flores:` in the recipe "
                                  f"or `{flores_arg}` in its arguments)")
            return None
        else:
            options[flores_arg] = recipe.flores
    options = _typed(STEPS[step], options, key, fail)
    if step == LOSS_STEP and (problem := missing_local_path(options.get("model", ""))):
        fail(f"{key}.model", problem)
    _dry_build(lambda: STEPS[step](**options), key, fail)
    return options


def _parse_output(recipe: Recipe, output: Any, fail) -> None:
    if not isinstance(output, dict):
        fail("output", f"a mapping with {sorted(OUTPUT_KEYS)}, got {output!r}")
    if unknown := set(output) - OUTPUT_KEYS:
        fail(f"output.{sorted(unknown)[0]}", f"unknown key; output has {sorted(OUTPUT_KEYS)}")
    for key, known, attribute in (("formats", WRITERS, "formats"), ("chat_layouts", LAYOUTS, "chat_layouts")):
        values = output.get(key, getattr(recipe, attribute))
        if not isinstance(values, list):
            fail(f"output.{key}", f"expected a list, got {values!r}")
        if bad := [v for v in values if v not in known]:
            fail(f"output.{key}", f"unknown {'format' if key == 'formats' else 'layout'}(s) {bad}; "
                                  f"known: {', '.join(known)}")
        setattr(recipe, attribute, list(values))


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
    if path is not None and not isinstance(path, str):
        fail(f"{key}.path", f"expected a string, got {path!r}")
    if isinstance(options.get("columns"), str):
        preset = options["columns"]
        if preset not in COLUMN_PRESETS:
            fail(f"{key}.columns", f"unknown preset {preset!r}; known: {', '.join(COLUMN_PRESETS)} (or a list)")
        options["columns"] = COLUMN_PRESETS[preset]
    for side in ("src_lang", "tgt_lang"):
        if side not in options:
            fail(f"{key}.{side}", "missing")
    options = _typed(READERS[reader], options, key, fail)
    _check_languages(options, key, fail)
    _dry_build(lambda: READERS[reader](resolve_path(path) if path else None, **options), key, fail)
    return Source(reader, path or "", options)


def _typed(block: type, options: dict[str, Any], key: str, fail, partial: bool = False) -> dict[str, Any]:
    """The arguments type-checked against `block`'s constructor (and coerced: `1e-5` is a float)."""
    try:
        return validate_arguments(block, options, WIRED_ARGS, partial=partial)
    except TypedError as err:
        fail(f"{key}.{err.key}" if err.key else key, err.message)


def _dry_build(build, key: str, fail) -> None:
    """Build the block once and throw it away: its constructor's range checks run now, not mid-run."""
    try:
        build()
    except (ValueError, TypeError) as err:
        fail(key, str(err))


def _check_languages(options: dict[str, Any], key: str, fail) -> None:
    from xplus.curate.languages import UnknownLanguageError, normalize

    codes = {}
    for side in ("src_lang", "tgt_lang"):
        try:
            codes[side] = normalize(options[side])
        except UnknownLanguageError as err:
            fail(f"{key}.{side}", str(err))
    if codes["src_lang"] == codes["tgt_lang"]:
        fail(f"{key}.tgt_lang", f"{options['tgt_lang']!r} is the same language as src_lang {options['src_lang']!r} "
                                f"({codes['src_lang']}); a source pairs two different languages")
