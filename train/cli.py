"""The `xplus train` command group.

- `layers`: which decoder layers each stage of a layer-selective recipe would train, so a spec can be checked
  against a model's depth before any run (defaults: the paper's two stages);
- `run`: train from a YAML config and/or flags (`accelerate launch -m xplus.pipelines.cli train run ...` for
  several processes);
- `sensitivity`: per-layer gradient nuclear norms on FLORES dev pairs -> JSON + PNG;
- `sweep`: train one layer at a time and score each -> JSON + PNG;
- `suggest`: bottom/top layer sets avoiding the most sensitive middle layers, from `sensitivity`'s JSON.

The flags of `run` and `sweep` are made from `TrainConfig`'s fields by `xplus.curate.config_flags` (one flag
per field, its help the field's), so a field and its flag cannot drift apart. `-o` is the output folder, as in
every group (the trained model's for `run`); the one exception is `sensitivity` and `sweep`, whose one result
is a JSON file (their help says so; `sweep`'s training runs go to `--output-dir`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from xplus.curate.config_flags import add_config_flags
from xplus.curate.errors import XplusError
from xplus.curate.typed import missing_local_path
from xplus.train.config import METHODS, TrainConfig, TrainConfigError, config_from_mapping, load_config
from xplus.train.layers import PAPER_STAGES, format_ranges, model_num_layers, resolve_layers


def add_parser(groups: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `train` group and its subcommands to the root command's subparsers."""
    parser = groups.add_parser("train", help="layer-selective multi-stage tuning")
    commands = parser.add_subparsers(dest="command", metavar="{layers,run,sensitivity,sweep,suggest}",
                                     required=True)

    layers = commands.add_parser(
        "layers",
        help="resolve layer-set specs to layer indices",
        description="Resolve layer-set specs (one per stage) to the decoder layers each stage trains. "
        "Terms: all, bottom:K, top:K, A-B, N, skip:TERM; comma-separated, skips applied last.",
    )
    depth = layers.add_mutually_exclusive_group(required=True)
    depth.add_argument("--num-layers", type=int, metavar="N", help="number of decoder layers")
    depth.add_argument("--model", metavar="PATH_OR_ID", help="read num_hidden_layers from the model's config")
    layers.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        default=list(PAPER_STAGES),
        help=f"one spec per stage (default: the paper's {' '.join(PAPER_STAGES)})",
    )
    layers.set_defaults(func=run_layers)
    _add_run(commands)
    _add_sensitivity(commands)
    _add_sweep(commands)
    _add_suggest(commands)
    return parser


#: fields set in YAML only (nested settings)
YAML_ONLY = ("lora",)
#: flag details `TrainConfig`'s field metadata leaves out (its help is the field's)
FLAGS = {"model": {"metavar": "PATH_OR_ID"}, "data": {"metavar": "PATH_OR_ID"}, "output_dir": {"metavar": "DIR"},
         "method": {"choices": METHODS}, "stages": {"metavar": "SPEC"}, "push_to_hub": {"metavar": "REPO_ID"},
         "report_to": {"nargs": "*", "metavar": "NAME"}}


def _config_flags(parser: argparse.ArgumentParser, output_short: bool = True, skip: tuple[str, ...] = ()) -> None:
    """CONFIG and one flag per `TrainConfig` field (`config_flags`: its type, choices and help from the field);
    a flag left out keeps the YAML's value, or the field's default."""
    parser.add_argument("config", nargs="?", metavar="CONFIG", help="YAML training config (flags override it)")
    flags = {**FLAGS, "output_dir": {**FLAGS["output_dir"], "short": "-o" if output_short else None}}
    add_config_flags(parser, TrainConfig, overrides=flags, skip=YAML_ONLY + skip, unset=True)


def _add_run(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="train (layer-selective, full or LoRA)",
                              description="Train from a YAML config and/or flags; the paper's recipe by default.")
    _config_flags(run)
    run.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in the output dir")
    run.set_defaults(func=run_train)


#: `-o` of `sensitivity` and `sweep`: their one result is a file (the one exception to `-o` naming a folder)
RESULT_FILE = "the result's JSON file, not a folder (the PNG goes next to it)"


def _add_sensitivity(commands: argparse._SubParsersAction) -> None:
    sens = commands.add_parser("sensitivity", help="per-layer gradient nuclear norms on FLORES dev pairs")
    sens.add_argument("--model", required=True, metavar="PATH_OR_ID", help="hub id or local path of an HF causal LM")
    sens.add_argument("--flores", required=True, metavar="DIR",
                      help="FLORES release root (the folder holding dev/), as for every --flores")
    sens.add_argument("--directions", nargs="+", default=["eng_Latn-zho_Hans", "eng_Latn-swh_Latn"],
                      metavar="SRC-TGT", help="FLORES directions whose pairs are scored (default: eng_Latn-zho_Hans "
                      "eng_Latn-swh_Latn)")
    sens.add_argument("--pairs", type=int, default=64, help="pairs per direction")
    sens.add_argument("--extra", nargs="*", choices=("o", "mlp"), default=[], help="also O and/or the MLP")
    sens.add_argument("-o", "--output", type=Path, required=True, metavar="JSON", help=RESULT_FILE)
    sens.set_defaults(func=run_sensitivity)


def _add_sweep(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser("sweep", help="train one layer at a time and score each")
    _config_flags(sweep, output_short=False, skip=("push_to_hub",))
    sweep.add_argument("--layers", default="all", metavar="SPEC", help="layers to sweep")
    sweep.add_argument("--heldout", required=True, help="held-out chat records scored by assistant-token loss")
    sweep.add_argument("--heldout-samples", type=int, default=200, help="held-out records scored")
    sweep.add_argument("-o", "--output", type=Path, required=True, metavar="JSON", help=RESULT_FILE)
    sweep.set_defaults(func=run_sweep)


def _add_suggest(commands: argparse._SubParsersAction) -> None:
    sug = commands.add_parser("suggest", help="propose bottom/top layer sets from `sensitivity` output")
    sug.add_argument("norms", metavar="SENSITIVITY_JSON", help="the JSON `xplus train sensitivity` wrote")
    sug.add_argument("--bottom", type=int, help="bottom budget (default: 4/36 of the depth)")
    sug.add_argument("--top", type=int, help="top budget (default: 15/36 of the depth)")
    sug.add_argument("--quantile", type=float, default=0.75, help="middle layers at or above it are avoided")
    sug.set_defaults(func=run_suggest)


def _config(args: argparse.Namespace) -> TrainConfig:
    names = [spec.name for spec in dataclasses.fields(TrainConfig)]
    flags = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if args.config:
        return load_config(args.config, **flags)
    if not (flags.get("model") and flags.get("data")):
        raise TrainConfigError("give a CONFIG file or both --model and --data")
    return config_from_mapping(flags, "command line")


def _check_model(model: str) -> None:
    if problem := missing_local_path(model):
        raise TrainConfigError(f"--model: {problem}")


def _fail(command: str, err: Exception) -> int:
    """A few lines on stderr; exit 2 for a config or usage error, 1 for data and files."""
    lines = str(err).strip().splitlines() or [type(err).__name__]
    print(f"xplus train {command}: error: " + "\n".join(lines[:3]), file=sys.stderr)
    if isinstance(err, XplusError):
        return err.exit_code
    return 1 if isinstance(err, OSError) else 2


def run_train(args: argparse.Namespace) -> int:
    """Train and print where the model went."""
    from xplus.train.trainer import train

    try:
        config = _config(args)
        train(config, resume=args.resume)
    except (OSError, ValueError) as err:
        return _fail("run", err)
    print(f"model saved to {config.output_dir} (with xplus_training.json)")
    return 0


def run_sensitivity(args: argparse.Namespace) -> int:
    """Gradient norms per layer -> JSON + PNG."""
    import torch
    from transformers import AutoModelForCausalLM

    from xplus.train import sensitivity as sens
    from xplus.train.model import load_tokenizer

    try:
        _check_model(args.model)
        tokenizer = load_tokenizer(args.model)
        dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype)
        model.to("cuda" if torch.cuda.is_available() else "cpu")
        records = sens.flores_records(args.flores, args.directions, args.pairs)
        modules = sens.ATTENTION + tuple(m for extra in args.extra for m in sens.EXTRA[extra])
        norms = {"model": args.model, **sens.gradient_norms(model, tokenizer, records, modules)}
    except (OSError, ValueError) as err:
        return _fail("sensitivity", err)
    output = Path(args.output)
    sens.write_json(norms, output)
    sens.plot_norms(norms, output.with_suffix(".png"))
    print(f"wrote {output} and {output.with_suffix('.png')}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    """Single-layer sweep scored by held-out loss -> JSON + PNG."""
    from xplus.train import sensitivity as sens
    from xplus.train.data import build_examples, load_records
    from xplus.train.model import load_tokenizer

    try:
        config = _config(args)
        tokenizer = load_tokenizer(config.model)
        heldout, _ = build_examples(tokenizer, load_records(args.heldout, max_samples=args.heldout_samples),
                                    config.max_length)
        layers = resolve_layers(args.layers, model_num_layers(config.model))
        sweep = sens.layer_sweep(config, layers, sens.heldout_loss_scorer(heldout))
    except (OSError, ValueError) as err:
        return _fail("sweep", err)
    output = Path(args.output)
    sens.write_json({"model": config.model, "metric": "heldout_loss", **sweep}, output)
    sens.plot_sweep(sweep, output.with_suffix(".png"), "held-out loss")
    print(f"wrote {output} and {output.with_suffix('.png')}")
    return 0


def run_suggest(args: argparse.Namespace) -> int:
    """Print the proposed stage specs and the reasoning behind them."""
    from xplus.train.sensitivity import suggest

    try:
        norms = json.loads(Path(args.norms).read_text())
        specs, reasons = suggest(norms, args.bottom, args.top, args.quantile)
    except (OSError, ValueError, KeyError) as err:
        return _fail("suggest", err)
    print("\n".join(reasons))
    print(f"suggested stages: {' '.join(specs)}")
    print(f"  xplus train run --stages {' '.join(specs)} ...")
    return 0


def run_layers(args: argparse.Namespace) -> int:
    """Print, per stage, the spec, its layers as compact ranges, and their count."""
    try:
        if args.model is not None:
            _check_model(args.model)
        num_layers = args.num_layers if args.model is None else model_num_layers(args.model)
        rows = [(str(i), spec, resolve_layers(spec, num_layers)) for i, spec in enumerate(args.specs, 1)]
    except (OSError, ValueError) as err:
        print(f"xplus train layers: error: {err}", file=sys.stderr)
        return 2
    source = f" ({args.model})" if args.model else ""
    print(f"num_layers: {num_layers}{source}")
    table = [("stage", "spec", "layers", "count")]
    table += [(stage, spec, format_ranges(layers), str(len(layers))) for stage, spec, layers in rows]
    widths = [max(len(row[col]) for row in table) for col in range(4)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0
