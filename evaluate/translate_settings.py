"""The settings of `xplus evaluate translate`, one field per flag (`xplus.curate.config_flags` makes the flags,
their help is the fields'): the model, the FLORES source, the run folder, generation and scoring."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from xplus.curate.config_flags import flag_field
from xplus.evaluate.comet.client import XCOMET_MODELS
from xplus.evaluate.flores import PRESETS
from xplus.evaluate.generate import MAX_NEW_TOKENS
from xplus.evaluate.metrics import DEFAULT_METRICS, METRICS


@dataclass(frozen=True, kw_only=True)
class TranslateSettings:
    """One `xplus evaluate translate` run; the ones that change translations are recorded in its run.json."""

    model: str = flag_field(help="HF model folder or Hub id (a causal LM with a chat template)",
                            metavar="PATH_OR_ID")
    flores: str = flag_field(help="FLORES-101/200 release folder (or <split>/<code>.txt files), or a Hub dataset id",
                             metavar="DIR_OR_HUB_ID")
    flores_revision: str | None = flag_field(None, help="commit of the FLORES Hub dataset (required for a Hub id)",
                                             metavar="COMMIT")
    split: Literal["dev", "devtest"] = flag_field("devtest", help="FLORES split translated")
    output: Path = flag_field(help="run folder (cache, scores, reports)", short="-o", metavar="DIR")
    languages: tuple[str, ...] | None = flag_field(
        None, help="languages, any code form (default: the 17 recipe languages)", metavar="CODE")
    directions: tuple[str, ...] = flag_field(
        ("en-x", "x-en"), help=f"presets ({', '.join(PRESETS)}) and/or SRC-TGT pairs", metavar="DIRECTION")
    limit: int | None = flag_field(None, help="only the first N sentences (smoke tests)", metavar="N")
    backend: Literal["hf", "vllm"] = flag_field("hf", help="generation backend")
    batch_size: int = flag_field(16, help="sentences per generation batch (hf)", metavar="N")
    max_new_tokens: int = flag_field(MAX_NEW_TOKENS, help="tokens generated per sentence at most", metavar="N")
    device: str = flag_field("auto", help="hf backend: cuda, cpu, ... (default: cuda when present)")
    dtype: str = flag_field("auto", help="hf backend: auto (the checkpoint's), bfloat16, float32")
    metrics: tuple[str, ...] = flag_field(DEFAULT_METRICS, help="sacrebleu metrics", choices=METRICS)
    xcomet: str | None = flag_field(
        None, help=f"also score xCOMET: {' or '.join(XCOMET_MODELS)} (BenchMAX: XXL), a Hub id or a local model "
        "folder; needs `xplus evaluate setup-comet`", metavar="MODEL")
    comet_env: Path | None = flag_field(
        None, help="the xCOMET environment (default $XPLUS_COMET_ENV or ~/.cache/xplus/comet-venv)", metavar="DIR")
    comet_batch_size: int = flag_field(8, help="segments per xCOMET batch", metavar="N")
    overwrite: bool = flag_field(False, help="delete the run folder first")
