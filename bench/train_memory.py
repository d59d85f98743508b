"""Peak memory and throughput of layer-selective tuning vs full fine-tuning vs LoRA on the same model.

Each method runs in its own subprocess on a model at random weights (the numbers do not depend on the
weights), set up exactly as `xplus.train.trainer` sets it up: trainable parameters chosen by the same
planner, upcast to fp32 under bf16 autocast (CUDA), AdamW over the trainable parameters only. It times
`--steps` optimizer steps of `--accum` micro-batches of `--seq-len` tokens after one warm-up step.

Peak memory: CUDA `max_memory_allocated` on a GPU; on CPU the process's peak RSS (`ru_maxrss`), also shown
as the increase over the RSS once the model is built (gradients, optimizer state, activations).

    python bench/train_memory.py                                      # tiny 36-layer model on CPU
    python bench/train_memory.py --device cuda --arch qwen3-1.7b      # Qwen3-1.7B architecture on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ARCHS = {
    # the depth of Qwen3-8B (36 layers), narrow enough for a CPU
    "tiny": dict(vocab_size=4096, hidden_size=128, intermediate_size=384, num_hidden_layers=36, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=32, tie_word_embeddings=False),
    # Qwen/Qwen3-1.7B's config.json
    "qwen3-1.7b": dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
                       num_attention_heads=16, num_key_value_heads=8, head_dim=128, tie_word_embeddings=True,
                       rope_theta=1000000.0, max_position_embeddings=40960),
}
METHODS = [("layer-selective", "bottom:4"), ("layer-selective", "top:15"), ("full", "all"), ("lora", "all")]
RESULTS = Path(__file__).parent / "results"


def measure(args: argparse.Namespace) -> dict:
    """One method in this process: build, train `steps` steps, report memory and tokens/s."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from xplus.train.config import TrainConfig
    from xplus.train.trainer import apply_lora, plan_stages, set_trainable, token_loss_sum

    torch.manual_seed(0)
    cuda = args.device == "cuda"
    if not cuda:
        torch.set_num_threads(1)  # one thread: stable timings on a shared CPU
    dtype = torch.bfloat16 if cuda else torch.float32
    config = TrainConfig(model=args.arch, data="-", method=args.method, stages=[args.layers],
                         allow_overlapping_stages=True)
    model = Qwen3ForCausalLM(Qwen3Config(**ARCHS[args.arch], use_cache=False)).to(dtype)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if args.method == "lora":
        model = apply_lora(model, config)
    plan = plan_stages(model, config)[0]
    params = set_trainable(model, plan.names, torch.float32 if cuda and args.method != "lora" else None)
    model.to(args.device)
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    rss_built = _rss_mb()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    vocab = ARCHS[args.arch]["vocab_size"]
    batch = {"input_ids": torch.randint(0, vocab, (1, args.seq_len), device=args.device)}
    batch["labels"] = batch["input_ids"].clone()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda)

    def step() -> None:
        for _ in range(args.accum):
            with autocast:
                loss = token_loss_sum(model, batch) / (args.seq_len * args.accum)
            loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up: allocates optimizer state
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _rss_mb()
    return {"method": args.method, "layers": args.layers, "trainable": sum(p.numel() for p in params),
            "total": sum(p.numel() for p in model.parameters()), "peak_mb": peak,
            "over_model_mb": None if cuda else peak - rss_built,
            "tokens_per_s": args.steps * args.accum * args.seq_len / seconds}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows: list[dict], args: argparse.Namespace, device: str) -> str:
    full = next(r for r in rows if r["method"] == "full")
    lines = [f"# Training memory and throughput: {args.arch} architecture (random weights) on {device}", "",
             f"seq len {args.seq_len}, batch 1, accumulation {args.accum}, {args.steps} timed steps after 1 warm-up; "
             f"{'bf16 autocast, fp32 trainable weights' if args.device == 'cuda' else 'fp32'}; "
             f"gradient checkpointing {'on' if args.gradient_checkpointing else 'off'}; "
             f"peak = {'CUDA max_memory_allocated' if args.device == 'cuda' else 'process peak RSS'}", "",
             "| method | layers | trainable params | peak MB | vs full | over model MB | tokens/s | vs full |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        over = "" if r["over_model_mb"] is None else f"{r['over_model_mb']:.0f}"
        lines.append(f"| {r['method']} | {r['layers']} | {r['trainable']:,} ({100 * r['trainable'] / r['total']:.1f}%)"
                     f" | {r['peak_mb']:.0f} | {r['peak_mb'] / full['peak_mb']:.0%} | {over} | "
                     f"{r['tokens_per_s']:.0f} | {r['tokens_per_s'] / full['tokens_per_s']:.2f}x |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['method']}\n{r['layers']}" for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    axes[0].bar(labels, [r["peak_mb"] for r in rows])
    axes[0].set_ylabel("peak memory (MB)")
    axes[1].bar(labels, [r["tokens_per_s"] for r in rows], color="tab:green")
    axes[1].set_ylabel("tokens/s")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--arch", choices=sorted(ARCHS), default="tiny")
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--accum", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--method", help=argparse.SUPPRESS)  # set for the per-method subprocesses
    parser.add_argument("--layers", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only, do not write results/")
    args = parser.parse_args()
    if args.method:
        print(json.dumps(measure(args)))
        return
    common = [a for a in sys.argv[1:] if a != "--no-write"]
    rows = []
    for method, layers in METHODS:
        out = subprocess.run([sys.executable, __file__, *common, "--method", method, "--layers", layers],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.device == "cuda":
        import torch

        device = torch.cuda.get_device_name()
    else:
        device = f"CPU ({platform.processor() or platform.machine()}, 1 torch thread, shared 2-core machine)"
    report = table(rows, args, device)
    print(report)
    if not args.no_write:
        name = "train_memory" if args.device == "cpu" else f"train_memory_{args.arch}_cuda"
        (RESULTS / f"{name}.md").write_text(report)
        plot(rows, RESULTS / f"{name}.png", f"{args.arch} on {device}")


if __name__ == "__main__":
    main()
