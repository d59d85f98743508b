"""The `xplus train` command group.

`xplus train layers` shows which decoder layers each stage of a layer-selective recipe would train, so a
spec can be checked against a model's depth before any training run (defaults: the paper's two stages).
"""

from __future__ import annotations

import argparse
import sys

from xplus.train.layers import PAPER_STAGES, format_ranges, model_num_layers, resolve_layers


def add_parser(groups: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `train` group and its subcommands to the root command's subparsers."""
    parser = groups.add_parser("train", help="layer-selective multi-stage tuning")
    commands = parser.add_subparsers(dest="command", metavar="{layers}", required=True)

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
    return parser


def run_layers(args: argparse.Namespace) -> int:
    """Print, per stage, the spec, its layers as compact ranges, and their count."""
    try:
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
