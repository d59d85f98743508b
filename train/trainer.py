"""The training recipe: one loop on accelerate for layer-selective, full and LoRA tuning, read top to bottom.

`train(config)` loads the tokenizer, encodes the chat records (`xplus.train.data`), loads the model, resolves
each stage's layers and trainable parameters, prints the plan, then runs the stages in order: stage k+1
starts from stage k's weights. Every stage gets a fresh AdamW over its trainable parameters only (frozen
ones have no optimizer state) and its own warmup + cosine-to-`min_lr` schedule over its optimizer steps, as
if each stage were a separate run from the previous stage's output, which is how the paper trains.

One code path serves one process, DDP, FSDP2 and DeepSpeed (an accelerate config picks; `accelerate launch`
starts the processes). The loss is the mean over assistant tokens of the whole accumulation window across all
processes (sum of token losses / global target tokens), so gradient accumulation and sharding do not change
the weighting. Checkpoints (`xplus.train.checkpoint`) are written every `save_steps` optimizer steps and at
each stage end; `resume=True` continues from the latest one, mid-stage or between stages.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import json
import math
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from xplus.train import checkpoint as ckpt
from xplus.train.config import TrainConfig
from xplus.train.data import IGNORE_INDEX, DataReport, Encoded, build_examples, collate, load_records
from xplus.train.layers import format_ranges, resolve_layers
from xplus.train.model import (
    cast_parameters,
    count_parameters,
    decoder_layers,
    layer_parameters,
    load_model,
    load_tokenizer,
    set_trainable,
)


@dataclass
class StagePlan:
    """A stage resolved against the model: its layers and the names of the parameters it trains."""

    spec: str
    layers: list[int]
    epochs: int
    names: set[str]


def train(config: TrainConfig, resume: bool = False) -> dict:
    """Run every stage of `config` (continuing from the latest checkpoint when `resume`); return the record
    written to `<output_dir>/xplus_training.json`."""
    from accelerate.utils import set_seed

    accelerator = make_accelerator(config)
    bf16 = accelerator.mixed_precision == "bf16"
    set_seed(config.seed)
    tokenizer = load_tokenizer(config.model)
    records = load_records(config.data, config.data_split, config.max_samples)
    examples, report = build_examples(tokenizer, records, config.max_length, config.packing)
    accelerator.print(report.summary(config.max_length))

    storage_dtype = torch.bfloat16 if bf16 else torch.float32
    model = load_model(config, storage_dtype)
    if config.method == "lora":
        model = apply_lora(model, config)
    plans = plan_stages(model, config)
    progress = ckpt.Progress(data_hash=report.data_hash, plan=[p.layers for p in plans])
    checkpoint = ckpt.latest_checkpoint(config.output_dir) if resume else None
    if checkpoint is not None:
        progress = restore_weights(model, checkpoint, progress)
        accelerator.print(f"resuming from {checkpoint} (stage {progress.stage + 1}, step {progress.step})")
    accelerator.print(describe_plan(model, config, plans, accelerator.num_processes))

    trackers = _trackers(config.report_to)
    if trackers:
        accelerator.init_trackers("xplus-train", config={k: str(v) for k, v in config.to_dict().items()})
    losses: list[list[float]] = [[] for _ in plans]
    wrapped = model
    for index in range(len(plans)):
        if index < progress.stage or (index == progress.stage and progress.stage_done):
            continue
        resuming_mid_stage = checkpoint is not None and index == progress.stage
        if not resuming_mid_stage:
            progress.stage, progress.step, progress.consumed, progress.stage_done = index, 0, 0, False
        wrapped = run_stage(accelerator, model, examples, tokenizer.pad_token_id, config, plans, progress,
                            checkpoint if resuming_mid_stage else None, losses[index], storage_dtype)
    record = save_final(accelerator, wrapped, model, tokenizer, config, plans, report, losses)
    accelerator.end_training()  # last: it also tears down the process group
    return record


def make_accelerator(config: TrainConfig):
    """The accelerate `Accelerator`: bf16 autocast when asked (default: on CUDA), trackers when installed."""
    from accelerate import Accelerator

    bf16 = torch.cuda.is_available() if config.bf16 is None else config.bf16
    return Accelerator(mixed_precision="bf16" if bf16 else "no", log_with=_trackers(config.report_to) or None,
                       project_dir=config.output_dir)


def _trackers(report_to: list[str] | None) -> list[str]:
    if report_to is not None:
        return list(report_to)
    return [name for name in ("tensorboard", "wandb") if importlib.util.find_spec(name) is not None]


def apply_lora(model: nn.Module, config: TrainConfig) -> nn.Module:
    """Wrap the model with peft LoRA adapters on the single stage's layers (all layers for `all`)."""
    from peft import LoraConfig, get_peft_model

    blocks = decoder_layers(model)
    spec = config.stages[0].layers
    layers = None if spec == "all" else resolve_layers(spec, len(blocks))
    targets = config.lora.target_modules
    if targets == "all-linear" and layers is not None:  # peft takes a layer subset only with explicit names
        targets = sorted({name.rsplit(".", 1)[-1] for name, m in blocks.named_modules() if isinstance(m, nn.Linear)})
    lora = LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                      target_modules=targets, layers_to_transform=layers, task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def plan_stages(model: nn.Module, config: TrainConfig) -> list[StagePlan]:
    """Resolve every stage's spec against the model; reject overlapping stages unless allowed."""
    num_layers = len(decoder_layers(model))
    plans = []
    for i, stage in enumerate(config.stages, 1):
        try:
            layers = resolve_layers(stage.layers, num_layers)
        except ValueError as err:
            raise ValueError(f"stage {i}: {err}") from err
        if config.method == "layer-selective":
            names = set(layer_parameters(model, layers))
        elif config.method == "full":
            names = {name for name, _ in model.named_parameters()}
        else:
            names = {name for name, _ in model.named_parameters() if "lora_" in name}
        plans.append(StagePlan(stage.layers, layers, stage.epochs, names))
    if not config.allow_overlapping_stages:
        for (i, a), (j, b) in itertools.combinations(enumerate(plans, 1), 2):
            if common := sorted(set(a.layers) & set(b.layers)):
                raise ValueError(f"stages {i} ({a.spec}) and {j} ({b.spec}) both train layers "
                                 f"{format_ranges(common)} of {num_layers}; set allow_overlapping_stages to allow it")
    return plans


def describe_plan(model: nn.Module, config: TrainConfig, plans: list[StagePlan], num_processes: int) -> str:
    """The resolved layers, trainable/total parameters per stage and the effective global batch."""
    sizes = {name: p.numel() for name, p in model.named_parameters()}
    total = count_parameters(model)[1]
    lines = [f"model: {config.model} ({len(decoder_layers(model))} layers, {total:,} parameters); "
             f"method: {config.method}"]
    for i, plan in enumerate(plans, 1):
        trainable = sum(sizes[name] for name in plan.names)
        lines.append(f"stage {i}: {plan.spec} -> layers {format_ranges(plan.layers)} ({len(plan.layers)} of "
                     f"{len(decoder_layers(model))}); trainable {trainable:,} of {total:,} parameters "
                     f"({100 * trainable / total:.2f}%); {plan.epochs} epoch(s)")
    global_batch = config.per_device_batch_size * config.gradient_accumulation_steps * num_processes
    lines.append(f"effective global batch: {config.per_device_batch_size} per device x "
                 f"{config.gradient_accumulation_steps} accumulation x {num_processes} process(es) = {global_batch}")
    return "\n".join(lines)


def restore_weights(model: nn.Module, checkpoint: Path, fresh: ckpt.Progress) -> ckpt.Progress:
    """Load a checkpoint's trained parameters into the model; check it belongs to this data and plan."""
    progress = ckpt.load_progress(checkpoint)
    if progress.data_hash != fresh.data_hash or progress.plan != fresh.plan:
        raise ValueError(f"{checkpoint} was written for other data or other stages; refusing to resume from it")
    params = dict(model.named_parameters())
    for name, tensor in ckpt.load_weights(checkpoint).items():
        params[name].data = tensor.to(params[name].device)
    return progress


def stage_loader(examples: list[Encoded], stage: int, epochs: int, config: TrainConfig, pad_id: int) -> DataLoader:
    """The stage's micro-batches: each epoch a fresh seeded shuffle, fixed in advance so a data position
    (micro-batches consumed) identifies exactly what remains."""
    order: list[int] = []
    for epoch in range(epochs):
        permutation = list(range(len(examples)))
        random.Random(f"{config.seed}-{stage}-{epoch}").shuffle(permutation)
        order += permutation
    return DataLoader([examples[i] for i in order], batch_size=config.per_device_batch_size, shuffle=False,
                      collate_fn=partial(collate, pad_token_id=pad_id))


def make_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, config: TrainConfig):
    """Linear warmup over ceil(warmup_ratio * steps) steps, then cosine from lr down to min_lr."""
    from transformers import get_cosine_with_min_lr_schedule_with_warmup

    return get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, num_warmup_steps=math.ceil(config.warmup_ratio * total_steps), num_training_steps=total_steps,
        min_lr=config.min_lr)


def run_stage(accelerator, model: nn.Module, examples: list[Encoded], pad_id: int, config: TrainConfig,
              plans: list[StagePlan], progress: ckpt.Progress, checkpoint: Path | None, losses: list[float],
              storage_dtype: torch.dtype, save_checkpoints: bool = True) -> nn.Module:
    """Train one stage from `progress` (restoring optimizer, schedule, RNG and data position from
    `checkpoint` when continuing mid-stage); return the prepared model. The layer sweep passes
    `save_checkpoints=False`: its one-layer stages are scored and undone, never resumed."""
    from tqdm.auto import tqdm

    plan = plans[progress.stage]
    upcast = torch.float32 if storage_dtype != torch.float32 and config.method != "lora" else None
    params = set_trainable(model, plan.names, upcast)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    loader = stage_loader(examples, progress.stage, plan.epochs, config, pad_id)
    wrapped, prepared_optimizer, loader = accelerator.prepare(model, optimizer, loader)
    total = math.ceil(len(loader) / config.gradient_accumulation_steps)
    scheduler = make_scheduler(optimizer, total, config)
    if checkpoint is not None:
        ckpt.load_training_state(checkpoint, optimizer, scheduler, accelerator.process_index)
    batches = iter(accelerator.skip_first_batches(loader, progress.consumed) if progress.consumed else loader)
    touched = set().union(*(p.names for p in plans[: progress.stage + 1]))
    bar = tqdm(total=total, initial=progress.step, desc=f"stage {progress.stage + 1}",
               disable=not accelerator.is_main_process)
    while progress.step < total:
        window = list(itertools.islice(batches, config.gradient_accumulation_steps))
        loss = accumulate(accelerator, wrapped, window)
        if config.max_grad_norm:
            accelerator.clip_grad_norm_(params, config.max_grad_norm)
        lr = optimizer.param_groups[0]["lr"]
        prepared_optimizer.step()
        scheduler.step()
        prepared_optimizer.zero_grad(set_to_none=True)
        progress.step += 1
        progress.consumed += len(window)
        progress.global_step += 1
        losses.append(loss)
        bar.update()
        bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}")
        if progress.step % config.logging_steps == 0 or progress.step == total:
            _log(accelerator, config, progress, loss, lr)
        due = config.save_steps and progress.global_step % config.save_steps == 0 and progress.step < total
        if save_checkpoints and due:
            weights = _weights(accelerator, wrapped, touched)
            ckpt.save_checkpoint(accelerator, config.output_dir, progress, weights, optimizer, scheduler)
    bar.close()
    if upcast is not None:
        cast_parameters(model, plan.names, storage_dtype)
    progress.stage_done = True
    if save_checkpoints:
        weights = _weights(accelerator, wrapped, touched)
        ckpt.save_checkpoint(accelerator, config.output_dir, progress, weights, None, None)
    return wrapped


def accumulate(accelerator, model: nn.Module, window: list[dict[str, torch.Tensor]]) -> float:
    """Forward/backward a window of micro-batches (gradients synchronised on the last only); the loss is the
    token-mean over the window's assistant tokens on all processes. Returns that mean loss."""
    local = sum(int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b in window)
    targets = max(int(accelerator.reduce(torch.tensor(local, device=accelerator.device), "sum")), 1)
    scale = accelerator.num_processes / targets  # DDP averages gradients over processes
    summed = torch.zeros((), device=accelerator.device)
    for j, batch in enumerate(window):
        with nullcontext() if j == len(window) - 1 else accelerator.no_sync(model):
            loss_sum = token_loss_sum(model, batch)
            accelerator.backward(loss_sum * scale)
        summed += loss_sum.detach()
    return float(accelerator.reduce(summed, "sum")) / targets


def token_loss_sum(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed next-token cross-entropy over the labelled (assistant) tokens of a batch."""
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs).logits
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), batch["labels"][:, 1:].flatten(),
                           ignore_index=IGNORE_INDEX, reduction="sum")


def _weights(accelerator, wrapped: nn.Module, names: set[str]) -> dict[str, torch.Tensor]:
    """The named parameters, gathered from every shard (FSDP/DeepSpeed) through accelerate."""
    state = accelerator.get_state_dict(wrapped)
    return {k: v for k, v in state.items() if k in names}


def _log(accelerator, config: TrainConfig, progress: ckpt.Progress, loss: float, lr: float) -> None:
    row = {"stage": progress.stage + 1, "step": progress.step, "global_step": progress.global_step,
           "loss": loss, "lr": lr}
    accelerator.log({"loss": loss, "lr": lr, "stage": progress.stage + 1}, step=progress.global_step)
    if accelerator.is_main_process:
        path = Path(config.output_dir) / "train_log.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:
            out.write(json.dumps(row) + "\n")


def save_final(accelerator, wrapped: nn.Module, model: nn.Module, tokenizer, config: TrainConfig,
               plans: list[StagePlan], report: DataReport, losses: list[list[float]]) -> dict:
    """Save the model in HF format (LoRA: merged, adapter in `adapter/`), the tokenizer and
    `xplus_training.json`; push to the Hub when asked."""
    out = Path(config.output_dir)
    state = accelerator.get_state_dict(wrapped)
    record = {
        "method": config.method,
        "stages": [{"spec": p.spec, "layers": p.layers, "layer_ranges": format_ranges(p.layers), "epochs": p.epochs,
                    "trainable_parameters": sum(v.numel() for k, v in model.named_parameters() if k in p.names),
                    "first_loss": (stage_losses or [None])[0], "last_loss": (stage_losses or [None])[-1]}
                   for p, stage_losses in zip(plans, losses, strict=True)],
        "total_parameters": count_parameters(model)[1],
        "hyperparameters": config.to_dict(),
        "num_processes": accelerator.num_processes,
        "effective_global_batch": config.per_device_batch_size * config.gradient_accumulation_steps
        * accelerator.num_processes,
        "mixed_precision": accelerator.mixed_precision,
        "data": {"source": config.data, "sha256": report.data_hash, **{k: v for k, v in vars(report).items()
                                                                       if k != "data_hash"}},
        "versions": {name: _version(name) for name in ("xplus", "torch", "transformers", "accelerate", "peft")},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        if config.method == "lora":
            model.save_pretrained(out / "adapter")
            model = model.merge_and_unload()
            state = model.state_dict()
        model.save_pretrained(out, state_dict=state)
        tokenizer.save_pretrained(out)
        (out / "xplus_training.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        if config.push_to_hub:
            from huggingface_hub import HfApi

            api = HfApi()
            api.create_repo(config.push_to_hub, exist_ok=True)
            api.upload_folder(folder_path=str(out), repo_id=config.push_to_hub, ignore_patterns=["checkpoints/*"])
    accelerator.wait_for_everyone()
    return record


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
