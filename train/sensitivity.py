"""Which layers to train: gradient sensitivity, a single-layer sweep, and a suggestion built on them.

(a) `gradient_norms`: for FLORES dev pairs of chosen directions, rendered as the evaluator renders them
    (BenchMAX prompt, the model's chat template, loss on the reference translation only), the per-layer
    nuclear norm of the gradient of the Q, K and V projections (optionally O and the MLP), averaged over
    pairs: the paper's Figure 5. Large norms mark layers that translation data would move most.
(b) `layer_sweep`: trains one layer at a time on a subset with the training loop itself, scores the model
    with a pluggable scorer (default: held-out assistant-token loss; the evaluator can be passed in), and
    restores the layer: the paper's Figure 4.
(c) `suggest`: proposes bottom and top layer sets in the paper's proportions (4 and 15 of 36) that skip the
    most sensitive middle layers, and says why.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xplus.curate.flores import Flores, format_direction, parse_direction
from xplus.curate.prompts import benchmax_prompt, chat_messages
from xplus.train.data import IGNORE_INDEX, Encoded, build_examples, collate
from xplus.train.layers import format_ranges
from xplus.train.model import decoder_layers

ATTENTION = ("q_proj", "k_proj", "v_proj")
EXTRA = {"o": ("o_proj",), "mlp": ("gate_proj", "up_proj", "down_proj")}
Scorer = Callable[[nn.Module, Any], float]


def flores_records(flores_dir: str | Path, directions: list[str], n: int) -> dict[str, list[dict]]:
    """Chat records of the first `n` FLORES dev lines per direction (`eng_Latn-swh_Latn`, any code form).

    `flores_dir` is the FLORES release root (the folder holding `dev/`), as for every `--flores`; a folder
    named `dev` that holds no `dev/` of its own is read as the dev split itself (what earlier versions took).
    Keys are the directions in their one spelling (`xplus.curate.flores.format_direction`)."""
    root = Path(flores_dir)
    if root.name == "dev" and not (root / "dev").is_dir():
        root = root.parent
    flores = Flores(str(root), "dev")
    out = {}
    for direction in directions:
        src, tgt = parse_direction(direction)
        pairs = zip(flores.lines(src)[:n], flores.lines(tgt)[:n], strict=True)
        out[format_direction(src, tgt)] = [{"messages": chat_messages(benchmax_prompt(s, src, tgt), t)}
                                           for s, t in pairs]
    return out


def gradient_norms(model: nn.Module, tokenizer: Any, records: dict[str, list[dict]],
                   modules: tuple[str, ...] = ATTENTION, max_length: int = 512) -> dict:
    """Per direction and module, the mean over pairs of each layer's gradient nuclear norm."""
    blocks = decoder_layers(model)
    targets = {m: [_find(block, m) for block in blocks] for m in modules}
    for p in model.parameters():
        p.requires_grad_(False)
    for linears in targets.values():
        for linear in linears:
            linear.weight.requires_grad_(True)
    device = next(model.parameters()).device
    result: dict[str, Any] = {"modules": list(modules), "num_layers": len(blocks), "directions": {}}
    for direction, rows in records.items():
        examples, _ = build_examples(tokenizer, rows, max_length)
        sums = {m: [0.0] * len(blocks) for m in modules}
        for example in examples:
            model.zero_grad(set_to_none=True)
            _mean_loss(model, [example], device).backward()
            for m, linears in targets.items():
                for i, linear in enumerate(linears):
                    sums[m][i] += float(torch.linalg.matrix_norm(linear.weight.grad.float(), ord="nuc"))
        result["directions"][direction] = {"pairs": len(examples),
                                           **{m: [v / len(examples) for v in sums[m]] for m in modules}}
    model.zero_grad(set_to_none=True)
    result["mean"] = {m: [statistics.fmean(d[m][i] for d in result["directions"].values())
                          for i in range(len(blocks))] for m in modules}
    return result


def _find(block: nn.Module, name: str) -> nn.Linear:
    found = [m for n, m in block.named_modules() if n.rsplit(".", 1)[-1] == name and isinstance(m, nn.Linear)]
    if len(found) != 1:
        raise ValueError(f"a decoder layer has {len(found)} linear modules named {name!r}, expected 1")
    return found[0]


def _mean_loss(model: nn.Module, examples: list[Encoded], device) -> torch.Tensor:
    batch = {k: v.to(device) for k, v in collate(examples, 0).items()}
    logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), batch["labels"][:, 1:].flatten(),
                                             ignore_index=IGNORE_INDEX)


def heldout_loss_scorer(examples: list[Encoded]) -> Scorer:
    """A scorer: mean assistant-token loss on held-out chats (lower is better)."""

    def score(model: nn.Module, tokenizer: Any) -> float:
        device = next(model.parameters()).device
        total = targets = 0.0
        with torch.no_grad():
            for example in examples:
                n = sum(label != IGNORE_INDEX for label in example.labels[1:])
                total += float(_mean_loss(model, [example], device)) * n
                targets += n
        return total / targets

    return score


def layer_sweep(config, layers: list[int], scorer: Scorer, higher_is_better: bool = False) -> dict:
    """Train each layer alone for one epoch of `config`'s data (from the same base weights) and score it."""
    from xplus.train import trainer
    from xplus.train.checkpoint import Progress
    from xplus.train.data import load_records
    from xplus.train.model import layer_parameters, load_model, load_tokenizer

    accelerator = trainer.make_accelerator(config)
    dtype = torch.bfloat16 if accelerator.mixed_precision == "bf16" else torch.float32
    tokenizer = load_tokenizer(config.model)
    examples, _ = build_examples(tokenizer, load_records(config.data, config.data_split, config.max_samples),
                                 config.max_length, config.packing)
    model = load_model(config, dtype)
    model.to(accelerator.device)
    result = {"baseline": scorer(model, tokenizer), "higher_is_better": higher_is_better, "layers": [],
              "scores": [], "num_layers": len(decoder_layers(model))}
    for layer in layers:
        plan = trainer.StagePlan(str(layer), [layer], 1, set(layer_parameters(model, [layer])))
        saved = {n: p.detach().clone() for n, p in model.named_parameters() if n in plan.names}
        trainer.run_stage(accelerator, model, examples, tokenizer.pad_token_id, config, [plan], Progress(), None, [],
                          dtype, save_checkpoints=False)
        result["layers"].append(layer)
        result["scores"].append(scorer(model, tokenizer))
        for name, param in model.named_parameters():
            if name in saved:
                param.data = saved[name]
            param.requires_grad_(False)
        print(f"layer {layer}: score {result['scores'][-1]:.4f} (baseline {result['baseline']:.4f})")
    return result


def suggest(norms: dict, bottom: int | None = None, top: int | None = None, quantile: float = 0.75,
            edge_fraction: float = 0.1) -> tuple[list[str], list[str]]:
    """Bottom and top layer specs that skip the most sensitive middle layers, and the reasoning, line by line.

    A layer's sensitivity is the mean over modules of its gradient norm divided by that module's mean over
    layers (so Q, K and V weigh alike). The middle layers are all but the first and last `edge_fraction`;
    the sensitive ones are those at or above the `quantile` of the middle layers' scores. Budgets default to
    the paper's proportions of the depth (bottom 4 and top 15 of 36).
    """
    n = norms["num_layers"]
    per_module = norms["mean"]
    scores = [statistics.fmean(per_module[m][i] / statistics.fmean(per_module[m]) for m in per_module)
              for i in range(n)]
    bottom = bottom if bottom is not None else max(1, round(4 * n / 36))
    top = top if top is not None else max(1, round(15 * n / 36))
    edge = max(1, round(edge_fraction * n))
    middle = list(range(edge, n - edge))
    count = math.ceil((1 - quantile) * len(middle))
    sensitive = sorted(sorted(middle, key=lambda i: -scores[i])[:count])
    threshold = min((scores[i] for i in sensitive), default=float("inf"))
    specs = [_spec("bottom", bottom, range(bottom), sensitive), _spec("top", top, range(n - top, n), sensitive)]
    reasons = [
        f"{n} layers; relative gradient norm per layer ({', '.join(per_module)}; 1.0 = module average):",
        "  " + " ".join(f"{i}:{s:.2f}" for i, s in enumerate(scores)),
        f"middle layers {format_ranges(middle) or 'none'}: the top {count} (above quantile {quantile}, "
        f"score >= {threshold:.2f}) are sensitive: "
        f"{format_ranges(sensitive) or 'none'}",
        f"budgets: bottom {bottom}, top {top} (paper: 4 and 15 of 36)",
    ]
    for name, spec, window in (("stage 1", specs[0], range(bottom)), ("stage 2", specs[1], range(n - top, n))):
        avoided = [i for i in window if i in sensitive]
        why = f"skips sensitive {format_ranges(avoided)}" if avoided else "no sensitive layer inside"
        reasons.append(f"{name}: {spec} ({why})")
    return specs, reasons


def _spec(side: str, k: int, window: range, sensitive: list[int]) -> str:
    skips = [i for i in window if i in sensitive]
    return f"{side}:{k}" + (f",skip:{format_ranges(skips).replace(',', ',skip:')}" if skips else "")


def plot_norms(norms: dict, path: Path) -> None:
    """One panel per module, gradient nuclear norm by layer, one line per direction (like Figure 5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modules = norms["modules"]
    fig, axes = plt.subplots(1, len(modules), figsize=(4 * len(modules), 3.2), squeeze=False)
    for ax, module in zip(axes[0], modules, strict=True):
        for direction, values in norms["directions"].items():
            ax.plot(range(norms["num_layers"]), values[module], marker=".", label=direction)
        ax.set_title(module)
        ax.set_xlabel("layer")
    axes[0][0].set_ylabel("gradient nuclear norm")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_sweep(sweep: dict, path: Path, metric: str) -> None:
    """Score after training each single layer, with the untrained baseline (like Figure 4)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(sweep["layers"], sweep["scores"], marker="o", label="one layer trained")
    ax.axhline(sweep["baseline"], color="gray", linestyle="--", label="untrained")
    ax.set_xlabel("trained layer")
    ax.set_ylabel(metric)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
