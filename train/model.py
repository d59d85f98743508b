"""Loading a causal LM and choosing which of its parameters a stage trains.

A decoder layer's parameters are found by module identity (the model's `ModuleList` of
`num_hidden_layers` blocks, usually `model.layers`), never by name patterns, so Qwen3, Llama and other HF
decoder-only models work alike, wrapped by peft or not. Layer-selective stages train exactly the parameters
of their layers: embeddings, the final norm and lm_head stay frozen.

With bf16 the model is loaded in bf16 and the parameters being trained are upcast to fp32 (the optimizer
then steps fp32 master weights under bf16 autocast; LLaMA-Factory does the same for freeze tuning); frozen
parameters stay in bf16 and carry no gradient and no optimizer state.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from xplus.train.config import TrainConfig


def load_tokenizer(name_or_path: str) -> Any:
    """The model's tokenizer; a pad token is set to EOS when the model has none (labels mask padding anyway)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(config: TrainConfig, dtype: torch.dtype) -> nn.Module:
    """The causal LM from a hub id or local path, in `dtype`, with the KV cache off (training only)."""
    from transformers import AutoModelForCausalLM

    kwargs = {"attn_implementation": config.attn_implementation} if config.attn_implementation else {}
    model = AutoModelForCausalLM.from_pretrained(config.model, dtype=dtype, **kwargs)
    model.config.use_cache = False
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The model's list of decoder blocks (the one `ModuleList` of `num_hidden_layers` modules)."""
    num_layers = model.config.get_text_config().num_hidden_layers
    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) == num_layers]
    if len(lists) != 1:
        raise ValueError(f"expected one ModuleList of {num_layers} decoder layers, found {len(lists)}")
    return lists[0]


def layer_parameters(model: nn.Module, layers: list[int]) -> dict[str, nn.Parameter]:
    """Name -> parameter of every parameter inside the given decoder layers."""
    blocks = decoder_layers(model)
    wanted = {id(p) for i in layers for p in blocks[i].parameters()}
    return {name: p for name, p in model.named_parameters() if id(p) in wanted}


def set_trainable(model: nn.Module, names: set[str], dtype: torch.dtype | None = None) -> list[nn.Parameter]:
    """Make exactly the parameters `names` trainable, cast to `dtype` when given; return them in model order."""
    trainable = []
    for name, param in model.named_parameters():
        param.requires_grad_(name in names)
        if name in names:
            if dtype is not None and param.dtype != dtype:
                param.data = param.data.to(dtype)
            trainable.append(param)
    return trainable


def cast_parameters(model: nn.Module, names: set[str], dtype: torch.dtype) -> None:
    """Cast the named parameters back to the model's storage dtype once a stage no longer trains them."""
    for name, param in model.named_parameters():
        if name in names and param.dtype != dtype:
            param.data = param.data.to(dtype)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; tied weights count once."""
    seen, trainable, total = set(), 0, 0
    for param in model.parameters():
        if id(param) in seen:
            continue
        seen.add(id(param))
        total += param.numel()
        trainable += param.numel() if param.requires_grad else 0
    return trainable, total
