"""Translation with a causal LM, BenchMAX's way, cached per direction so an interrupted run resumes.

Each sentence becomes BenchMAX's prompt (`xplus.curate.prompts.benchmax_prompt`, the template `train/` uses
too) in one user turn with no system prompt, rendered by the model's chat template with thinking disabled.
Decoding is greedy with at most 512 new tokens. The answer is cleaned as BenchMAX does: drop any
`<think>...</think>` block (Qwen3's template still emits an empty one with thinking off, and a model may think
anyway), then keep the first line.

Backends:
- `HFGenerator`: transformers `generate` in batches. Prompts are sorted by length (longest first, so the first
  batch shows at once whether memory suffices) and left-padded, so every row's new tokens start at the same
  position and little compute goes to padding.
- `VLLMGenerator`: vLLM's offline engine when vLLM is installed (it schedules batches itself).

`translate_direction` writes one JSONL row per sentence to `<cache_dir>/<src>-<tgt>.jsonl` after each batch;
rerun, it reads the rows already there (a torn last line is dropped) and translates only the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from xplus.curate.flores import Direction
from xplus.curate.prompts import benchmax_prompt, chat_messages, render_chat

MAX_NEW_TOKENS = 512
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
# a <think> never closed (the model ran out of tokens while thinking) leaves no translation
_OPEN_THINK = re.compile(r"<think>.*", re.DOTALL)

# yields, batch by batch, (prompt index, raw model output) pairs
Generate = Callable[[list[str]], Iterator[list[tuple[int, str]]]]


def clean_output(raw: str) -> str:
    """The translation in a raw answer: without think blocks, the first non-blank line, stripped."""
    text = _OPEN_THINK.sub("", _THINK.sub("", raw)).strip()
    return text.split("\n", 1)[0].strip()


def chat_prompt(tokenizer: Any, text: str, src: str, tgt: str) -> str:
    """The full model input for one sentence: BenchMAX's prompt in the chat template, thinking off."""
    return render_chat(tokenizer, chat_messages(benchmax_prompt(text, src, tgt)), add_generation_prompt=True)


class HFGenerator:
    """Greedy batched generation with transformers; `__call__` yields each batch's outputs as it finishes."""

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 16, max_new_tokens: int = MAX_NEW_TOKENS):
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def load(cls, path: str, device: str = "auto", dtype: str = "auto", **kwargs: Any) -> HFGenerator:
        """Model and tokenizer from a local folder or Hub id (bf16 where the checkpoint says so)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()
        return cls(model, AutoTokenizer.from_pretrained(path), **kwargs)

    def __call__(self, prompts: list[str]) -> Iterator[list[tuple[int, str]]]:
        import torch

        encoded = [self.tokenizer(prompt, add_special_tokens=False)["input_ids"] for prompt in prompts]
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            inputs = self.tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            inputs = inputs.to(self.model.device)
            with torch.inference_mode():
                output = self.model.generate(
                    **inputs, do_sample=False, max_new_tokens=self.max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = output[:, inputs["input_ids"].shape[1]:]
            yield list(zip(batch, self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True))


class VLLMGenerator:
    """Greedy generation with vLLM's offline engine (only when vLLM is installed)."""

    def __init__(self, path: str, max_new_tokens: int = MAX_NEW_TOKENS, **engine_args: Any):
        try:
            from vllm import LLM, SamplingParams
        except ImportError as err:
            raise ImportError("the vllm backend needs vLLM: `pip install vllm` (GPU machines), or use --backend hf") \
                from err
        self.engine = LLM(model=path, **engine_args)
        self.tokenizer = self.engine.get_tokenizer()
        self.params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)

    def __call__(self, prompts: list[str]) -> Iterator[list[tuple[int, str]]]:
        outputs = self.engine.generate(prompts, self.params)
        yield [(i, output.outputs[0].text) for i, output in enumerate(outputs)]


def read_cache(path: Path) -> dict[int, dict]:
    """Rows already translated, by sentence index; a torn last line (an interrupted write) is ignored."""
    rows: dict[int, dict] = {}
    if not path.is_file():
        return rows
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            rows[row["i"]] = row
    return rows


def translate_direction(
    generate: Generate, tokenizer: Any, direction: Direction, sources: list[str], references: list[str],
    cache_dir: Path, progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """Rows `{i, src, ref, raw, hyp}` for every sentence of one direction, reading and extending its cache."""
    path = Path(cache_dir) / f"{direction.name}.jsonl"
    rows = read_cache(path)
    todo = [i for i in range(len(sources)) if i not in rows]
    if todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        prompts = [chat_prompt(tokenizer, sources[i], direction.src, direction.tgt) for i in todo]
        # rewrite what was read, so a torn line from an interrupted run does not stay in the middle
        with open(path, "w", encoding="utf-8") as handle:
            for row in rows.values():
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            for batch in generate(prompts):
                for position, raw in batch:
                    i = todo[position]
                    rows[i] = {"i": i, "src": sources[i], "ref": references[i], "raw": raw, "hyp": clean_output(raw)}
                    handle.write(json.dumps(rows[i], ensure_ascii=False) + "\n")
                handle.flush()
                if progress:
                    progress(len(batch))
    return [rows[i] for i in range(len(sources))]
