"""What a run needs, checked before its first expensive step: FLORES files, models, remote sources, free disk.

Each check raises `ConfigError` (a path or name in the recipe is wrong) or `DataError` (something the recipe
names is missing, unreachable, or does not fit on the disk), one line naming the key, path or URL. The spBLEU
SentencePiece model check is here too, for the commands that evaluate (`check_spbleu_model`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from xplus.curate.errors import ConfigError, DataError
from xplus.curate.typed import missing_local_path
from xplus.pipelines.safety import input_files, is_remote, local_input

#: disk a run takes per byte of (uncompressed) input, measured on the bundled demo (`--tasks 2`: work/ 8.1x,
#: output/jsonl 1.9x, parquet 0.6x, chat-messages 6.3x, chat-sharegpt 2.2x, chat-alpaca 2.0x, rejects and logs
#: 0.6x; issue 12 reports work/ 7.6x on an 85 MB run); rounded up
WORK_FACTOR = 8.5
FORMAT_FACTOR = 2.0
LAYOUT_FACTOR = 6.5
BASE_FACTOR = 1.0
#: compressed inputs are counted at this many times their size on disk
COMPRESSED = {".gz": 4, ".zst": 5, ".zip": 4, ".xz": 5, ".bz2": 5}
TIMEOUT_S = 10.0


def input_bytes(inputs: dict[str, Path]) -> int:
    """The local sources' size (what the run reads as pairs; not FLORES), compressed files counted at their
    usual expansion."""
    sources = {key: path for key, path in inputs.items() if key.startswith("sources[")}
    return sum(path.stat().st_size * COMPRESSED.get(path.suffix, 1) for path in input_files(sources).values())


def estimate_run_bytes(recipe, n_input_bytes: int, uses_work: bool) -> int:
    """Disk the run folder will need at its peak (work/ included when the run has one)."""
    from xplus.curate.template import STEP as TEMPLATE_STEP

    layouts = len(recipe.chat_layouts) if TEMPLATE_STEP in recipe.steps else 0
    factor = BASE_FACTOR + FORMAT_FACTOR * len(recipe.formats) + LAYOUT_FACTOR * layouts
    return int(n_input_bytes * (factor + (WORK_FACTOR if uses_work else 0)))


def check_free_disk(run_dir: Path, needed: int) -> None:
    folder = next(p for p in (run_dir, *run_dir.parents) if p.exists())
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise DataError(f"{folder}: {free / 1e6:,.1f} MB free, the run needs about {needed / 1e6:,.1f} MB "
                        f"(outputs and work/, estimated from the input size): free space or choose another -o")


def check_flores(recipe) -> None:
    """The FLORES files the decontamination and the loss calibration will open exist, for every language."""
    from xplus.curate.decontaminate import flores_files
    from xplus.curate.flores import Flores

    for step, options in recipe.steps.items():
        folder = options.get("flores_dir")
        if not folder:
            continue
        if step == "decontaminate":
            try:
                flores_files(folder, tuple(options.get("splits", ("dev", "devtest"))))
            except FileNotFoundError as err:
                raise DataError(f"steps.decontaminate.flores_dir: {err}") from err
        elif step == "loss":
            flores = Flores(str(folder), options.get("flores_split", "dev"))
            for i, source in enumerate(recipe.sources):
                for side in ("src_lang", "tgt_lang"):
                    candidates = flores.candidates(str(source.options[side]))
                    if not any(p.is_file() for p in candidates):
                        raise DataError(f"steps.loss.flores_dir: no FLORES file for sources[{i}].{side} "
                                        f"{source.options[side]!r}: expected one of {', '.join(map(str, candidates))}")


def check_model(key: str, name: str, repo_type: str = "model") -> None:
    """A local model folder exists, or a Hub id is reachable (or cached when offline)."""
    if Path(name).expanduser().exists():
        return
    if problem := missing_local_path(name):
        raise ConfigError(f"{key}: {problem}")
    check_hub_repo(key, name, repo_type)


def check_hub_repo(key: str, repo_id: str, repo_type: str = "dataset", revision: str | None = None) -> None:
    import huggingface_hub

    if _offline():
        return  # offline: the cache decides, when the step opens it
    try:
        huggingface_hub.HfApi().repo_info(repo_id, repo_type=repo_type, revision=revision, timeout=TIMEOUT_S)
    except Exception as err:  # 404, gated, no network: the same advice
        raise DataError(f"{key}: hf://{'datasets/' if repo_type == 'dataset' else ''}{repo_id} not reachable "
                        f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from err


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def check_remote_sources(recipe) -> int:
    """Every source resolves: a local path exists; a URL or Hub path answers (`curate.sources.source_info`:
    a HEAD or a listing, no data read). Hub paths are left to the cache when the Hub is offline. Returns the
    remote sources' size (compressed files counted at their usual expansion; 0 where a server gives none)."""
    from xplus.curate.sources import source_info
    from xplus.pipelines.check import source_location
    from xplus.pipelines.recipe import resolve_path

    remote = 0
    for i, source in enumerate(recipe.sources):
        path = source_location(resolve_path(source.path), source.options)
        if not is_remote(path):
            if not local_input(path).exists():
                raise ConfigError(f"sources[{i}].path: {source.path}: no such file or folder")
        elif not (path.startswith("hf://") and _offline()):
            if (info := source_info(path)).error:
                raise DataError(f"sources[{i}]: {info.where}: {info.error}")
            remote += (info.size or 0) * COMPRESSED.get(Path(path).suffix, 1)
    return remote


def check_models(recipe) -> None:
    """The loss step's scorer exists (local) or answers (Hub); the LID step's fastText model is on disk now
    (a Hub model is downloaded here, once, instead of in every worker mid-run)."""
    if model := recipe.steps.get("loss", {}).get("model"):
        check_model("steps.loss.model", str(model))
    if "lid" in recipe.steps:
        from xplus.curate.lid_model import LID176, resolve_model

        options = recipe.steps["lid"]
        name = str(options.get("model", LID176))
        try:
            resolve_model(name, options.get("revision"))
        except Exception as err:  # a missing file, an unknown name, no network or cache: the same advice
            raise DataError(f"steps.lid.model: {name}: not available ({type(err).__name__}: "
                            f"{(str(err).splitlines() or [''])[0][:200]})") from err


def check_spbleu_model(tokenize: str = "flores200") -> Path:
    """spBLEU's SentencePiece model is on disk (downloaded now if it can be): before any generation."""
    from xplus.evaluate.metrics import ensure_spm_model

    try:
        return ensure_spm_model(tokenize)
    except Exception as err:
        raise DataError(str(err).splitlines()[0]) from err
