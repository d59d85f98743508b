"""Where and how a recipe's stages run: `ExecutorOptions`, one `xplus curate run` flag per field (made by
`xplus.curate.config_flags`). Its own module so that building the parser imports no datatrove
(`xplus.pipelines.executors` runs the stages and imports it from here)."""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass, field

from xplus.curate.config_flags import flag_field
from xplus.curate.errors import ConfigError
from xplus.pipelines.recipe_files import EXECUTORS


def at_least_one(value: str) -> int:
    """argparse type of a count of 1 or more (a task count of 0 ran the whole recipe as one task)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return number


def worker_count(value: str) -> int:
    """argparse type of `--workers`: -1 (all at once) or 1 or more."""
    return -1 if int(value) == -1 else at_least_one(value)


@dataclass
class ExecutorOptions:
    """Where and how the stages run (`xplus curate run` flags; `job_name`, `sbatch_args` and `progress_tty` are
    set from code only)."""

    executor: str = flag_field("local", help="where the tasks run", choices=EXECUTORS)
    workers: int = flag_field(-1, help="tasks run at once (-1: all)", type=worker_count, metavar="N")
    partition: str | None = flag_field(None, help="SLURM partition", group="slurm")
    time: str = flag_field("24:00:00", help="SLURM time limit per task", group="slurm")
    cpus_per_task: int = flag_field(1, help="SLURM CPUs per task", group="slurm", metavar="C")
    mem_per_cpu_gb: int = flag_field(2, help="SLURM memory per CPU, in GB", group="slurm", metavar="M")
    venv_path: str | None = flag_field(None, help="activate script of the environment jobs use (default: this "
                                       "one's)", flag="--venv", group="slurm", metavar="ACTIVATE")
    job_name: str = field(default_factory=lambda: f"xplus-{uuid.uuid4().hex[:6]}", metadata={"cli": False})
    sbatch_args: dict | None = field(default=None, metadata={"cli": False})
    progress_interval_s: float = flag_field(
        30.0, help="seconds between two progress lines when stderr is not a terminal (a bar otherwise)",
        flag="--progress-every", metavar="SECONDS")
    progress_tty: bool | None = field(default=None, metadata={"cli": False})  # None: a bar on a terminal

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if self.executor == "slurm" and not self.partition:
            raise ConfigError("the slurm executor needs a partition (--partition)")
