"""Tiny random models and tokenizers built in the test session (no Hub): a Qwen3 and a Llama architecture
with 8 layers of width 64, a byte-level BPE trained on real bitext, and the real chat templates' logic
(Qwen3's template is reproduced with its thinking handling; Llama 3's header/eot layout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xplus.curate.prompts import benchmax_prompt, chat_messages

QWEN3_TEMPLATE = """\
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

LLAMA3_TEMPLATE = """\
{{- bos_token }}
{%- for message in messages %}
{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"""

SPECIALS = {"qwen3": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
            "llama": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}


def tico_pairs(bitext: Path, n: int) -> list[tuple[str, str]]:
    folder = bitext / "tico19" / "eng-swa"
    en = (folder / "tico19-test.eng").read_text(encoding="utf-8").splitlines()
    sw = (folder / "tico19-test.swa").read_text(encoding="utf-8").splitlines()
    return [(e, s) for e, s in zip(en, sw, strict=True) if e.strip() and s.strip()][:n]


def make_tokenizer(kind: str, corpus: list[str]):
    """A byte-level BPE (vocab 600) with the family's special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIALS[kind],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    if kind == "qwen3":
        return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                       chat_template=QWEN3_TEMPLATE)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                   chat_template=LLAMA3_TEMPLATE)


def make_model(kind: str, vocab_size: int, num_layers: int = 8, seed: int = 0, **overrides):
    """A random tiny causal LM of the family (hidden 64, 4 heads, 2 KV heads)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=num_layers,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=512,
                  tie_word_embeddings=False, **overrides)
    if kind == "qwen3":
        return Qwen3ForCausalLM(Qwen3Config(**common))
    return LlamaForCausalLM(LlamaConfig(**common))


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny matmuls on a shared 2-core machine run ~15x faster on one thread than fighting over two."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def pairs(bitext) -> list[tuple[str, str]]:
    return tico_pairs(bitext, 400)


@pytest.fixture(scope="session", params=["qwen3", "llama"])
def tiny_model_dir(request, tmp_path_factory, pairs) -> Path:
    """A saved tiny model + tokenizer of each family, loadable by path like a Hub checkpoint."""
    return save_model(tmp_path_factory.mktemp(f"tiny-{request.param}"), request.param, pairs)


def save_model(path: Path, kind: str, pairs: list[tuple[str, str]], **overrides) -> Path:
    """A tiny model of the family and its tokenizer saved to `path`, loadable like a Hub checkpoint."""
    tokenizer = make_tokenizer(kind, [t for pair in pairs for t in pair])
    make_model(kind, len(tokenizer), **overrides).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def qwen3_dir(tmp_path_factory, pairs) -> Path:
    return save_model(tmp_path_factory.mktemp("tiny-qwen3"), "qwen3", pairs)


def write_chat_records(path: Path, pairs: list[tuple[str, str]]) -> Path:
    """Chat records laid out like curation step 6's `chat-messages` JSONL (BenchMAX prompt, en -> sw)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for en, sw in pairs:
            row = {"messages": chat_messages(benchmax_prompt(en, "eng_Latn", "swh_Latn"), sw),
                   "src": "eng_Latn", "trg": "swh_Latn", "src_line": en, "tgt_line": sw}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def chat_file(tmp_path_factory, pairs) -> Path:
    return write_chat_records(tmp_path_factory.mktemp("chat") / "00000.jsonl", pairs[:24])
