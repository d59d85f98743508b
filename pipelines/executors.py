"""Run a recipe's stages on datatrove's local or SLURM executor, resume them, and wait for SLURM.

A run is a list of stages (one for a simple recipe; several when a step needs a barrier, such as the
multi-stage SimHash dedup or a GPU step with its own resources). Each stage gets its own logging folder
`<run>/logs/<NN>-<stage>/`, whose completion markers make `--resume` continue where a crash or `scancel`
stopped: completed tasks are skipped, the others run again from their start (writers overwrite their
`${rank}` files, so nothing is written twice). On SLURM, stage N+1 depends on stage N (`afterok`), and the
cluster needs `DependencyParameters=kill_invalid_depend` so that a failed stage cancels the rest instead of
leaving them pending forever.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import multiprocess
from datatrove.executor import LocalPipelineExecutor, SlurmPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

EXECUTORS = ("local", "slurm")


@dataclass
class Stage:
    """One barrier-separated part of a run."""

    name: str
    pipeline: list[PipelineStep]
    tasks: int
    gpus_per_task: int = 0


@dataclass
class ExecutorOptions:
    """Where and how the stages run (`xplus curate run` flags)."""

    executor: str = "local"
    workers: int = -1
    partition: str | None = None
    time: str = "24:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    venv_path: str | None = None  # the venv's `bin/activate` the SLURM job sources; default: this Python's
    job_name: str = field(default_factory=lambda: f"xplus-{uuid.uuid4().hex[:6]}")
    sbatch_args: dict | None = None

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if self.executor == "slurm" and not self.partition:
            raise ValueError("the slurm executor needs a partition (--partition)")


def _activate_script() -> str:
    activate = Path(sys.executable).parent / "activate"
    if not activate.exists():
        raise ValueError(f"{activate} not found: pass venv_path (the activate script of the environment the "
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


def build_executors(stages: list[Stage], run_dir: str | Path, opts: ExecutorOptions) -> list:
    executors = []
    for i, stage in enumerate(stages):
        logging_dir = str(Path(run_dir) / "logs" / f"{i:02d}-{stage.name}")
        if opts.executor == "local":
            executor = LocalPipelineExecutor(stage.pipeline, tasks=stage.tasks, workers=opts.workers,
                                             logging_dir=logging_dir, skip_completed=True)
        else:
            executor = SlurmPipelineExecutor(
                stage.pipeline, tasks=stage.tasks, time=opts.time, partition=opts.partition,
                cpus_per_task=opts.cpus_per_task, mem_per_cpu_gb=opts.mem_per_cpu_gb,
                gpus_per_task=stage.gpus_per_task, workers=opts.workers, job_name=f"{opts.job_name}-{stage.name}",
                logging_dir=logging_dir, venv_path=opts.venv_path or _activate_script(),
                depends=executors[-1] if executors else None, sbatch_args=opts.sbatch_args, skip_completed=True,
            )
        executors.append(executor)
    return executors


def run_stages(stages: list[Stage], run_dir: str | Path, opts: ExecutorOptions, wait: bool = True,
               timeout_s: float = 24 * 3600) -> None:
    """Run (local) or submit (SLURM) every stage; with `wait`, return when SLURM has finished them all."""
    executors = build_executors(stages, run_dir, opts)
    if opts.executor == "local":
        if opts.workers != 1 and any(stage.tasks > 1 for stage in stages):
            preload_worker_modules(stages)
        for stage, executor in zip(stages, executors, strict=True):
            logger.info(f"xplus: stage {stage.name} ({stage.tasks} task(s))")
            executor.run()
        return
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
