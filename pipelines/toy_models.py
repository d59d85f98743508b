"""Toy models built offline, at random (seeded) weights, for the end-to-end recipe, tests and benchmarks.

Nothing here comes from the Hub. One builder per model kind:

- `toy_tokenizer` + `toy_causal_lm` (`save_toy_causal_lm`): a tiny Qwen3 (or Llama) causal LM and a byte-level
  BPE tokenizer trained on the given text, with the family's special tokens and a chat template that renders
  like the real one (Qwen3's: ChatML turns, the `<think>` handling, `enable_thinking=False` opening the
  assistant turn with an empty think block; Llama 3's header/eot layout).
- `build_toy_seq2seq` (+ `train_toy_seq2seq`): a tiny M2M100 (NLLB architecture) with an NLLB-style tokenizer
  (SentencePiece BPE on the given text, NLLB's special tokens and its language codes). It is a **toy scorer**
  for the curation loss step, not NLLB; `train_toy_seq2seq` teaches it a direction on the fly.
- `build_toy_xcomet`: a tiny XCOMET checkpoint (tiny XLM-R) as unbabel-comet's `load_from_checkpoint` reads
  one. It needs comet, which lives in its own environment: run this file with that environment's python,
  `python toy_models.py xcomet OUT TEXT_FILE` (`toy_xcomet_command` builds the command line). This module
  imports no xplus package and nothing heavy at the top, so that environment (transformers 4, numpy 1) can
  run it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

QWEN3_CHAT_TEMPLATE = """\
{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" %}
        {%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- set content = message.content %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if '</think>' in content %}
            {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') }}
                {{- '\\n</think>\\n\\n' + content.lstrip('\\n') }}
            {%- else %}{{- '<|im_start|>' + message.role + '\\n' + content }}{%- endif %}
        {%- else %}{{- '<|im_start|>' + message.role + '\\n' + content }}{%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}
{%- endif %}"""

LLAMA3_CHAT_TEMPLATE = """\
{{- bos_token }}
{%- for message in messages %}
{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"""

SPECIAL_TOKENS = {"qwen3": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
                  "llama": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}
KINDS = tuple(SPECIAL_TOKENS)


def toy_tokenizer(corpus: list[str], kind: str = "qwen3", vocab_size: int = 600) -> Any:
    """A byte-level BPE of `vocab_size` trained on `corpus`, with the family's special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS[kind],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        show_progress=False))
    if kind == "qwen3":
        return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                       chat_template=QWEN3_CHAT_TEMPLATE)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                   chat_template=LLAMA3_CHAT_TEMPLATE)


def toy_causal_lm(kind: str, vocab_size: int, num_layers: int = 8, seed: int = 0, hidden_size: int = 64,
                  **overrides: Any) -> Any:
    """A random tiny causal LM of the family (4 heads of 16, 2 KV heads by default; `overrides` go to the
    config)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                  num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
                  head_dim=hidden_size // 4, max_position_embeddings=512, tie_word_embeddings=False)
    common.update(overrides)
    if kind == "qwen3":
        return Qwen3ForCausalLM(Qwen3Config(**common))
    if kind == "llama":
        return LlamaForCausalLM(LlamaConfig(**common))
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def save_toy_causal_lm(folder: str | Path, corpus: list[str], kind: str = "qwen3", vocab_size: int = 600,
                       **model_args: Any) -> Path:
    """A toy causal LM and its tokenizer saved to `folder`, loadable by path like a Hub checkpoint (generation
    stops at the chat template's end-of-turn token)."""
    folder = Path(folder)
    tokenizer = toy_tokenizer(corpus, kind, vocab_size)
    model = toy_causal_lm(kind, len(tokenizer), **model_args)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None \
        else tokenizer.eos_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_toy_seq2seq(folder: str | Path, texts: list[str], vocab_size: int = 600, d_model: int = 32,
                      layers: int = 1, seed: int = 0, init_std: float = 0.02, dropout: float = 0.0) -> Path:
    """An NLLB-style tokenizer (SentencePiece BPE on `texts`, NLLB's special tokens and its 202 language codes)
    and a random M2M100 (NLLB's architecture, tied embeddings) of that vocabulary, saved like a Hub model.
    A toy scorer: not NLLB."""
    import torch
    from tokenizers import SentencePieceBPETokenizer
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    folder = Path(folder)
    sp = SentencePieceBPETokenizer()
    sp.train_from_iterator(texts, vocab_size=vocab_size, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                           show_progress=False)
    bpe = json.loads(sp.to_str())["model"]
    tokenizer = NllbTokenizer(vocab=bpe["vocab"], merges=[tuple(m) for m in bpe["merges"]])
    torch.manual_seed(seed)
    config = M2M100Config(
        vocab_size=len(tokenizer), d_model=d_model, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=2 * d_model,
        decoder_ffn_dim=2 * d_model, max_position_embeddings=256, dropout=dropout, attention_dropout=dropout,
        encoder_layerdrop=0.0, decoder_layerdrop=0.0, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        decoder_start_token_id=2, init_std=init_std,
    )
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def train_toy_seq2seq(folder: str | Path, pairs: list[tuple[str, str]], src: str, trg: str, steps: int,
                      lr: float = 3e-3, warmup: int = 30, batch: int = 32, max_length: int = 48,
                      seed: int = 0) -> list[float]:
    """Teacher-forced training of the toy seq2seq in `folder` on `pairs` (`src` -> `trg`, NLLB codes) for exactly
    `steps` optimizer steps (a step count, never a wall-clock budget: the same model on every machine), saved in
    place. Returns the loss per step."""
    import torch
    from transformers import AutoTokenizer, M2M100ForConditionalGeneration

    folder = Path(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = M2M100ForConditionalGeneration.from_pretrained(folder).train()
    tokenizer.src_lang, tokenizer.tgt_lang = src, trg
    enc = tokenizer([s for s, _ in pairs], text_target=[t for _, t in pairs], padding=True, truncation=True,
                    max_length=max_length, return_tensors="pt")
    enc["labels"][enc["labels"] == tokenizer.pad_token_id] = -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    generator = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    while len(losses) < steps:
        rows = torch.randint(0, len(pairs), (batch,), generator=generator)
        mask, labels = enc["attention_mask"][rows], enc["labels"][rows]
        src_len, tgt_len = int(mask.sum(1).max()), int((labels != -100).sum(1).max())
        loss = model(input_ids=enc["input_ids"][rows, :src_len], attention_mask=mask[:, :src_len],
                     labels=labels[:, :tgt_len].contiguous()).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    model.eval().save_pretrained(folder)
    return losses


# --- tiny XCOMET (run inside the comet environment) ------------------------------------------------------------


def build_toy_xcomet(out: str | Path, text_file: str | Path) -> Path:
    """A tiny random XCOMET model folder: `xlmr/` (a tiny XLM-R encoder with a SentencePiece tokenizer trained on
    `text_file`), `checkpoints/model.ckpt` (a Lightning checkpoint of an `XCOMETMetric` on it) and
    `hparams.yaml`. Needs unbabel-comet: run it in the comet environment (`toy_xcomet_command`)."""
    import pytorch_lightning
    import sentencepiece
    import torch
    import yaml
    from comet.models import XCOMETMetric
    from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

    out = Path(out)
    encoder = out / "xlmr"
    encoder.mkdir(parents=True, exist_ok=True)
    sentencepiece.SentencePieceTrainer.train(input=str(text_file), model_prefix=str(out / "spm"), vocab_size=400,
                                             minloglevel=2)
    tokenizer = XLMRobertaTokenizerFast(vocab_file=str(out / "spm.model"))
    tokenizer.save_pretrained(encoder)
    XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=514, pad_token_id=1, bos_token_id=0,
                     eos_token_id=2).save_pretrained(encoder)
    torch.manual_seed(0)
    model = XCOMETMetric(encoder_model="XLM-RoBERTa", pretrained_model=str(encoder), load_pretrained_weights=False,
                         local_files_only=True, word_layer=2, hidden_sizes=[16], layer_norm=False)
    hparams = dict(model.hparams)
    (out / "checkpoints").mkdir(exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams,
                "pytorch-lightning_version": pytorch_lightning.__version__}, out / "checkpoints" / "model.ckpt")
    (out / "hparams.yaml").write_text(yaml.safe_dump(hparams))
    return out


def toy_xcomet_command(python: str | Path, out: str | Path, text_file: str | Path) -> list[str]:
    """The command that builds a tiny XCOMET with the comet environment's `python`."""
    return [str(python), str(Path(__file__).resolve()), "xcomet", str(out), str(text_file)]


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "xcomet":
        sys.exit("usage: python toy_models.py xcomet OUT TEXT_FILE")
    print(build_toy_xcomet(sys.argv[2], sys.argv[3]))
