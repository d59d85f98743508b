"""`xplus evaluate translate`: FLORES through a model, scored and reported, as one resumable command.

The steps (each in its own module): FLORES sentences and directions (`flores`), BenchMAX-style generation
cached per direction (`generate`, `runs.translate_run`), spBLEU / chrF++ and optionally xCOMET in its own
environment (`runs.score_run`), and the reports (`report`). Settings that change translations (model,
FLORES source, decoding, prompt) are recorded in `run.json`; a rerun with the same ones resumes from the
cache, and one with other ones is refused unless `--overwrite`. `--limit` is not among them: sentence i is the
same translation whatever the limit, so a larger limit extends the cache.

The command's settings are one `TranslateSettings` (`translate_settings`), whose fields are its flags;
`translate(settings)` is the whole command as a function.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xplus.curate.config_flags import add_config_flags, config_from_args
from xplus.curate.prompts import BENCHMAX_PROMPT
from xplus.curate.typed import missing_local_path
from xplus.evaluate.comet.client import CometError
from xplus.evaluate.comet.env import CometEnvMissingError, require_env
from xplus.evaluate.flores import flores_source, resolve_directions, resolve_languages
from xplus.evaluate.generate import HFGenerator, VLLMGenerator
from xplus.evaluate.metrics import SpmModelMissingError, build_metric
from xplus.evaluate.report import write_reports
from xplus.evaluate.runs import (
    RunMismatchError,
    load_flores,
    remove_run,
    score_run,
    translate_run,
    write_settings,
)
from xplus.evaluate.translate_settings import TranslateSettings


def add_translate_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per `TranslateSettings` field, its help the field's."""
    add_config_flags(parser, TranslateSettings)


def check_before_generation(settings: TranslateSettings) -> None:
    """What would otherwise fail only after hours of generation: the model path, each metric (spBLEU's
    SentencePiece model fetched or refused now) and the xCOMET environment."""
    if problem := missing_local_path(settings.model):
        raise FileNotFoundError(problem)
    for name in settings.metrics:
        build_metric(name)
    if settings.xcomet:
        require_env(settings.comet_env)


def run_translate(args: argparse.Namespace) -> int:
    """Translate, score and report (the settings from the flags); one-line errors on stderr with exit code 1."""
    settings = config_from_args(TranslateSettings, args)
    try:
        written = translate(settings)
    except (OSError, ValueError, ImportError, RunMismatchError, SpmModelMissingError, CometEnvMissingError,
            CometError) as err:
        print(f"xplus evaluate translate: error: {err}", file=sys.stderr)
        return 1
    print((settings.output / "report.md").read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def translate(s: TranslateSettings) -> list[Path]:
    """The whole command as a function: translate (resuming from the cache), score, write the reports."""
    flores = flores_source(s.flores, s.split, s.flores_revision)
    directions = resolve_directions(s.directions, resolve_languages(s.languages))
    segments = load_flores(flores, directions, s.limit)
    check_before_generation(s)
    if s.overwrite:
        remove_run(s.output)
    write_settings(s.output, {
        "model": s.model, "flores": flores.describe(), "backend": s.backend,
        "prompt": BENCHMAX_PROMPT, "decoding": {"greedy": True, "max_new_tokens": s.max_new_tokens},
    })
    if s.backend == "vllm":
        generate = VLLMGenerator(s.model, s.max_new_tokens)
    else:
        generate = HFGenerator.load(s.model, s.device, s.dtype, batch_size=s.batch_size,
                                    max_new_tokens=s.max_new_tokens)
    from tqdm import tqdm

    with tqdm(desc="translating", unit="sent", file=sys.stderr) as bar:
        translations = translate_run(s.output, generate, generate.tokenizer, segments, directions, bar.update)
    scores = score_run(s.output, translations, list(s.metrics), s.xcomet, s.comet_env, s.comet_batch_size)
    return write_reports(scores, s.output)
