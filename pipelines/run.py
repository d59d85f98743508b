"""`xplus curate run RECIPE`: check the recipe's preconditions, run it on the local or SLURM executor, then show
the funnel, check the accounting (rows on disk included), write the report and remove `work/`."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from xplus.curate.flores import format_direction
from xplus.pipelines.recipe_files import EXECUTORS, recipe_names


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return number


def _workers(value: str) -> int:
    return -1 if int(value) == -1 else _at_least_one(value)


def add_run_parser(curate_commands: argparse._SubParsersAction) -> None:
    run = curate_commands.add_parser(
        "run", help="run a curation recipe", description=f"Run a curation recipe: a bundled name "
        f"({', '.join(recipe_names())}) or a YAML file.")
    run.add_argument("recipe", help="bundled recipe name or path to a recipe YAML")
    run.add_argument("-o", "--output", type=Path, help="run folder (default: ./xplus-runs/<recipe name>)")
    run.add_argument("--executor", choices=EXECUTORS, default="local", help="where the tasks run")
    run.add_argument("--tasks", type=_at_least_one, default=1, help="datatrove tasks (input files are shared out)")
    run.add_argument("--workers", type=_workers, default=-1, help="tasks run at once (-1: all)")
    run.add_argument("--flores", help="FLORES folder (FLORES-101/200 layout): turns on decontamination and the "
                                      "loss calibration")
    run.add_argument("--loss-model", help="local path or Hub id of the loss step's scorer (NLLB-compatible)")
    slurm = run.add_argument_group("slurm")
    slurm.add_argument("--partition", help="SLURM partition")
    slurm.add_argument("--time", default="24:00:00", help="SLURM time limit per task")
    slurm.add_argument("--cpus-per-task", type=int, default=1)
    slurm.add_argument("--mem-per-cpu-gb", type=int, default=2)
    slurm.add_argument("--gpus", type=int, default=1, help="GPUs per task of the loss stage")
    slurm.add_argument("--venv", help="activate script of the environment jobs use (default: this one's)")
    slurm.add_argument("--no-wait", action="store_true", help="submit and return (check later with "
                                                              "`xplus curate accounting RUN_DIR`)")
    state = run.add_mutually_exclusive_group()
    state.add_argument("--resume", action="store_true", help="continue a stopped run (completed tasks are kept)")
    state.add_argument("--overwrite", action="store_true", help="delete an earlier run in the output folder first "
                                                                "(only a folder an xplus run made, holding no input)")
    run.add_argument("--keep-work", action="store_true", help="keep work/ (intermediate files) after a successful run")
    run.add_argument("--progress-every", type=float, default=30.0, metavar="SECONDS",
                     help="seconds between two progress lines when stderr is not a terminal (a bar otherwise)")
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
    from xplus.pipelines.executors import ExecutorOptions, run_stages

    options = ExecutorOptions(executor=args.executor, workers=args.workers, partition=args.partition,
                              time=args.time, cpus_per_task=args.cpus_per_task, mem_per_cpu_gb=args.mem_per_cpu_gb,
                              venv_path=args.venv, progress_interval_s=args.progress_every)
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
