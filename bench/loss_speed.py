"""Speed of the loss filter's scorer: batched (sorted windows, token budget, chunked CE) vs a per-pair loop.

Both run in the same process on the same real pairs (TICO-19 en-sw and en-zh, both directions), with an
NLLB-style tokenizer trained here on those pairs and a model at random weights: speed does not depend on
what the weights are. `--arch tiny` is a 2+2-layer d=64 M2M100 (CPU, always); `--arch nllb-600m` is the
architecture of facebook/nllb-200-distilled-600M (d 1024, 12+12 layers, 16 heads, FFN 4096, vocabulary 256,206),
meant for `--device cuda`, where the table adds model FLOPs utilisation (from a FLOPs estimate and the GPU's
dense bf16 peak) and peak memory. Nothing is downloaded.

Usage:
    python bench/loss_speed.py                                   # CPU, tiny: writes results/loss_speed.md
    python bench/loss_speed.py --device cuda --arch nllb-600m --pairs 50000 --max-tokens 16384 32768 65536
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from tokenizers import SentencePieceBPETokenizer
from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

from xplus.curate.loss import PairScorer, reference_losses
from xplus.pipelines.shared_data import shared_data_dir

BITEXT = shared_data_dir() / "bitext" / "tico19"
RESULTS = Path(__file__).parent / "results"
ARCHS = {
    "tiny": dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                 decoder_attention_heads=4, encoder_ffn_dim=256, decoder_ffn_dim=256),
    "nllb-600m": dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                      decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, vocab_size=256_206),
}
#: dense bf16 peak of the GPUs this is run on (SXM parts), in TFLOP/s
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def load_pairs(n: int) -> list[tuple[str, str, str, str]]:
    """n real pairs, half en->x and half x->en, cycling through TICO-19 en-sw and en-zh."""
    base = []
    for folder, ext, code in (("eng-swa", "swa", "swh_Latn"), ("eng-zho", "zho", "zho_Hans")):
        english = (BITEXT / folder / "tico19-test.eng").read_text(encoding="utf-8").splitlines()
        other = (BITEXT / folder / f"tico19-test.{ext}").read_text(encoding="utf-8").splitlines()
        for i, (e, x) in enumerate(zip(english, other, strict=True)):
            base.append((e, x, "eng_Latn", code) if i % 2 else (x, e, code, "eng_Latn"))
    return [base[i % len(base)] for i in range(n)]


def build_scorer(arch: str, device: str, texts: list[str], folder: Path) -> PairScorer:
    """NLLB-style tokenizer (SentencePiece BPE, 8k pieces, NLLB's language codes) and a random model."""
    sp = SentencePieceBPETokenizer()
    sp.train_from_iterator(texts, vocab_size=8000, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                           show_progress=False)
    bpe = json.loads(sp.to_str())["model"]
    tokenizer = NllbTokenizer(vocab=bpe["vocab"], merges=[tuple(m) for m in bpe["merges"]])
    config = M2M100Config(**{"vocab_size": len(tokenizer), **ARCHS[arch]}, max_position_embeddings=1024,
                          pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
    torch.manual_seed(0)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    M2M100ForConditionalGeneration(config).to(dtype).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return PairScorer.from_pretrained(str(folder), device=device)


def flops(scorer: PairScorer, pairs) -> float:
    """Forward FLOPs of scoring `pairs` without padding: 2 x parameters x tokens for each stack, attention
    scores and values (4 d S^2 per encoder layer, 4 d T^2 + 4 d T S per decoder layer), and the vocabulary
    projection of the counted target positions (2 d V per position)."""
    model = scorer.model.base_model
    enc = sum(p.numel() for p in model.encoder.layers.parameters())
    dec = sum(p.numel() for p in model.decoder.layers.parameters())
    d, vocab = scorer.model.config.d_model, scorer.model.config.vocab_size
    enc_layers, dec_layers = len(model.encoder.layers), len(model.decoder.layers)
    total = 0.0
    for ids, labels in scorer.encode(pairs):
        s, t = len(ids), len(labels)
        total += 2 * enc * s + 4 * enc_layers * d * s * s
        total += 2 * dec * t + dec_layers * (4 * d * t * t + 4 * d * t * s)
        total += 2 * d * vocab * (t - 1)
    return total


def timed(fn, device: str) -> tuple[object, float]:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--arch", choices=sorted(ARCHS), default="tiny")
    parser.add_argument("--pairs", type=int, default=4000, help="pairs the batched scorer scores")
    parser.add_argument("--naive-pairs", type=int, default=400, help="pairs the per-pair loop scores")
    parser.add_argument("--max-tokens", type=int, nargs="+", default=[4096, 16384])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1: stable on a shared machine)")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak (default: by GPU name)")
    parser.add_argument("--out", type=Path, help="Markdown table to write (default: results/loss_speed[_cuda].md)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    pairs = load_pairs(args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        scorer = build_scorer(args.arch, args.device, [t for p in pairs[:4200] for t in p[:2]], Path(tmp))
    encoded = scorer.encode(pairs)
    tokens = sum(len(ids) + len(labels) for ids, labels in encoded)
    naive_tokens = sum(len(ids) + len(labels) for ids, labels in encoded[:args.naive_pairs])
    model_flops = flops(scorer, pairs)
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items()
                                     if cuda and k in torch.cuda.get_device_name(args.device)), None)

    scorer.losses(pairs[:64])  # warm-up
    naive, naive_s = timed(lambda: reference_losses(scorer, pairs[:args.naive_pairs]), args.device)
    rows = [("per-pair loop (full logits)", args.naive_pairs, naive_s, naive_tokens, None, None)]
    worst = 0.0
    for max_tokens in args.max_tokens:
        scorer.max_tokens = max_tokens
        if cuda:
            torch.cuda.reset_peak_memory_stats(args.device)
        batched, seconds = timed(lambda: scorer.losses(pairs), args.device)
        worst = max(worst, float(np.abs(batched[:args.naive_pairs] - naive).max()))
        memory = torch.cuda.max_memory_allocated(args.device) / 2**30 if cuda else None
        mfu = model_flops / seconds / (peak * 1e12) if peak else None
        rows.append((f"batched, max_tokens {max_tokens}", len(pairs), seconds, tokens, mfu, memory))

    device_name = torch.cuda.get_device_name(args.device) if cuda else f"{platform.machine()} CPU"
    lines = [
        f"# Loss scorer speed: {args.arch} on {args.device}\n",
        f"Machine: {device_name}, torch {torch.__version__}, {args.threads} CPU thread(s), {date.today()}. "
        f"Command: `python bench/loss_speed.py --device {args.device} --arch {args.arch} --pairs {args.pairs} "
        f"--naive-pairs {args.naive_pairs} --max-tokens {' '.join(map(str, args.max_tokens))}`\n",
        f"Real TICO-19 pairs (en-sw, en-zh, both directions), random weights, "
        f"{'bf16' if cuda else 'fp32'}; tokens = source + target tokens with specials, no padding. "
        f"Largest |batched - per-pair| loss on the shared pairs: {worst:.1e}.\n",
        "| method | pairs | seconds | pairs/s | tokens/s | speedup | MFU | peak memory GiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n, seconds, toks, mfu, memory in rows:
        lines.append(f"| {name} | {n} | {seconds:.2f} | {n / seconds:,.0f} | {toks / seconds:,.0f} | "
                     f"{(n / seconds) / (args.naive_pairs / naive_s):.1f}x | "
                     f"{f'{mfu:.1%}' if mfu is not None else 'n/a'} | "
                     f"{f'{memory:.1f}' if memory is not None else 'n/a'} |")
    table = "\n".join(lines) + "\n"
    print(table)
    out = args.out or RESULTS / f"loss_speed{'_cuda' if cuda else ''}.md"
    out.write_text(table)


if __name__ == "__main__":
    main()
