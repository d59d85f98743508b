"""A tiny random Qwen3 model and tokenizer, built offline for the evaluator's tests and its benchmark.

The tokenizer is a byte-level BPE trained on the FLORES lines given, with Qwen3's special tokens and a chat
template that behaves like Qwen3's on what the evaluator uses: ChatML turns, and with `enable_thinking=False`
an empty `<think>\\n\\n</think>\\n\\n` opening the assistant turn.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, tie_word_embeddings=True,
            initializer_range=0.5)  # wide random weights: varied output, not one token repeated


def tiny_tokenizer(lines: list[str], vocab_size: int = 1000) -> PreTrainedTokenizerFast:
    """Byte-level BPE over `lines` with Qwen3's special tokens and a Qwen3-like chat template."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(lines, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_qwen3(vocab_size: int, seed: int = 0, **arch: float) -> Qwen3ForCausalLM:
    """A Qwen3 causal LM at random (seeded) weights; `arch` overrides the tiny sizes."""
    torch.manual_seed(seed)
    config = Qwen3Config(vocab_size=vocab_size, **{**TINY, **arch})
    return Qwen3ForCausalLM(config).eval()


def save_tiny_model(folder: Path, lines: list[str]) -> Path:
    """A tiny Qwen3 model and its tokenizer saved as a HF model folder, as `translate --model` reads one."""
    tokenizer = tiny_tokenizer(lines)
    model = tiny_qwen3(len(tokenizer))
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
