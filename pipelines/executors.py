"""Run a recipe's stages on datatrove's local or SLURM executor, resume them, and wait for SLURM.

A run is a list of stages (one for a simple recipe; several when a step needs a barrier, such as the
multi-stage SimHash dedup or a GPU step with its own resources). Each stage gets its own logging folder
`<run>/logs/<NN>-<stage>/`, whose completion markers make `--resume` continue where a crash or `scancel`
stopped: completed tasks are skipped, the others run again from their start (writers overwrite their
`${rank}` files, so nothing is written twice). On SLURM, stage N+1 depends on stage N (`afterok`), and the
cluster needs `DependencyParameters=kill_invalid_depend` so that a failed stage cancels the rest instead of
leaving them pending forever.

Each stage that takes in pairs gets a `ProgressMeter` after its readers (count, rate, ETA). Datatrove prints a
task's stats table when the task ends and the merged table when the stage ends; on a local run with one task
the two are the same table, so the task's goes to its log file only (`logs/<NN>-<stage>/logs/`) and the stage's
is printed once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import datatrove.executor.base as executor_base
import multiprocess
from datatrove.executor import LocalPipelineExecutor, SlurmPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import DATATROVE_COLORIZE_LOG_FILES, DATATROVE_COLORIZE_LOGS, add_task_logger, logger

from xplus.curate.accounting import HANDOFF_IN, HANDOFF_OUT, AccountingError, Funnel, stage_logging_dirs
from xplus.curate.errors import ConfigError
from xplus.pipelines.executor_options import ExecutorOptions
from xplus.pipelines.progress import ProgressMeter

TASK_STATS = "📉📉📉 Stats: Task"  # how datatrove's task stats table starts
TASK_FORMAT = ("{time:YYYY-MM-DD HH:mm:ss.SSS} | <level>{level: <8}</level> | {name}:{function}:{line} - "
               "<level>{message}</level>")


@dataclass
class Stage:
    """One barrier-separated part of a run."""

    name: str
    pipeline: list[PipelineStep]
    tasks: int
    gpus_per_task: int = 0


def _activate_script() -> str:
    activate = Path(sys.executable).parent / "activate"
    if not activate.exists():
        raise ConfigError(f"{activate} not found: pass venv_path (the activate script of the environment the "
                         f"SLURM jobs should use)")
    return str(activate)


def preload_worker_modules(stages: list[Stage]) -> list[str]:
    """Have datatrove's forkserver import the stages' block modules once, before it forks any worker.

    `LocalPipelineExecutor` runs more than one worker in a `forkserver` pool, and every worker would otherwise
    import datatrove, polars, fastText's binding, torch... to unpickle its pipeline (~0.5 s each, per stage);
    preloaded, they are forked with those modules in place. Takes effect only before the forkserver's first
    start in this process; returns the modules."""
    modules = sorted({"datatrove.executor.local"} | {type(block).__module__ for stage in stages
                                                      for block in stage.pipeline if isinstance(block, PipelineStep)})
    multiprocess.get_context("forkserver").set_forkserver_preload(modules)
    return modules


def _for_terminal(record) -> bool:
    """Not the task's stats table, nor a task's traceback: both stay in the task's log file (the error itself
    reaches the command, which says it in one line). With `xplus --debug` (XPLUS_DEBUG) tracebacks show too."""
    if os.environ.get("XPLUS_DEBUG"):
        return not record["message"].lstrip().startswith(TASK_STATS)
    return record["exception"] is None and not record["message"].lstrip().startswith(TASK_STATS)


def _task_logger_without_stats(logging_dir, rank: int, local_rank: int = 0, node_rank: int = -1):
    """datatrove's task logger, with its stats table and tracebacks kept out of the terminal (they stay in the
    task's log)."""
    logfile = add_task_logger(logging_dir, rank, local_rank, node_rank=node_rank)
    probe = logger.add(lambda _: None)  # loguru numbers handlers in order: stderr, the task file, this probe
    for handler in (probe, probe - 1, probe - 2):
        logger.remove(handler)
    prefix = f"[NODE {node_rank}] " if node_rank != -1 else ""
    logger.add(sys.stderr, colorize=DATATROVE_COLORIZE_LOGS, level="INFO" if local_rank == 0 else "ERROR",
               format=prefix + TASK_FORMAT, filter=_for_terminal)
    # catch=False: a log that cannot be written (full disk) fails the task with that error, said once by the
    # command, instead of loguru printing its own traceback for every later line
    logger.add(logfile, colorize=DATATROVE_COLORIZE_LOG_FILES, level="DEBUG", format=prefix + TASK_FORMAT,
               catch=False)
    return logfile


class LocalExecutor(LocalPipelineExecutor):
    """datatrove's local executor, printing each stats table once (the stage's, not also each task's), and a
    failed task's traceback only to its log."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        executor_base.add_task_logger = _task_logger_without_stats
        try:
            return super()._run_for_rank(rank, local_rank, node_rank)
        finally:
            executor_base.add_task_logger = add_task_logger


def with_progress(pipeline: Sequence, stage: str, opts: ExecutorOptions, expected_pairs: int | None = None,
                  input_bytes: int | None = None) -> list:
    """The pipeline with a `ProgressMeter` after its leading readers and one before its first writer
    (unchanged when it reads no pairs)."""
    pipeline = list(pipeline)
    cut = next((i for i, block in enumerate(pipeline) if "READER" not in getattr(block, "type", "")
                and block.name != HANDOFF_IN), len(pipeline))
    if cut == 0:
        return pipeline
    meter = ProgressMeter(stage, expected_pairs=expected_pairs, input_bytes=None if expected_pairs else input_bytes,
                          interval_s=opts.progress_interval_s, tty=opts.progress_tty)
    end = next((i for i in range(cut, len(pipeline)) if "WRITER" in getattr(pipeline[i], "type", "")), len(pipeline))
    if end == cut:
        return [*pipeline[:cut], meter, *pipeline[cut:]]
    out = ProgressMeter(stage, interval_s=opts.progress_interval_s, tty=opts.progress_tty, upstream=meter)
    return [*pipeline[:cut], meter, *pipeline[cut:end], out, *pipeline[end:]]


def _handed_before(run_dir: str | Path, i: int) -> int | None:
    """Pairs the latest finished stage before stage `i` handed on (None when none did, or it is unfinished)."""
    for logging_dir in reversed(stage_logging_dirs(run_dir)[:i]):
        try:
            blocks = Funnel.from_logging_dirs(logging_dir).blocks
        except AccountingError:  # unfinished: the meter estimates instead
            return None
        if handed := [b.total for b in blocks if b.name == HANDOFF_OUT]:
            return sum(handed)
    return None


def _logging_dir(run_dir: str | Path, i: int, stage: Stage) -> str:
    return str(Path(run_dir) / "logs" / f"{i:02d}-{stage.name}")


def _executor(i: int, stage: Stage, run_dir: str | Path, opts: ExecutorOptions, depends=None,
              input_bytes: int | None = None):
    """Stage `i`'s executor, its pipeline metered; a local stage after a handoff knows how many pairs come."""
    logging_dir = _logging_dir(run_dir, i, stage)
    expected = _handed_before(run_dir, i) if opts.executor == "local" else None
    pipeline = with_progress(stage.pipeline, stage.name, opts, expected, input_bytes)
    if opts.executor == "local":
        return LocalExecutor(pipeline, tasks=stage.tasks, workers=opts.workers, logging_dir=logging_dir,
                             skip_completed=True)
    return SlurmPipelineExecutor(
        pipeline, tasks=stage.tasks, time=opts.time, partition=opts.partition,
        cpus_per_task=opts.cpus_per_task, mem_per_cpu_gb=opts.mem_per_cpu_gb,
        gpus_per_task=stage.gpus_per_task, workers=opts.workers, job_name=f"{opts.job_name}-{stage.name}",
        logging_dir=logging_dir, venv_path=opts.venv_path or _activate_script(),
        depends=depends, sbatch_args=opts.sbatch_args, skip_completed=True,
    )


def build_executors(stages: list[Stage], run_dir: str | Path, opts: ExecutorOptions,
                    input_bytes: int | None = None) -> list:
    executors: list = []
    for i, stage in enumerate(stages):
        executors.append(_executor(i, stage, run_dir, opts, executors[-1] if executors else None, input_bytes))
    return executors


def run_stages(stages: list[Stage], run_dir: str | Path, opts: ExecutorOptions, wait: bool = True,
               timeout_s: float = 24 * 3600, input_bytes: int | None = None) -> None:
    """Run (local) or submit (SLURM) every stage; with `wait`, return when SLURM has finished them all.
    `input_bytes` (the sources' size) lets the progress of the reading stage estimate its ETA."""
    if opts.executor == "local":
        if opts.workers != 1 and any(stage.tasks > 1 for stage in stages):
            preload_worker_modules(stages)
        for i, stage in enumerate(stages):  # built one by one: a stage's size is known once the last one ran
            logger.info(f"xplus: stage {stage.name} ({stage.tasks} task(s))")
            _executor(i, stage, run_dir, opts, input_bytes=input_bytes).run()
        return
    executors = build_executors(stages, run_dir, opts, input_bytes)
    executors[-1].run()  # submits the whole chain: each executor launches what it depends on first
    logger.info(f"xplus: submitted {len(stages)} stage(s) as SLURM jobs {opts.job_name}-*")
    if wait:
        wait_for_slurm(opts.job_name, timeout_s)
        incomplete = [(e, e.get_incomplete_ranks(skip_completed=True)) for e in executors]
        if failed := [(e, ranks) for e, ranks in incomplete if ranks]:
            raise RuntimeError("SLURM stages did not complete: " + "; ".join(
                f"{e.logging_dir.path}: ranks {ranks} (see slurm_logs/ there)" for e, ranks in failed))


def wait_for_slurm(job_prefix: str, timeout_s: float, poll_s: float = 2.0) -> None:
    """Poll `squeue` until no job of this run is queued or running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-o", "%j"], capture_output=True, text=True, check=True).stdout.split()
        if not any(name.startswith(job_prefix) for name in out):
            return
        time.sleep(poll_s)
    raise TimeoutError(f"SLURM jobs {job_prefix}-* still queued after {timeout_s:.0f} s")
