"""Training configuration as data: one dataclass, loadable from YAML, whose defaults are the paper's recipe.

Qwen3-XPlus trains in two stages on the same data, each 1 epoch: stage 1 the bottom 4 decoder layers, stage
2 the top 15, with embeddings, final norm and lm_head frozen; AdamW at lr 1e-5 with 3% linear warmup, then a
cosine decay to 2e-6 (transformers' `cosine_with_min_lr`; plain `cosine` decays to 0, a silent reproduction
error), bf16, per-device batch 1 and gradient accumulation 2. `full` and `lora` are the baselines, trained by
the same loop.

A YAML file names any of the fields below. Every value is validated by its annotation (pydantic, in lax mode:
`learning_rate: 1e-5`, which PyYAML reads as a string, is the float 1e-05) and its range (`__post_init__`)
before anything runs; an unknown key or a wrong value is one `TrainConfigError` line naming the file and the
key. Each field's `help` is also its command-line flag's help (`xplus train run --help`).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from xplus.curate.errors import ConfigError
from xplus.curate.typed import missing_local_path, yaml_line
from xplus.train.layers import PAPER_STAGES

METHODS = ("layer-selective", "full", "lora")


FORBID_UNKNOWN = {"extra": "forbid"}  # pydantic: an unknown key in a YAML mapping is an error


class TrainConfigError(ConfigError, ValueError):
    """A training config that cannot run (exit 2); the message names the file, the line when known, and the key."""

    def __init__(self, message: str, key: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.key, self.detail = key, detail


def _field(default=dataclasses.MISSING, help: str = "", **kwargs):
    return field(default=default, metadata={"help": help}, **kwargs)


@dataclass
class Stage:
    """One training stage: the decoder layers it trains (a `xplus.train.layers` spec) and its epochs."""

    __pydantic_config__ = FORBID_UNKNOWN
    layers: str
    epochs: int = 1


@dataclass
class LoraSettings:
    """LoRA adapters for the `lora` baseline (peft); the stage's layer spec picks the layers that get them."""

    __pydantic_config__ = FORBID_UNKNOWN
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved verbatim into `xplus_training.json`."""

    __pydantic_config__ = FORBID_UNKNOWN
    model: str = _field(help="hub id or local path of an HF causal LM (an instruct model)")
    data: str = _field(help="chat records (`messages`): JSONL/parquet file or folder, or a Hub dataset id")
    output_dir: str = _field("xplus-train", help="where the model, checkpoints and xplus_training.json go")
    method: str = _field("layer-selective", help=f"training method: one of {', '.join(METHODS)}")
    stages: list[Stage | str] = _field(
        help="one layer spec per stage (a stage in YAML may also be {layers: SPEC, epochs: N}); default: the "
        f"paper's {' '.join(PAPER_STAGES)} for layer-selective, else all", default_factory=list)
    allow_overlapping_stages: bool = _field(False, help="let two stages train the same layer")
    learning_rate: float = _field(1e-5, help="peak learning rate of AdamW")
    min_lr: float = _field(2e-6, help="end of the cosine decay (0: plain cosine to zero)")
    warmup_ratio: float = _field(0.03, help="share of the optimizer steps of linear warmup, in [0, 1)")
    weight_decay: float = _field(0.0, help="AdamW weight decay")
    max_grad_norm: float = _field(1.0, help="gradient clipping norm")
    per_device_batch_size: int = _field(1, help="examples per device per micro-step")
    gradient_accumulation_steps: int = _field(2, help="micro-steps per optimizer step")
    max_length: int = _field(2048, help="tokens per example (longer chats are truncated)")
    packing: bool = _field(False, help="pack several short examples into one sequence")
    bf16: bool | None = _field(None, help="bfloat16 weights and compute (default: when a CUDA device is present)")
    gradient_checkpointing: bool = _field(False, help="recompute activations to save memory")
    attn_implementation: str | None = _field(None, help="transformers attention kernel (e.g. sdpa, eager)")
    save_steps: int = _field(0, help="checkpoint every N optimizer steps (0: only at each stage end)")
    logging_steps: int = _field(10, help="log the loss every N optimizer steps")
    seed: int = _field(42, help="seed of data order and initialisation")
    data_split: str = _field("train", help="split of a Hub dataset")
    max_samples: int | None = _field(None, help="read at most N records (default: all)")
    lora: LoraSettings = _field(help="LoRA settings of the lora method: {r, alpha, dropout, target_modules}",
                                default_factory=LoraSettings)
    report_to: list[str] | None = _field(None, help="trackers (default: tensorboard and wandb when installed)")
    push_to_hub: str | None = _field(None, help="Hub repo id to upload the final model to")

    def __post_init__(self) -> None:
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        self.stages = [Stage(**s) if isinstance(s, dict) else Stage(s) if isinstance(s, str) else s
                       for s in self.stages]
        for name in ("model", "data"):
            if problem := missing_local_path(getattr(self, name)):
                raise ValueError(f"{name}: {problem}")
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
    """A `TrainConfig` from a YAML file, with `overrides` (e.g. from the command line) applied on top; every
    value validated before anything runs."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise TrainConfigError(f"{where}: not valid YAML: {getattr(err, 'problem', None) or err}") from err
    if not isinstance(raw, dict):
        raise TrainConfigError(f"{path}: a training config is a mapping of fields, got {type(raw).__name__}")
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        return config_from_mapping({**raw, **flags}, str(path))
    except TrainConfigError as err:
        from_file = err.key and err.key.split(".")[0].split("[")[0] not in flags
        line = yaml_line(text, err.key) if from_file else None
        if line is None:
            raise
        raise TrainConfigError(f"{path}:{line}: {err.key}: {err.detail}", err.key, err.detail) from None


def config_from_mapping(raw: dict, origin: str) -> TrainConfig:
    """A validated `TrainConfig` from a mapping (a YAML file's, or the command line's flags as `origin`)."""
    from xplus.curate.typed import TypedError, validate_dataclass

    known = [f.name for f in dataclasses.fields(TrainConfig)]
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"
            raise TrainConfigError(f"{origin}: {key}: unknown key{hint}", str(key), f"unknown key{hint}")
    try:
        return validate_dataclass(TrainConfig, raw)
    except TypedError as err:
        raise TrainConfigError(f"{origin}: {err}", err.key or None, err.message) from None
