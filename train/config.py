"""Training configuration as data: one dataclass, loadable from YAML, whose defaults are the paper's recipe.

Qwen3-XPlus trains in two stages on the same data, each 1 epoch: stage 1 the bottom 4 decoder layers, stage
2 the top 15, with embeddings, final norm and lm_head frozen; AdamW at lr 1e-5 with 3% linear warmup, then a
cosine decay to 2e-6 (transformers' `cosine_with_min_lr`; plain `cosine` decays to 0, a silent reproduction
error), bf16, per-device batch 1 and gradient accumulation 2. `full` and `lora` are the baselines, trained by
the same loop. A YAML file names any of the fields below; unknown keys are errors naming the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from xplus.train.layers import PAPER_STAGES

METHODS = ("layer-selective", "full", "lora")


@dataclass
class Stage:
    """One training stage: the decoder layers it trains (a `xplus.train.layers` spec) and its epochs."""

    layers: str
    epochs: int = 1


@dataclass
class LoraSettings:
    """LoRA adapters for the `lora` baseline (peft); the stage's layer spec picks the layers that get them."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved verbatim into `xplus_training.json`."""

    model: str  # hub id or local path of an HF causal LM (an instruct model)
    data: str  # chat records (`messages`): JSONL/parquet file or folder, or a Hub dataset id
    output_dir: str = "xplus-train"
    method: str = "layer-selective"
    stages: list[Stage] = field(default_factory=list)  # empty: the paper's stages (layer-selective), else all
    allow_overlapping_stages: bool = False
    learning_rate: float = 1e-5
    min_lr: float = 2e-6  # end of the cosine decay; 0 gives plain `cosine`
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    per_device_batch_size: int = 1
    gradient_accumulation_steps: int = 2
    max_length: int = 2048
    packing: bool = False
    bf16: bool | None = None  # None: bf16 when a CUDA device is present
    gradient_checkpointing: bool = False
    attn_implementation: str | None = None
    save_steps: int = 0  # checkpoint every N optimizer steps (0: only at each stage end)
    logging_steps: int = 10
    seed: int = 42
    data_split: str = "train"  # for Hub datasets
    max_samples: int | None = None
    lora: LoraSettings = field(default_factory=LoraSettings)
    report_to: list[str] | None = None  # trackers; None: tensorboard and wandb when installed
    push_to_hub: str | None = None  # repo id to upload the final model to

    def __post_init__(self) -> None:
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        self.stages = [Stage(**s) if isinstance(s, dict) else Stage(s) if isinstance(s, str) else s
                       for s in self.stages]
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r} is not one of {', '.join(METHODS)}")
        if not self.stages:
            specs = PAPER_STAGES if self.method == "layer-selective" else ("all",)
            self.stages = [Stage(spec) for spec in specs]
        if self.method == "lora" and len(self.stages) != 1:
            raise ValueError("method 'lora' trains one stage (its spec picks the layers that get adapters)")
        if self.method == "full" and any(s.layers != "all" for s in self.stages):
            raise ValueError("method 'full' trains every parameter: its stages must be 'all'")
        for name in ("per_device_batch_size", "gradient_accumulation_steps", "max_length", "logging_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if any(s.epochs < 1 for s in self.stages):
            raise ValueError("every stage needs at least 1 epoch")
        if not 0 <= self.min_lr <= self.learning_rate:
            raise ValueError(f"min_lr {self.min_lr} must lie between 0 and learning_rate {self.learning_rate}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_config(path: str | Path, **overrides) -> TrainConfig:
    """A `TrainConfig` from a YAML file, with `overrides` (e.g. from the command line) applied on top."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a training config is a mapping of fields, got {type(raw).__name__}")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return TrainConfig(**raw)
    except TypeError as err:
        raise ValueError(f"{path}: {err}") from err
