"""Speed of the evaluator's generation: batched (`HFGenerator`: length-sorted, left-padded batches) vs one
sentence at a time, in generated tokens per second.

Both modes run in the same process on the same real FLORES-200 devtest sentences (English -> Swahili, with
BenchMAX's prompt in a Qwen3-like chat template, thinking off), greedy, with the same model at random weights:
speed does not depend on what the weights are. EOS is disabled so every sentence generates exactly
`--max-new-tokens` tokens in both modes: the same work, so the ratio is a fair one. The tokenizer is a
byte-level BPE trained here on FLORES lines, with Qwen3's chat template (`xplus.pipelines.toy_models`, the
builders the tests and the toy recipe use); nothing is downloaded.

`--arch tiny` is a 2-layer d=64 Qwen3 (CPU, always); `--arch qwen3-1.7b` is the architecture of Qwen/Qwen3-1.7B
(d 2048, 28 layers, 16 query / 8 KV heads, FFN 6144, vocabulary 151,936), meant for `--device cuda` (bf16).

Usage:
    python bench/generation_speed.py                                 # CPU, tiny: writes results/generation_speed.md
    python bench/generation_speed.py --device cuda --arch qwen3-1.7b --sentences 256 --batch-sizes 16 64 128
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import torch

from xplus.evaluate.generate import HFGenerator, chat_prompt
from xplus.pipelines.shared_data import shared_data_dir
from xplus.pipelines.toy_models import toy_causal_lm, toy_tokenizer

FLORES = shared_data_dir() / "flores200"
RESULTS = Path(__file__).parent / "results"
#: `tiny`: 2 layers of d 64, tied embeddings, wide random weights (varied output, not one token repeated)
ARCHS = {
    "tiny": dict(num_layers=2, hidden_size=64, tie_word_embeddings=True, initializer_range=0.5),
    "qwen3-1.7b": dict(hidden_size=2048, intermediate_size=6144, num_layers=28, num_attention_heads=16,
                       num_key_value_heads=8, head_dim=128, vocab_size=151_936, initializer_range=0.02,
                       max_position_embeddings=40_960),
}


def timed(generator: HFGenerator, prompts: list[str], device: str) -> float:
    """Seconds to translate every prompt (outputs consumed, device synchronised)."""
    start = time.perf_counter()
    for _ in generator(prompts):
        pass
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--arch", choices=ARCHS, default="tiny")
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--sequential-sentences", type=int, default=None,
                        help="sentences for the one-at-a-time baseline (default: all; fewer on big models)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--output", type=Path, default=RESULTS / "generation_speed.md")
    args = parser.parse_args()

    english = (FLORES / "devtest" / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()
    swahili = (FLORES / "dev" / "swh_Latn.txt").read_text(encoding="utf-8").splitlines()
    tokenizer = toy_tokenizer((FLORES / "dev" / "eng_Latn.txt").read_text(encoding="utf-8").splitlines() + swahili,
                              "qwen3", vocab_size=1000)
    arch = dict(ARCHS[args.arch])
    vocab_size = arch.pop("vocab_size", len(tokenizer))
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    model = toy_causal_lm("qwen3", vocab_size, **arch).eval().to(device=args.device, dtype=dtype)
    model.generation_config.eos_token_id = None  # every sentence generates exactly max_new_tokens
    prompts = [chat_prompt(tokenizer, line, "en", "sw") for line in english[:args.sentences]]
    sequential = prompts[:args.sequential_sentences or len(prompts)]
    prompt_tokens = sum(len(tokenizer(p)["input_ids"]) for p in prompts) / len(prompts)

    def run(batch_size: int, inputs: list[str]) -> tuple[int, float]:
        generator = HFGenerator(model, tokenizer, batch_size=batch_size, max_new_tokens=args.max_new_tokens)
        timed(generator, inputs[:batch_size], args.device)  # warm-up: kernels, allocator
        seconds = timed(generator, inputs, args.device)
        return batch_size, len(inputs) * args.max_new_tokens / seconds

    rows = [run(1, sequential)] + [run(batch_size, prompts) for batch_size in args.batch_sizes]
    base = rows[0][1]
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU ({platform.processor() or 'x86_64'}, " \
        f"{torch.get_num_threads()} threads)"
    lines = [
        f"# Generation speed: batched vs sequential ({date.today()})",
        "",
        f"`python bench/generation_speed.py {' '.join(sys.argv[1:])}`".replace("  ", " ").replace(" `", "`"),
        "",
        f"Model: Qwen3 `{args.arch}` at random weights ({parameters:.1f} M parameters, {dtype}), on {device}; torch "
        f"{torch.__version__}. {len(prompts)} FLORES-200 devtest sentences en->sw in BenchMAX's prompt "
        f"({prompt_tokens:.0f} prompt tokens on average), greedy, {args.max_new_tokens} new tokens each (EOS off); "
        f"sequential on {len(sequential)} of them. Goal: batched >= 10x sequential. Load average at the end: "
        f"{os.getloadavg()[0]:.1f} (a shared machine: absolute numbers are noisy, the ratios less so).",
        "",
        "| mode | batch size | generated tokens/s | x sequential |",
        "|---|---:|---:|---:|",
    ]
    for batch_size, speed in rows:
        mode = "sequential" if batch_size == 1 else "batched"
        lines.append(f"| {mode} | {batch_size} | {speed:,.0f} | {speed / base:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
