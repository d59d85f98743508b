"""The `xplus evaluate` command group.

- `translate`: translate FLORES with a model (BenchMAX protocol), score every direction, write the reports.
- `setup-comet`: create the isolated environment xCOMET runs in.
- `compare`: runs side by side with paired bootstrap significance against the first.
- `score`: spBLEU / BLEU / chrF++ of a hypothesis file against a reference file (one segment per line),
  each with its sacrebleu signature, as a table or as JSON.
- `retention`: lm-evaluation-harness tasks on a base and tuned models, paired deltas (`retention_cli`).

Each handler returns the exit code; expected failures (missing files, models, environments, bad arguments)
are one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from xplus.evaluate.comet.client import DEFAULT_XCOMET
from xplus.evaluate.comet.env import create_env, default_env_path
from xplus.evaluate.metrics import DEFAULT_METRICS, METRICS, score_files
from xplus.evaluate.retention_cli import add_retention_parser
from xplus.evaluate.translate import add_translate_arguments, run_translate


def add_parser(groups: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `evaluate` group and its subcommands to the root command's subparsers."""
    parser = groups.add_parser("evaluate", help="translate FLORES, score and compare translations; retention")
    commands = parser.add_subparsers(dest="command", metavar="{translate,setup-comet,compare,score,retention}",
                                     required=True)

    translate = commands.add_parser(
        "translate",
        help="translate FLORES with a model and score it (spBLEU, chrF++, optionally xCOMET)",
        description="Translate FLORES with BenchMAX's prompt (chat template, thinking off, greedy, 512 new tokens), "
        "cache the translations per direction (a rerun resumes), score every direction and write report.md/csv/json "
        "and heatmaps into the run folder.",
    )
    add_translate_arguments(translate)
    translate.set_defaults(func=run_translate)

    setup = commands.add_parser(
        "setup-comet",
        help="create the isolated environment xCOMET runs in",
        description="Create a venv with unbabel-comet 2.2.7 from xplus's pinned requirements (it cannot live in "
        "xplus's environment). Reused when already complete; needs PyPI, downloads no model.",
    )
    setup.add_argument("--path", type=Path, default=None,
                       help=f"where to create it (default $XPLUS_COMET_ENV or {default_env_path()})")
    setup.add_argument("--force", action="store_true", help="recreate it even when it is complete")
    setup.set_defaults(func=run_setup_comet)

    compare = commands.add_parser(
        "compare",
        help="runs side by side with paired bootstrap significance",
        description="Compare `xplus evaluate translate` runs against the first (the baseline): per direction and "
        "per group, with sacrebleu's paired bootstrap for spBLEU/chrF++ and a bootstrap over segment scores for "
        "xCOMET.",
    )
    compare.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders; the first is the baseline")
    compare.add_argument("--samples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    compare.add_argument("-o", "--output", type=Path, metavar="DIR",
                         help="folder to also write compare.md and compare.json into")
    compare.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    compare.set_defaults(func=run_compare)

    add_score_parser(commands)
    add_retention_parser(commands)
    return parser


def add_score_parser(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser(
        "score",
        help="corpus spBLEU / BLEU / chrF++ of a hypothesis file",
        description="Corpus scores of a hypothesis file against a reference file (one segment per line), "
        "each with its sacrebleu signature. spBLEU needs sacrebleu's SentencePiece model "
        "(downloaded on first use to $SACREBLEU/models, default ~/.sacrebleu/models).",
    )
    score.add_argument("--hyp", required=True, metavar="FILE", help="system translations, one per line")
    score.add_argument("--ref", required=True, metavar="FILE", help="references, one per line")
    score.add_argument(
        "-m",
        "--metrics",
        nargs="+",
        choices=METRICS,
        default=list(DEFAULT_METRICS),
        help=f"metrics to compute (default: {' '.join(DEFAULT_METRICS)})",
    )
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    """Score the files and print the results; errors go to stderr with exit code 1."""
    try:
        scores = score_files(args.hyp, args.ref, args.metrics)
    except (OSError, ValueError, ImportError) as err:
        print(f"xplus evaluate score: error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"hyp": args.hyp, "ref": args.ref, "scores": [asdict(s) for s in scores]}, indent=2))
        return 0
    width = max(len("metric"), *(len(s.metric) for s in scores))
    print(f"{'metric'.ljust(width)}  {'score':>6}  signature")
    for s in scores:
        print(f"{s.metric.ljust(width)}  {s.score:6.2f}  {s.signature}")
    return 0


def run_setup_comet(args: argparse.Namespace) -> int:
    """Create (or reuse) the xCOMET environment and say how to use it."""
    path = args.path or default_env_path()
    try:
        python = create_env(path, force=args.force)
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"xplus evaluate setup-comet: error: {err}", file=sys.stderr)
        return 1
    print(f"xCOMET environment ready: {python}")
    print(f"use it with `xplus evaluate translate ... --xcomet {DEFAULT_XCOMET} --comet-env {path}`")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """Compare runs and print (and optionally write) the tables."""
    from xplus.evaluate.compare import compare_runs, markdown, to_json

    try:
        comparison = compare_runs(args.runs, n_samples=args.samples)
    except (OSError, ValueError, ImportError) as err:
        print(f"xplus evaluate compare: error: {err}", file=sys.stderr)
        return 1
    text, payload = markdown(comparison), json.dumps(to_json(comparison), indent=2, ensure_ascii=False)
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "compare.md").write_text(text, encoding="utf-8")
        (args.output / "compare.json").write_text(payload + "\n", encoding="utf-8")
    print(payload if args.json else text, end="\n" if args.json else "")
    return 0
