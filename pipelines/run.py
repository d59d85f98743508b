"""`xplus curate run RECIPE`: check the recipe's preconditions, run it on the local or SLURM executor, then show
the funnel, check the accounting (rows on disk included), write the report and remove `work/`."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from xplus.curate.config_flags import add_config_flags, config_from_args, flag_field
from xplus.curate.flores import format_direction
from xplus.pipelines.executor_options import ExecutorOptions, at_least_one
from xplus.pipelines.recipe_files import recipe_names


@dataclass(frozen=True)
class RunOptions:
    """What `xplus curate run` does beside where the stages run (`ExecutorOptions`); one flag per field."""

    output: Path | None = flag_field(None, help="run folder (default: ./xplus-runs/<recipe name>)", short="-o",
                                     metavar="DIR")
    tasks: int = flag_field(1, help="datatrove tasks (input files are shared out)", type=at_least_one, metavar="N")
    flores: str | None = flag_field(None, help="FLORES release folder (FLORES-101/200 layout): turns on "
                                    "decontamination and the loss calibration", metavar="DIR")
    loss_model: str | None = flag_field(None, help="local path or Hub id of the loss step's scorer "
                                        "(NLLB-compatible)", metavar="PATH_OR_ID")
    gpus: int = flag_field(1, help="GPUs per task of the loss stage", group="slurm", metavar="G")
    no_wait: bool = flag_field(False, help="submit and return (check later with `xplus curate accounting RUN_DIR`)",
                               group="slurm")
    resume: bool = flag_field(False, help="continue a stopped run (completed tasks are kept)", group="state")
    overwrite: bool = flag_field(False, help="delete an earlier run in the output folder first (only a folder an "
                                 "xplus run made, holding no input)", group="state")
    keep_work: bool = flag_field(False, help="keep work/ (intermediate files) after a successful run")


def add_run_parser(curate_commands: argparse._SubParsersAction) -> None:
    """`curate run RECIPE` and one flag per `RunOptions` and `ExecutorOptions` field."""
    run = curate_commands.add_parser(
        "run", help="run a curation recipe", description=f"Run a curation recipe: a bundled name "
        f"({', '.join(recipe_names())}) or a YAML file.")
    run.add_argument("recipe", help="bundled recipe name or path to a recipe YAML")
    containers = {"slurm": run.add_argument_group("slurm"), "state": run.add_mutually_exclusive_group()}
    add_config_flags(run, RunOptions, containers=containers)
    add_config_flags(run, ExecutorOptions, containers=containers)
    run.set_defaults(func=run_recipe)


def merge_thresholds(run_dir: Path) -> None:
    """The loss thresholds every task used, as one `{src-trg: threshold}` table saved with the run (the direction
    spelled as `thresholds:` reads it back)."""
    tables = sorted((run_dir / "loss_thresholds").glob("*.json"))
    if tables:
        merged = {format_direction(row["src"], row["trg"]): row["value"] for table in tables
                  for row in json.loads(table.read_text())}
        (run_dir / "loss_thresholds.json").write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n")


def _start(recipe, run_dir: Path, args: argparse.Namespace) -> tuple[list, int]:
    """Check everything before the first expensive step, then lay out the run folder; returns the stages and the
    inputs' size."""
    from xplus.pipelines.preconditions import (
        check_flores,
        check_free_disk,
        check_models,
        check_remote_sources,
        estimate_run_bytes,
        input_bytes,
    )
    from xplus.pipelines.safety import (
        check_inputs_unchanged,
        check_output_folder,
        prepare_run_folder,
        recipe_inputs,
        record_inputs,
        write_marker,
    )

    inputs = recipe_inputs(recipe)
    check_output_folder(run_dir, inputs)
    remote_bytes = check_remote_sources(recipe)
    check_flores(recipe)
    check_models(recipe)
    stages = recipe.stages(run_dir, tasks=args.tasks, distributed=args.executor == "slurm", gpus_per_task=args.gpus)
    resumed = prepare_run_folder(run_dir, inputs, overwrite=args.overwrite, resume=args.resume)
    n_bytes = input_bytes(inputs) + remote_bytes
    if resumed and (run_dir / "logs").is_dir():  # else it stopped before any stage began: lay it out again
        check_inputs_unchanged(run_dir, inputs)
        return stages, n_bytes
    check_free_disk(run_dir, estimate_run_bytes(recipe, n_bytes, uses_work=len(stages) > 1))
    write_marker(run_dir, recipe.name)
    shutil.copyfile(recipe.origin, run_dir / "recipe.yaml")  # the run says how it was made (and the card shows it)
    record_inputs(run_dir, inputs)
    return stages, n_bytes


def run_recipe(args: argparse.Namespace) -> int:
    from xplus.pipelines.recipe import load_recipe
    from xplus.pipelines.safety import os_error_line

    recipe = load_recipe(args.recipe, flores=args.flores, loss_model=args.loss_model)
    run_dir = (args.output or Path("xplus-runs") / recipe.name).resolve()
    try:
        return _run(recipe, run_dir, args)
    except OSError as err:
        if (line := os_error_line(err, run_dir)) is not None:
            _quiet_cleanup(err.errno)
            raise line from err
        raise


def _quiet_cleanup(code: int) -> None:
    """After a run stopped on a full or read-only disk, its half-run blocks fail the same way again when the
    interpreter closes them; those repeats are not printed (the error has been said once)."""
    import sys

    previous = sys.unraisablehook

    def hook(unraisable):
        if not (isinstance(unraisable.exc_value, OSError) and unraisable.exc_value.errno == code):
            previous(unraisable)

    sys.unraisablehook = hook


def _run(recipe, run_dir: Path, args: argparse.Namespace) -> int:
    from xplus.curate.accounting import run_funnel
    from xplus.curate.report import RunReport
    from xplus.pipelines.executors import run_stages

    options = config_from_args(ExecutorOptions, args)
    stages, n_bytes = _start(recipe, run_dir, args)
    print(f"xplus: running recipe {recipe.name!r} ({recipe.origin}) into {run_dir} on {args.executor}")
    for notice in recipe.notices:
        print(f"NOTICE: {notice}")
    started = time.perf_counter()
    run_stages(stages, run_dir, options, wait=not args.no_wait, input_bytes=n_bytes)
    if args.no_wait:
        print(f"submitted; when the jobs are done: xplus curate accounting {run_dir}")
        return 0
    print(f"xplus: stages done in {time.perf_counter() - started:.1f} s; counting the rows on disk", flush=True)
    funnel = run_funnel(run_dir)
    print(f"\n## Funnel of {recipe.name} ({time.perf_counter() - started:.1f} s)\n\n{funnel.table()}\n")
    for folder in recipe.outputs(run_dir):
        print(f"output ({folder.name}): {folder}")
    print(f"rejects (step, reason): {run_dir / 'rejects'}\nlogs and stats: {run_dir / 'logs'}")
    funnel.check()
    merge_thresholds(run_dir)
    print("xplus: writing the report", flush=True)
    report_md = RunReport(run_dir).write()
    print(f"report: {report_md.with_name('report.html')} (and {report_md.name})")
    work = run_dir / "work"
    if work.is_dir() and not args.keep_work:
        shutil.rmtree(work)
        print(f"removed {work} (intermediate files; --keep-work keeps them)")
    return 0
