"""xCOMET scoring inside the isolated unbabel-comet environment: JSONL in, JSONL out.

Run by that environment's python as a subprocess (`xplus.evaluate.comet.client` does this), never imported
by xplus: it imports `comet`, which only exists there. Standard library and comet only.

    python runner.py --model MODEL --input in.jsonl --output out.jsonl [--batch-size 8] [--error-file F]

Input rows carry `src`, `mt` and `ref`; output row k is `{"score": s}` for input row k. MODEL is a Hub id
(`Unbabel/XCOMET-XXL`), a model folder holding `checkpoints/model.ckpt`, or a `.ckpt` file. comet sorts
samples by length into batches itself (`length_batching`), uses one GPU when there is one, and shows a
progress bar on stderr. A model that cannot be found or loaded is reported in `--error-file` (exit code 2)
with what to do about it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MODEL_MISSING = 2


class ModelMissing(Exception):
    """The model is neither a local checkpoint nor obtainable from the Hub."""


def checkpoint_path(model: str) -> Path:
    """The `.ckpt` file of a local folder or file, or of a Hub model (downloaded into the HF cache)."""
    path = Path(model)
    if path.is_file():
        return path
    if path.is_dir():
        ckpt = path / "checkpoints" / "model.ckpt"
        if not ckpt.is_file():
            raise ModelMissing(f"{path} is a folder without checkpoints/model.ckpt: not a COMET model folder")
        return ckpt
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id=model, local_files_only=os.environ.get("HF_HUB_OFFLINE") == "1")
    except Exception as err:  # the Hub raises many kinds: offline, gated, missing, unauthorised
        raise ModelMissing(
            f"cannot get COMET model {model!r} ({type(err).__name__}: {err}). XCOMET models are gated on the "
            f"Hugging Face Hub: accept the licence at https://huggingface.co/{model}, log in "
            "(`huggingface-cli login` or HF_TOKEN), and run once with network so it lands in the HF cache; or "
            "pass the path of a downloaded model folder (with checkpoints/model.ckpt) instead."
        ) from err
    return Path(folder) / "checkpoints" / "model.ckpt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--error-file")
    args = parser.parse_args(argv)

    import torch
    from comet import load_from_checkpoint

    with open(args.input, encoding="utf-8") as handle:
        samples = [{key: row[key] for key in ("src", "mt", "ref")} for row in map(json.loads, handle)]
    try:
        ckpt = checkpoint_path(args.model)
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        model = load_from_checkpoint(str(ckpt), local_files_only=offline)
    except (ModelMissing, OSError) as err:
        if args.error_file:
            Path(args.error_file).write_text(str(err), encoding="utf-8")
        print(f"error: {err}", file=sys.stderr)
        return MODEL_MISSING
    gpus = 1 if torch.cuda.is_available() else 0
    print(f"xCOMET: {len(samples)} segments with {args.model} on {'GPU' if gpus else 'CPU'}", file=sys.stderr)
    prediction = model.predict(samples, batch_size=args.batch_size, gpus=gpus, progress_bar=True,
                               length_batching=True)
    with open(args.output, "w", encoding="utf-8") as handle:
        for score in prediction.scores:
            handle.write(json.dumps({"score": float(score)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
