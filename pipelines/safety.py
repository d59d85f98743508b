"""Never destroy, never read stale input: the run folder's marker, the guards on `-o`, `--overwrite` and
`--resume`, the inputs' fingerprints, and output-folder OS errors as one line.

- Every run folder holds `.xplus-run` (written first). `--overwrite` removes a folder only when it holds that
  marker and is not, and does not contain, an input of the recipe; anything else is refused, untouched.
- `-o` equal to or inside an input folder is refused (the run would read its own logs and outputs as input).
- A run records its local inputs' fingerprints in `inputs.json`; `--resume` refuses when one changed (lines
  appended to an input would otherwise never be read, and the accounting would still reconcile).

Fingerprint = size + mtime + BLAKE2b of the content: the whole file up to `FULL_HASH_BYTES`, else its first and
last `EDGE_BYTES`. Hashing every byte of a 100 GB corpus at each start and resume would cost minutes; the
edges catch appends and truncation (the size changes too), and a larger file whose middle was edited in place
keeps its size and edges but gets a new mtime, so for edge-hashed files a changed mtime counts as a change
(for fully hashed files the content decides: a `touch` or a copy with the same bytes is no change).
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import time
from pathlib import Path

from xplus.curate.errors import ConfigError, DataError

MARKER = ".xplus-run"
INPUTS = "inputs.json"
FULL_HASH_BYTES = 8 << 20
EDGE_BYTES = 1 << 20
REMOTE_PREFIXES = ("hf://", "http://", "https://", "s3://", "gs://")
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def is_remote(path: str) -> bool:
    return path.startswith(REMOTE_PREFIXES)


def local_input(path: str) -> Path:
    """The file or folder on disk of a local source path (`x.zip/member` is the archive `x.zip`)."""
    from xplus.curate.sources import ZIP_MEMBER

    if ZIP_MEMBER in path:
        path = path[: path.index(ZIP_MEMBER) + len(ZIP_MEMBER) - 1]
    return Path(path).resolve()


def recipe_inputs(recipe) -> dict[str, Path]:
    """The local paths a recipe reads, by the recipe key that names them: sources, FLORES, local models."""
    from xplus.pipelines.recipe import resolve_path

    found: dict[str, Path] = {}
    for i, source in enumerate(recipe.sources):
        if source.path and not is_remote(source.path):
            found[f"sources[{i}].path"] = local_input(resolve_path(source.path))
    if recipe.flores:
        found["flores"] = Path(recipe.flores).resolve()
    for step, options in recipe.steps.items():
        for key in ("flores_dir", "model"):
            value = options.get(key)
            if isinstance(value, str) and not is_remote(value) and Path(value).exists():
                found[f"steps.{step}.{key}"] = Path(value).resolve()
    return found


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_folder(run_dir: Path, inputs: dict[str, Path]) -> None:
    """Refuse an output folder that is a data input or lies inside one (a model folder is only kept from
    `--overwrite`: nothing reads the run folder as a model)."""
    for key, path in inputs.items():
        if not key.endswith(".model") and _inside(run_dir, path):
            raise ConfigError(f"-o {run_dir}: inside the input {path} ({key}); the run would read its own "
                              f"files as input: choose an output folder outside it")


def prepare_run_folder(run_dir: Path, inputs: dict[str, Path], overwrite: bool, resume: bool) -> bool:
    """Check `run_dir` against the flags; remove an earlier run with `overwrite`. Returns whether this is a
    resumed run. Raises `ConfigError` for anything it will not touch."""
    check_output_folder(run_dir, inputs)
    occupied = run_dir.is_dir() and any(run_dir.iterdir())
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"-o {run_dir}: a file, not a folder")
    if not occupied:  # nothing there yet (`--resume` too: a job that always passes it starts the run)
        return False
    marked = (run_dir / MARKER).is_file()
    if not (overwrite or resume):
        if marked:
            raise ConfigError(f"{run_dir} already holds a run: pass --resume to continue it or --overwrite to "
                              f"start again")
        raise ConfigError(f"{run_dir} holds files that are not an xplus run: choose an empty or new folder")
    if not marked:
        raise ConfigError(f"{run_dir}: no {MARKER} marker, so not an xplus run folder: not "
                          f"{'removed' if overwrite else 'resumed'}; choose an empty or new folder")
    if resume:
        return True
    if held := [f"{path} ({key})" for key, path in inputs.items() if _inside(path, run_dir)]:
        raise ConfigError(f"--overwrite: {run_dir} holds an input of this recipe, {held[0]}: not removed")
    shutil.rmtree(run_dir)
    return False


def write_marker(run_dir: Path, recipe_name: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / MARKER).write_text(json.dumps({"recipe": recipe_name, "created": time.strftime("%FT%TZ",
                                                                                             time.gmtime())}) + "\n")


def fingerprint(path: Path) -> dict:
    stat = path.stat()
    digest = hashlib.blake2b(digest_size=16)
    full = stat.st_size <= FULL_HASH_BYTES
    with open(path, "rb") as f:
        if full:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        else:
            digest.update(f.read(EDGE_BYTES))
            f.seek(-EDGE_BYTES, 2)
            digest.update(f.read(EDGE_BYTES))
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "blake2b": digest.hexdigest(),
            "hashed": "all" if full else "edges"}


def input_files(inputs: dict[str, Path]) -> dict[str, Path]:
    """Every file of the inputs that are read as data (sources and FLORES; not model folders)."""
    files: dict[str, Path] = {}
    for key, path in inputs.items():
        if key.endswith(".model"):
            continue
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            files[str(file)] = file
    return files


def record_inputs(run_dir: Path, inputs: dict[str, Path]) -> int:
    """Write the inputs' fingerprints to `inputs.json`; returns their total size in bytes."""
    prints = {name: fingerprint(path) for name, path in input_files(inputs).items()}
    (run_dir / INPUTS).write_text(json.dumps(prints, indent=1) + "\n")
    return sum(p["size"] for p in prints.values())


def _changed(before: dict, now: dict) -> str | None:
    if before["size"] != now["size"]:
        return f"size {before['size']} -> {now['size']} bytes"
    if before["blake2b"] != now["blake2b"]:
        return "content changed"
    if before["hashed"] == "edges" and before["mtime_ns"] != now["mtime_ns"]:
        return "modified since the run started"
    return None


def check_inputs_unchanged(run_dir: Path, inputs: dict[str, Path]) -> None:
    """`--resume` only on the inputs the run started with; raises `DataError` naming the first changed file."""
    recorded = run_dir / INPUTS
    if not recorded.is_file():
        raise ConfigError(f"--resume: {recorded} missing (the run's input fingerprints): cannot tell whether the "
                          f"inputs changed; start again with --overwrite")
    before = json.loads(recorded.read_text())
    now = input_files(inputs)
    for name in sorted(set(before) | set(now)):
        if name not in now:
            problem = "removed"
        elif name not in before:
            problem = "new file"
        else:
            problem = _changed(before[name], fingerprint(now[name]))
        if problem:
            raise DataError(f"--resume refused: input {name} changed since the run started ({problem}); start "
                            f"again with --overwrite")


def os_error_line(err: OSError, run_dir: Path) -> DataError | ConfigError | None:
    """An out-of-space or not-writable error as one line naming the file (or the run folder); None for others."""
    where = Path(err.filename) if err.filename else None
    if err.errno in NO_SPACE:
        target = where or run_dir
        free = _free_bytes(target)
        return DataError(f"{target}: no space left on device while writing the run in {run_dir} "
                         f"({free / 1e6:.1f} MB free there); free space or choose another -o")
    if err.errno in NOT_WRITABLE and (where is None or _inside(where.resolve(), run_dir)
                                      or _inside(run_dir, where.resolve())):
        return ConfigError(f"{where or run_dir}: not writable ({err.strerror}): choose another -o")
    if err.errno in NOT_WRITABLE and where is not None:
        return DataError(f"{where}: cannot read it ({err.strerror})")
    return None


def _free_bytes(path: Path) -> int:
    for folder in (path, *path.parents):
        if folder.exists():
            return shutil.disk_usage(folder).free
    return 0
