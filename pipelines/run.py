"""`xplus curate run RECIPE`: run a recipe on an executor, then show the funnel and check the accounting."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor

from xplus.curate.cli import run_funnel
from xplus.curate.report import RunReport
from xplus.pipelines.recipe import load_recipe, recipe_names


def add_run_parser(curate_commands: argparse._SubParsersAction) -> None:
    run = curate_commands.add_parser(
        "run", help="run a curation recipe", description=f"Run a curation recipe: a bundled name "
        f"({', '.join(recipe_names())}) or a YAML file.")
    run.add_argument("recipe", help="bundled recipe name or path to a recipe YAML")
    run.add_argument("-o", "--output", type=Path, help="run folder (default: ./xplus-runs/<recipe name>)")
    run.add_argument("--executor", choices=["local"], default="local", help="where the tasks run")
    run.add_argument("--tasks", type=int, default=1, help="datatrove tasks (input units are shared out)")
    run.add_argument("--workers", type=int, default=-1, help="tasks run at once (-1: all)")
    state = run.add_mutually_exclusive_group()
    state.add_argument("--resume", action="store_true", help="continue a stopped run (completed tasks are kept)")
    state.add_argument("--overwrite", action="store_true", help="delete an existing run folder first")
    run.set_defaults(func=run_recipe)


def run_recipe(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    run_dir = (args.output or Path("xplus-runs") / recipe.name).resolve()
    if run_dir.exists() and any(run_dir.iterdir()):
        if args.overwrite:
            shutil.rmtree(run_dir)
        elif not args.resume:
            raise SystemExit(f"{run_dir} already holds a run: pass --resume to continue it or --overwrite to "
                             f"start again")
    print(f"xplus: running recipe {recipe.name!r} ({recipe.origin}) into {run_dir}")
    for notice in recipe.notices:
        print(f"NOTICE: {notice}")
    started = time.perf_counter()
    LocalPipelineExecutor(
        recipe.build(run_dir), tasks=args.tasks, workers=args.workers, logging_dir=str(run_dir / "logs"),
        skip_completed=True,
    ).run()
    elapsed = time.perf_counter() - started
    funnel = run_funnel(run_dir)
    print(f"\n## Funnel of {recipe.name} ({elapsed:.1f} s)\n\n{funnel.table()}\n")
    for folder in recipe.outputs(run_dir):
        print(f"output ({folder.name}): {folder}")
    print(f"rejects (step, reason): {run_dir / 'rejects'}\nlogs and stats: {run_dir / 'logs'}")
    funnel.check()
    print(f"report: {RunReport(run_dir).write()}")
    return 0
