"""`xplus evaluate translate`: FLORES through a model, scored and reported, as one resumable command.

The steps (each in its own module): FLORES sentences and directions (`flores`), BenchMAX-style generation
cached per direction (`generate`, `runs.translate_run`), spBLEU / chrF++ and optionally xCOMET in its own
environment (`runs.score_run`), and the reports (`report`). Settings that change translations (model,
FLORES source, decoding, prompt) are recorded in `run.json`; a rerun with the same ones resumes from the
cache, and one with other ones is refused unless `--overwrite`. `--limit` is not among them: sentence i is the
same translation whatever the limit, so a larger limit extends the cache.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xplus.curate.prompts import BENCHMAX_PROMPT
from xplus.curate.typed import missing_local_path
from xplus.evaluate.comet.client import XCOMET_MODELS, CometError
from xplus.evaluate.comet.env import CometEnvMissingError, require_env
from xplus.evaluate.flores import PRESETS, flores_source, resolve_directions, resolve_languages
from xplus.evaluate.generate import MAX_NEW_TOKENS, HFGenerator, VLLMGenerator
from xplus.evaluate.metrics import DEFAULT_METRICS, METRICS, SpmModelMissingError, build_metric
from xplus.evaluate.report import write_reports
from xplus.evaluate.runs import (
    RunMismatchError,
    load_flores,
    remove_run,
    score_run,
    translate_run,
    write_settings,
)


def add_translate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="HF model folder or Hub id (a causal LM with a chat template)")
    parser.add_argument("--flores", required=True, metavar="DIR_OR_HUB_ID",
                        help="FLORES-101/200 release folder (or <split>/<code>.txt files), or a Hub dataset id")
    parser.add_argument("--flores-revision", help="commit of the FLORES Hub dataset (required for a Hub id)")
    parser.add_argument("--split", default="devtest", choices=("dev", "devtest"), help="default devtest")
    parser.add_argument("-o", "--output", type=Path, required=True, help="run folder (cache, scores, reports)")
    parser.add_argument("--languages", nargs="+", metavar="CODE",
                        help="languages, any code form (default: the 17 recipe languages)")
    parser.add_argument("--directions", nargs="+", default=["en-x", "x-en"], metavar="DIR",
                        help=f"presets ({', '.join(PRESETS)}) and/or SRC-TGT pairs (default: en-x x-en)")
    parser.add_argument("--limit", type=int, help="only the first N sentences (smoke tests)")
    parser.add_argument("--backend", choices=("hf", "vllm"), default="hf", help="generation backend (default hf)")
    parser.add_argument("--batch-size", type=int, default=16, help="sentences per generation batch (hf)")
    parser.add_argument("--max-new-tokens", type=int, default=MAX_NEW_TOKENS, help=f"default {MAX_NEW_TOKENS}")
    parser.add_argument("--device", default="auto", help="hf backend: cuda, cpu, ... (default: cuda when present)")
    parser.add_argument("--dtype", default="auto", help="hf backend: auto (the checkpoint's), bfloat16, float32")
    parser.add_argument("--metrics", nargs="+", choices=METRICS, default=list(DEFAULT_METRICS),
                        help=f"sacrebleu metrics (default: {' '.join(DEFAULT_METRICS)})")
    parser.add_argument("--xcomet", metavar="MODEL",
                        help=f"also score xCOMET: {' or '.join(XCOMET_MODELS)} (BenchMAX: XXL), a Hub id or a local "
                        "model folder; needs `xplus evaluate setup-comet`")
    parser.add_argument("--comet-env", type=Path, help="the xCOMET environment (default $XPLUS_COMET_ENV or "
                        "~/.cache/xplus/comet-venv)")
    parser.add_argument("--comet-batch-size", type=int, default=8)
    parser.add_argument("--overwrite", action="store_true", help="delete the run folder first")


def check_before_generation(args: argparse.Namespace) -> None:
    """What would otherwise fail only after hours of generation: the model path, each metric (spBLEU's
    SentencePiece model fetched or refused now) and the xCOMET environment."""
    if problem := missing_local_path(args.model):
        raise FileNotFoundError(problem)
    for name in args.metrics:
        build_metric(name)
    if args.xcomet:
        require_env(args.comet_env)


def run_translate(args: argparse.Namespace) -> int:
    """Translate, score and report; one-line errors on stderr with exit code 1."""
    try:
        flores = flores_source(args.flores, args.split, args.flores_revision)
        directions = resolve_directions(args.directions, resolve_languages(args.languages))
        segments = load_flores(flores, directions, args.limit)
        check_before_generation(args)
        if args.overwrite:
            remove_run(args.output)
        write_settings(args.output, {
            "model": args.model, "flores": flores.describe(), "backend": args.backend,
            "prompt": BENCHMAX_PROMPT, "decoding": {"greedy": True, "max_new_tokens": args.max_new_tokens},
        })
        if args.backend == "vllm":
            generate = VLLMGenerator(args.model, args.max_new_tokens)
        else:
            generate = HFGenerator.load(args.model, args.device, args.dtype, batch_size=args.batch_size,
                                        max_new_tokens=args.max_new_tokens)
        from tqdm import tqdm

        with tqdm(desc="translating", unit="sent", file=sys.stderr) as bar:
            translations = translate_run(args.output, generate, generate.tokenizer, segments, directions, bar.update)
        scores = score_run(args.output, translations, args.metrics, args.xcomet, args.comet_env,
                           args.comet_batch_size)
        written = write_reports(scores, args.output)
    except (OSError, ValueError, ImportError, RunMismatchError, SpmModelMissingError, CometEnvMissingError,
            CometError) as err:
        print(f"xplus evaluate translate: error: {err}", file=sys.stderr)
        return 1
    print((args.output / "report.md").read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0
