"""The `xplus evaluate` command group.

`xplus evaluate score` scores a hypothesis file against a reference file (one segment per line) with
spBLEU, BLEU and/or chrF++, printing each score with its sacrebleu signature, as a table or as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from xplus.evaluate.metrics import DEFAULT_METRICS, METRICS, score_files


def add_parser(groups: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `evaluate` group and its subcommands to the root command's subparsers."""
    parser = groups.add_parser("evaluate", help="score translations")
    commands = parser.add_subparsers(dest="command", metavar="{score}", required=True)

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
    return parser


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
