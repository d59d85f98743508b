"""The root `xplus` command. Each package owns its subcommand group (`xplus.<package>.cli.add_parser`);
this module only assembles them and adds the recipe runner (`xplus curate run`), which needs `pipelines`."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version

from xplus.curate import cli as curate_cli
from xplus.evaluate import cli as evaluate_cli
from xplus.pipelines import end_to_end
from xplus.pipelines import run as run_cli
from xplus.train import cli as train_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xplus",
        description="Curate parallel corpora, train and evaluate translation-enhanced LLMs (Qwen3-XPlus recipe).",
    )
    parser.add_argument("--version", action="version", version=f"xplus {version('xplus')}")
    groups = parser.add_subparsers(dest="group", metavar="{curate,train,evaluate,end-to-end}", required=True)
    curate_commands = curate_cli.add_parser(groups)
    run_cli.add_run_parser(curate_commands)
    train_cli.add_parser(groups)
    evaluate_cli.add_parser(groups)
    end_to_end.add_parser(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
