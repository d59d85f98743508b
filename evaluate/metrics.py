"""Corpus-level translation scores with sacrebleu: spBLEU, BLEU and chrF++.

spBLEU is BLEU over the pieces of the FLORES-200 SentencePiece model (`tokenize="flores200"`), so one
tokenizer serves every language, scripts without spaces included; BenchMAX and the Qwen3-XPlus paper report
it. `spbleu-flores101` uses the older FLORES-101 model, `bleu` is classic BLEU (13a tokenizer) and `chrf++`
is chrF with word bigrams (`CHRF(word_order=2)`). Every score carries sacrebleu's signature, the settings
needed to reproduce it.

sacrebleu downloads the SentencePiece model on first use to `models/` under $SACREBLEU (default
~/.sacrebleu). Offline that download fails deep inside sacrebleu, so `ensure_spm_model` checks first and
raises an error that says where the file belongs and how to put it there.

Layout (also what the tests build offline): `$SACREBLEU/models/flores200sacrebleuspm` for `flores200` and
`$SACREBLEU/models/sacrebleu_tokenizer_spm.model` for `flores101` (the basenames of sacrebleu's URLs).
xCOMET, which needs its own environment, is `xplus.evaluate.comet`.

Segments are read one per line and right-stripped, as sacrebleu's own command line reads them, so scores
equal `sacrebleu REF -i HYP`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.base import Metric
from sacrebleu.tokenizers import tokenizer_spm

# metric name -> SentencePiece tokenizer, for the metrics that need a downloaded model
_SPM_TOKENIZERS = {"spbleu": "flores200", "spbleu-flores101": "flores101"}
METRICS = ("spbleu", "spbleu-flores101", "bleu", "chrf++")
DEFAULT_METRICS = ("spbleu", "chrf++")


@dataclass(frozen=True)
class Score:
    """One corpus score: our metric name, sacrebleu's score, and sacrebleu's signature string."""

    metric: str
    score: float
    signature: str


class SpmModelMissingError(FileNotFoundError):
    """The SentencePiece model for spBLEU is not in sacrebleu's cache and could not be downloaded."""


def spm_model_path(tokenize: str) -> Path:
    """Where sacrebleu looks for the model of `tokenize` ('flores200', 'flores101'): models/<basename of
    its URL> under sacrebleu's directory, which it takes from $SACREBLEU (or ~/.sacrebleu) on import."""
    url = tokenizer_spm.SPM_MODELS[tokenize]["url"]
    return Path(tokenizer_spm.SACREBLEU_DIR) / "models" / os.path.basename(url)


def ensure_spm_model(tokenize: str) -> Path:
    """Path of the SentencePiece model of `tokenize`, fetched with sacrebleu's own downloader when absent.

    Raises `SpmModelMissingError` when it is absent and the download fails (e.g. offline)."""
    path = spm_model_path(tokenize)
    if path.is_file() and path.stat().st_size > 0:
        return path
    url = tokenizer_spm.SPM_MODELS[tokenize]["url"]
    try:
        tokenizer_spm.download_file(url, str(path))
    # sacrebleu's downloader raises whatever urllib raises, and exits the process on SSL errors
    except (Exception, SystemExit) as err:
        path.unlink(missing_ok=True)  # a partial download would be loaded as a corrupt model next time
        raise SpmModelMissingError(
            f"spBLEU needs sacrebleu's {tokenize} SentencePiece model, which is not at {path} and could not "
            f"be downloaded from {url} ({type(err).__name__}: {err}). sacrebleu looks for it in models/ "
            f"under $SACREBLEU (default ~/.sacrebleu; now {tokenizer_spm.SACREBLEU_DIR}), named {path.name}. "
            f"To place it: on a machine with network run `curl -L -o {path.name} {url}`, copy the file to "
            f"{path}, or set SACREBLEU to a directory whose models/ folder holds it."
        ) from err
    return path


def read_segments(path: str | Path) -> list[str]:
    """Segments of a text file, one per line, right-stripped (as sacrebleu's command line reads them)."""
    with open(path, encoding="utf-8", newline="\n") as handle:
        return [line.rstrip() for line in handle]


def score_segments(
    hypotheses: list[str], references: list[str], metrics: tuple[str, ...] | list[str] = DEFAULT_METRICS
) -> list[Score]:
    """Corpus scores of `hypotheses` against one reference per segment, in the order of `metrics`."""
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        raise ValueError("no segments to score")
    built = [(name, build_metric(name)) for name in metrics]  # every model is in place before any scoring
    return [
        Score(name, metric.corpus_score(hypotheses, [references]).score, str(metric.get_signature()))
        for name, metric in built
    ]


def score_files(
    hyp_path: str | Path, ref_path: str | Path, metrics: tuple[str, ...] | list[str] = DEFAULT_METRICS
) -> list[Score]:
    """Corpus scores of a hypothesis file against a reference file with the same number of lines."""
    hypotheses, references = read_segments(hyp_path), read_segments(ref_path)
    if len(hypotheses) != len(references):
        raise ValueError(
            f"hypothesis file {hyp_path} has {len(hypotheses)} lines but reference file {ref_path} has "
            f"{len(references)}; they must hold the same segments, one per line"
        )
    return score_segments(hypotheses, references, metrics)


def build_metric(name: str) -> Metric:
    """The sacrebleu metric behind one of our metric names (its SentencePiece model fetched or refused first)."""
    if name in _SPM_TOKENIZERS:
        tokenize = _SPM_TOKENIZERS[name]
        ensure_spm_model(tokenize)
        return BLEU(tokenize=tokenize)
    if name == "bleu":
        return BLEU(tokenize="13a")
    return CHRF(word_order=2)
