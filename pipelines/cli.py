"""The root `xplus` command. Each package owns its subcommand group (`xplus.<package>.cli.add_parser`);
this module only assembles them and adds the recipe runner (`xplus curate run`), which needs `pipelines`.

Building the parser imports no heavy module (torch, transformers, datasets): each command imports what it
needs when it runs, so `xplus --help` answers at once.

Errors: a user-facing error (`xplus.curate.errors.XplusError`, a recipe or config error, a missing, unreadable
or full file) is one line on stderr naming the file, key or URL, with exit code 2 for usage and config errors
and 1 for data errors; `xplus --debug ...` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from importlib.metadata import version

from xplus.curate import cli as curate_cli
from xplus.curate.errors import XplusError
from xplus.evaluate import cli as evaluate_cli
from xplus.pipelines import end_to_end
from xplus.pipelines import run as run_cli
from xplus.train import cli as train_cli

DEBUG_FLAG = "--debug"
DEBUG_ENV = "XPLUS_DEBUG"


class Parser(argparse.ArgumentParser):
    """argparse's parser with a usage error in one line (the usage itself is one `--help` away); the
    subcommands' parsers are of this class too."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="xplus",
        description="Curate parallel corpora, train and evaluate translation-enhanced LLMs (Qwen3-XPlus recipe).",
    )
    parser.add_argument("--version", action="version", version=f"xplus {version('xplus')}")
    parser.add_argument(DEBUG_FLAG, action="store_true",
                        help="show the full traceback of an error (anywhere on the command line)")
    groups = parser.add_subparsers(dest="group", metavar="{curate,train,evaluate,end-to-end}", required=True)
    curate_commands = curate_cli.add_parser(groups)
    run_cli.add_run_parser(curate_commands)
    __import__("xplus.pipelines.check", fromlist=["add_check_parser"]).add_check_parser(curate_commands)
    train_cli.add_parser(groups)
    evaluate_cli.add_parser(groups)
    end_to_end.add_parser(groups)
    return parser


def describe_error(err: BaseException) -> tuple[str, int] | None:
    """One line (a few for a long OS message) and the exit code for an error meant for the user: an `XplusError`,
    or an `OSError` (a file missing, unreadable, a folder, a full disk: the path named); None for a bug, which
    keeps its traceback."""
    if isinstance(err, XplusError):
        return str(err), err.exit_code
    if not isinstance(err, OSError):
        return None
    if err.filename is None and err.errno != errno.ENOSPC:  # a message of its own (a model or file not found)
        return "\n".join(str(err).strip().splitlines()[:3]) or type(err).__name__, 1
    where = f"{err.filename}: " if err.filename is not None else ""
    if err.filename2 is not None:
        where = f"{err.filename} -> {err.filename2}: "
    reason = err.strerror or type(err).__name__
    hint = " (free some space, or write the run elsewhere with -o)" if err.errno == errno.ENOSPC else ""
    return f"{where}{reason}{hint}", 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv[: argv.index("--")] if "--" in argv else DEBUG_FLAG in argv
    if debug:
        argv.remove(DEBUG_FLAG)
        os.environ[DEBUG_ENV] = "1"  # for code that prints in worker processes (datatrove's task logs)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Exception as err:
        described = None if debug else describe_error(err)
        if described is None:
            raise
        message, code = described
        print(f"xplus: error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
