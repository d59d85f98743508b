"""An evaluation run on disk: translate every direction, score it, and read it back for reports and comparisons.

Layout of a run folder:

- `run.json`: what was evaluated and how (model, FLORES source/split/revision, prompt, decoding). A rerun
  with other settings into the same folder is refused, so cached translations never mix models.
- `translations/<src>-<tgt>.jsonl`: one row per sentence `{i, src, ref, raw, hyp}` (the resumable cache).
- `xcomet/<src>-<tgt>.jsonl`: xCOMET segment scores `{i, mt, model, score}` (0-1), when xCOMET was run;
  reused by a rerun for the translations and model they were computed for.
- `scores.json`: corpus scores per direction, each metric with its sacrebleu signature or xCOMET model.
  xCOMET's corpus score is the mean segment score x 100, on the same 0-100 scale as spBLEU and chrF++.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from xplus.curate.flores import Direction, Flores
from xplus.evaluate.comet.client import DEFAULT_XCOMET, resolve_model, xcomet_scores
from xplus.evaluate.generate import Generate, translate_direction
from xplus.evaluate.metrics import score_segments

RUN_FILE, SCORES_FILE, TRANSLATIONS, XCOMET = "run.json", "scores.json", "translations", "xcomet"


class RunMismatchError(ValueError):
    """The run folder already holds translations made with other settings."""


def remove_run(run_dir: Path) -> None:
    """`--overwrite`: delete an earlier evaluation run (a folder holding its settings file), never anything else."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return
    if not (run_dir / RUN_FILE).is_file() and any(run_dir.iterdir()):
        raise RunMismatchError(f"{run_dir} is not an xplus evaluation run (no {RUN_FILE}): --overwrite deletes only "
                               "earlier runs; choose another output folder")
    shutil.rmtree(run_dir)


def write_settings(run_dir: Path, settings: dict) -> None:
    """Record the run's settings, or check them against the ones already recorded there."""
    path = Path(run_dir) / RUN_FILE
    if path.is_file():
        recorded = json.loads(path.read_text(encoding="utf-8"))
        if recorded != settings:
            changed = sorted(key for key in {*recorded, *settings} if recorded.get(key) != settings.get(key))
            raise RunMismatchError(f"{run_dir} holds a run with other settings ({', '.join(changed)} differ): "
                                   "use another output folder, or --overwrite to start it afresh")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_flores(flores: Flores, directions: list[Direction], limit: int | None = None) -> dict[str, list[str]]:
    """The first `limit` sentences of every language the directions need (read before any model is loaded, so a
    missing file fails at once)."""
    codes = dict.fromkeys(code for d in directions for code in (d.src, d.tgt))
    return {code: flores.lines(code)[:limit] for code in codes}


def translate_run(
    run_dir: Path, generate: Generate, tokenizer: object, segments: dict[str, list[str]], directions: list[Direction],
    progress: Callable[[int], None] | None = None,
) -> dict[Direction, list[dict]]:
    """Translate (or read from the cache) every direction's sentences."""
    return {
        d: translate_direction(generate, tokenizer, d, segments[d.src], segments[d.tgt],
                               Path(run_dir) / TRANSLATIONS, progress)
        for d in directions
    }


def score_run(
    run_dir: Path, translations: dict[Direction, list[dict]], metrics: list[str],
    xcomet: str | None = None, comet_env: Path | None = None, comet_batch_size: int = 8,
) -> dict:
    """Corpus scores of every direction (and xCOMET when `xcomet` names a model), written to scores.json."""
    run_dir = Path(run_dir)
    directions: dict[str, dict] = {}
    signatures: dict[str, dict] = {}
    for d, rows in translations.items():
        scores = score_segments([r["hyp"] for r in rows], [r["ref"] for r in rows], metrics)
        directions[d.name] = {"src": d.src, "tgt": d.tgt, "group": d.group, "segments": len(rows),
                              "scores": {s.metric: s.score for s in scores}}
        signatures.update({s.metric: {"signature": s.signature} for s in scores})
    if xcomet:
        model = resolve_model(xcomet)
        cached = {d: _cached_xcomet(run_dir, d, rows, model) for d, rows in translations.items()}
        todo = [d for d, values in cached.items() if values is None]
        flat = [{"src": r["src"], "mt": r["hyp"], "ref": r["ref"]} for d in todo for r in translations[d]]
        segment_scores = iter(xcomet_scores(flat, model, comet_env, comet_batch_size) if flat else [])
        (run_dir / XCOMET).mkdir(parents=True, exist_ok=True)
        for d, rows in translations.items():
            values = cached[d] if cached[d] is not None else [next(segment_scores) for _ in rows]
            with open(run_dir / XCOMET / f"{d.name}.jsonl", "w", encoding="utf-8") as handle:
                for row, value in zip(rows, values, strict=True):
                    handle.write(json.dumps({"i": row["i"], "mt": row["hyp"], "model": model, "score": value},
                                            ensure_ascii=False) + "\n")
            directions[d.name]["scores"]["xcomet"] = 100 * sum(values) / len(values)
        signatures["xcomet"] = {"model": model, "default": resolve_model(DEFAULT_XCOMET), "scale": "mean x 100"}
    result = {"settings": json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8")),
              "metrics": signatures, "directions": directions}
    (run_dir / SCORES_FILE).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def _cached_xcomet(run_dir: Path, direction: Direction, rows: list[dict], model: str) -> list[float] | None:
    """The direction's xCOMET segment scores from an earlier scoring, if it scored these very translations with
    this model (XCOMET-XXL takes long: a resumed run does not score again)."""
    path = run_dir / XCOMET / f"{direction.name}.jsonl"
    if not path.is_file():
        return None
    scored = load_segments(run_dir, direction.name, XCOMET)
    if [(s["i"], s.get("mt"), s.get("model")) for s in scored] != [(r["i"], r["hyp"], model) for r in rows]:
        return None
    return [s["score"] for s in scored]


def load_scores(run_dir: Path) -> dict:
    path = Path(run_dir) / SCORES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no {SCORES_FILE}: not a finished `xplus evaluate translate` run")
    return json.loads(path.read_text(encoding="utf-8"))


def load_segments(run_dir: Path, direction: str, kind: str = TRANSLATIONS) -> list[dict]:
    """Rows of one direction's translations or xCOMET scores, in sentence order."""
    path = Path(run_dir) / kind / f"{direction}.jsonl"
    with open(path, encoding="utf-8") as handle:
        return sorted((json.loads(line) for line in handle), key=lambda row: row["i"])
