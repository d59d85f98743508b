"""Checkpoints that let a run continue mid-stage or between stages exactly where it stopped.

A checkpoint `<output_dir>/checkpoints/stage<S>-step<K>/` holds:

- `weights.safetensors`: the parameters any stage so far has trained (the rest are the base model's, which
  is reloaded on resume), so a checkpoint of a layer-selective run is a fraction of the model;
- `optimizer.pt`, `scheduler.pt` (mid-stage checkpoints): the stage's AdamW state and LR schedule position;
- `rng-<rank>.pt`: Python, NumPy, torch (and CUDA) generator states of every process, as tensors and plain
  values;
- `progress.json`: stage, optimizer step, micro-batches consumed (the data position), whether the stage is
  complete, and the data hash and stage plan, which must match on resume.

`checkpoints/latest` names the newest complete checkpoint; it is written last, so a crash while saving
leaves the previous one in force.

Resuming loads every `.pt` file with `torch.load(weights_only=True)`: tensors, numbers, strings, lists, tuples
and dicts only. A checkpoint from someone else whose pickle would build any other object (and so could run
code) is refused with `UnsafeCheckpointError` before anything is restored.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from xplus.curate.errors import DataError


class UnsafeCheckpointError(DataError):
    """A checkpoint file holding objects other than tensors and plain values: not loaded."""


@dataclass
class Progress:
    """Where a run stands: `step` optimizer steps and `consumed` micro-batches done in stage `stage`."""

    stage: int = 0
    step: int = 0
    consumed: int = 0
    stage_done: bool = False
    global_step: int = 0
    data_hash: str = ""
    plan: list[list[int]] | None = None


def checkpoint_root(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def save_checkpoint(accelerator, output_dir: str | Path, progress: Progress, weights: dict[str, torch.Tensor],
                    optimizer, scheduler) -> Path:
    """Write a checkpoint (weights/optimizer/scheduler from the main process, RNG from every process)."""
    name = f"stage{progress.stage + 1}-step{progress.step}"
    path = checkpoint_root(output_dir) / name
    if accelerator.is_main_process:
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(path / "weights.safetensors"))
        if optimizer is not None:  # mid-stage only: a finished stage's optimizer is never needed again
            torch.save(optimizer.state_dict(), path / "optimizer.pt")
            torch.save(scheduler.state_dict(), path / "scheduler.pt")
        (path / "progress.json").write_text(json.dumps(asdict(progress), indent=1))
    accelerator.wait_for_everyone()
    torch.save(_rng_state(), path / f"rng-{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (checkpoint_root(output_dir) / "latest").write_text(name)
    accelerator.wait_for_everyone()
    return path


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    marker = checkpoint_root(output_dir) / "latest"
    return checkpoint_root(output_dir) / marker.read_text().strip() if marker.is_file() else None


def load_progress(path: Path) -> Progress:
    return Progress(**json.loads((path / "progress.json").read_text()))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "weights.safetensors"))


def load_training_state(path: Path, optimizer, scheduler, process_index: int) -> None:
    """Restore optimizer, scheduler and this process's RNG. The scheduler must already exist: creating it
    resets the optimizer's lr, which the optimizer state then restores."""
    optimizer_state = load_state(path / "optimizer.pt")
    scheduler_state = load_state(path / "scheduler.pt")
    rng_state = load_state(path / f"rng-{process_index}.pt")
    optimizer.load_state_dict(optimizer_state)
    scheduler.load_state_dict(scheduler_state)
    _set_rng_state(rng_state)


def load_state(file: Path):
    """A `.pt` file of tensors and plain values; anything else (a pickle that could run code) is refused."""
    import pickle

    try:
        return torch.load(file, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)", str(err))  # the first object torch's unpickler would not build
        what = f" ({found[1]})" if found else ""
        older = " (RNG files of xplus 0.1.0 hold NumPy pickles: resume those with 0.1.0)" \
            if found and found[1].startswith("numpy") else ""
        raise UnsafeCheckpointError(f"{file}: refused: it holds objects other than tensors and plain values{what}, "
                                    f"which loading would execute; resume only from checkpoints xplus wrote"
                                    f"{older}") from None


def restore_rng(path: Path, process_index: int) -> None:
    _set_rng_state(load_state(path / f"rng-{process_index}.pt"))


def _set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy = state["numpy"]
    np.random.set_state((numpy["bit_generator"], numpy["key"].numpy().astype(np.uint32), numpy["pos"],
                         numpy["has_gauss"], numpy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _rng_state() -> dict:
    """Every generator's state as tensors and plain values (loadable with `weights_only=True`)."""
    name, key, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"bit_generator": name, "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state
