"""Segment-level xCOMET scores from xplus: the runner in the comet environment does the work.

All segments of a run (every direction) go to one subprocess, so the model (XCOMET-XXL is 10.7B parameters)
is loaded once. Rows are exchanged as JSONL files in a temporary folder; the runner's progress bar goes
straight to our stderr.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from xplus.evaluate.comet.env import RUNNER, require_env

#: the XCOMET sizes by short name; XXL is BenchMAX's choice and the default
XCOMET_MODELS = {"XXL": "Unbabel/XCOMET-XXL", "XL": "Unbabel/XCOMET-XL"}
DEFAULT_XCOMET = "XXL"


class CometError(RuntimeError):
    """The runner failed: the message says why (a missing model says how to get it)."""


def resolve_model(name: str) -> str:
    """`XXL` / `XL` (any case) to their Hub ids; anything else (a Hub id, a local path) as given."""
    return XCOMET_MODELS.get(name.upper(), name)


def xcomet_scores(
    rows: list[dict[str, str]], model: str = DEFAULT_XCOMET, env: Path | None = None, batch_size: int = 8,
) -> list[float]:
    """One xCOMET score (0-1) per row of `{src, mt, ref}`, in order."""
    python = require_env(env)
    if not rows:
        return []
    with tempfile.TemporaryDirectory(prefix="xplus-comet-") as tmp:
        folder = Path(tmp)
        inputs, outputs, error = folder / "in.jsonl", folder / "out.jsonl", folder / "error.txt"
        with open(inputs, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({key: row[key] for key in ("src", "mt", "ref")}, ensure_ascii=False) + "\n")
        command = [str(python), str(RUNNER), "--model", resolve_model(model), "--input", str(inputs),
                   "--output", str(outputs), "--batch-size", str(batch_size), "--error-file", str(error)]
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            reason = error.read_text(encoding="utf-8") if error.is_file() else "see its output above"
            raise CometError(f"xCOMET scoring failed (exit code {done.returncode}): {reason}")
        with open(outputs, encoding="utf-8") as handle:
            scores = [json.loads(line)["score"] for line in handle]
    if len(scores) != len(rows):
        raise CometError(f"xCOMET returned {len(scores)} scores for {len(rows)} segments")
    return scores
