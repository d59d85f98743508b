"""The phases of the toy end-to-end run, each calling the public functions (or the very commands) a user calls:
hold out pairs, train the toy loss scorer, curate with the recipe machinery (`xplus curate run`'s), train with
`xplus.train`, translate and score with `xplus evaluate translate`, compare with `xplus evaluate compare`, and
measure retention with `xplus evaluate retention`."""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml

from xplus.curate.flores import parse_direction
from xplus.pipelines.end_to_end_config import EN, SW, TICO, ToyConfig
from xplus.pipelines.shared_data import shared_data_dir

MODELS = ("before", "layer-selective", "full")


@dataclass(frozen=True)
class Split:
    """The source split into held-out evaluation and calibration pairs (FLORES layout) and a training folder."""

    source: Path
    origin: str
    lines: int
    train_lines: int
    train_folder: Path
    heldout: Path
    evaluation: int
    calibration: int
    train_pairs: list[tuple[str, str]]


def default_data() -> tuple[Path, str]:
    """TICO-19 en-sw from the shared data (`shared_data_dir`: `$XPLUS_SHARED_DATA`, else `../shared/data` next to
    the checkout) when present (2,100 pairs), else the bundled 300."""
    shared = shared_data_dir() / "bitext" / TICO[0] / TICO[1]
    if shared.is_dir():
        return shared, "shared"
    from xplus.pipelines.recipe import bundled_data

    return bundled_data() / TICO[0] / TICO[1], "bundled"


def read_moses(folder: Path, stem: str = TICO[2]) -> tuple[list[str], list[str]]:
    english = (folder / f"{stem}.eng").read_text(encoding="utf-8").split("\n")
    swahili = (folder / f"{stem}.swa").read_text(encoding="utf-8").split("\n")
    if english[-1] == "" and swahili[-1] == "":  # a final newline, not an empty pair
        english, swahili = english[:-1], swahili[:-1]
    if len(english) != len(swahili):
        raise ValueError(f"{folder}: {len(english)} English lines but {len(swahili)} Swahili lines")
    return english, swahili


def split_pairs(english: list[str], swahili: list[str], config: ToyConfig) -> tuple[list[int], list[int], list[int]]:
    """Line indices (evaluation, calibration, training). Held-out pairs are drawn at random among non-empty
    pairs whose sentences occur once in the source; training keeps every other line (empty ones too: the
    cleaner drops them) in file order."""
    counts: dict[str, int] = {}
    for text in english + swahili:
        counts[text.strip()] = counts.get(text.strip(), 0) + 1
    candidates = [i for i, (e, s) in enumerate(zip(english, swahili, strict=True))
                  if e.strip() and s.strip() and counts[e.strip()] == 1 and counts[s.strip()] == 1]
    random.Random(config.seed).shuffle(candidates)
    held = config.eval_pairs + config.calib_pairs
    if len(candidates) < held + 50:
        raise ValueError(f"only {len(candidates)} usable pairs: too few to hold out {config.eval_pairs} + "
                         f"{config.calib_pairs}")
    evaluation, calibration = sorted(candidates[:config.eval_pairs]), sorted(candidates[config.eval_pairs:held])
    excluded = set(evaluation) | set(calibration)
    training = [i for i in range(len(english)) if i not in excluded][:config.max_train_pairs]
    return evaluation, calibration, training


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def hold_out(out: Path, data: Path | None, flores: Path | None, config: ToyConfig) -> Split:
    """Phase 0: hold out evaluation and calibration pairs before anything reads the source."""
    source, origin = (Path(data), "given") if data else default_data()
    english, swahili = read_moses(source)
    evaluation, calibration, training = split_pairs(english, swahili, config)
    train_folder = out / "data" / "tico19-en-sw"
    write_lines(train_folder / "tico19-train.eng", [english[i] for i in training])
    write_lines(train_folder / "tico19-train.swa", [swahili[i] for i in training])
    heldout = Path(flores).resolve() if flores else out / "heldout"
    if not flores:
        for split, rows in (("devtest", evaluation), ("dev", calibration)):
            write_lines(heldout / split / f"{EN}.{split}", [english[i] for i in rows])
            write_lines(heldout / split / f"{SW}.{split}", [swahili[i] for i in rows])
    pairs = [(english[i], swahili[i]) for i in training if english[i].strip() and swahili[i].strip()]
    return Split(source, origin, len(english), len(training), train_folder, heldout, len(evaluation),
                 len(calibration), pairs)


def train_scorer(out: Path, split: Split, config: ToyConfig) -> tuple[Path, list[float]]:
    """Phase 1: the toy loss scorer (tiny M2M100, NOT NLLB) trained for a fixed number of steps."""
    from xplus.pipelines.toy_models import build_toy_seq2seq, train_toy_seq2seq

    scorer = out / "models" / "toy-scorer-NOT-nllb"
    build_toy_seq2seq(scorer, [t for pair in split.train_pairs for t in pair], vocab_size=600, d_model=64,
                      init_std=0.1, seed=config.seed)
    return scorer, train_toy_seq2seq(scorer, split.train_pairs, EN, SW, steps=config.scorer_steps, seed=config.seed)


def curate(run_dir: Path, split: Split, scorer: Path) -> dict:
    """Phase 2: the bundled `toy-end-to-end` recipe on the training split, run as `xplus curate run` runs a
    recipe (parse_recipe -> stages -> run_stages -> funnel check -> thresholds -> report)."""
    from xplus.curate.accounting import run_funnel
    from xplus.curate.report import RunReport
    from xplus.pipelines.executors import ExecutorOptions, run_stages
    from xplus.pipelines.recipe import parse_recipe
    from xplus.pipelines.run import merge_thresholds

    origin = Path(str(files("xplus.pipelines").joinpath("recipes", "toy-end-to-end.yaml")))
    data = yaml.safe_load(origin.read_text(encoding="utf-8"))
    data["sources"][0].update(path=str(split.train_folder), src_suffix="eng", tgt_suffix="swa")
    data["flores"] = str(split.heldout)
    data["steps"]["loss"] = {**(data["steps"].get("loss") or {}), "model": str(scorer)}
    recipe = parse_recipe(data, str(origin))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    run_stages(recipe.stages(run_dir), run_dir, ExecutorOptions(executor="local", workers=1))
    funnel = run_funnel(run_dir).check()
    merge_thresholds(run_dir)
    report = RunReport(run_dir).write()
    thresholds = run_dir / "loss_thresholds.json"
    blocks = [{"name": b.name, "in": b.total, "out": b.forwarded, "dropped": b.dropped, "reasons": b.reasons}
              for b in funnel.blocks]
    return {"recipe": str(run_dir / "recipe.yaml"), "steps": list(recipe.steps), "notices": recipe.notices,
            "input": funnel.input, "output": funnel.output, "rejected": funnel.rejected,
            "chat_records": funnel.expander.records_out if funnel.expander else 0,
            "reconciles": not funnel.problems(), "blocks": blocks, "table": funnel.table(),
            "loss_model": str(scorer),
            "loss_thresholds": json.loads(thresholds.read_text()) if thresholds.is_file() else {},
            "chats": str(run_dir / "output" / "chat-messages"), "report": str(report)}


def chat_texts(chats: Path) -> list[str]:
    """Every message of the curated chats (what the toy tokenizers are trained on)."""
    import gzip

    texts = []
    for path in sorted(Path(chats).rglob("*.jsonl*")):
        with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as handle:
            texts += [m["content"] for line in handle for m in json.loads(line)["messages"]]
    return texts


def train_models(out: Path, chats: str, texts: list[str], config: ToyConfig) -> tuple[Path, dict]:
    """Phase 3: a random tiny Qwen3 (the base), then `xplus.train` layer-selectively (two stages) and fully,
    with the same chats and the same number of optimizer steps. Returns (base, {name: (TrainConfig, record)})."""
    from xplus.pipelines.toy_models import save_toy_causal_lm
    from xplus.train.config import Stage, TrainConfig
    from xplus.train.trainer import train

    base = save_toy_causal_lm(out / "models" / "base", texts, "qwen3", vocab_size=config.vocab_size,
                              num_layers=config.layers, hidden_size=config.hidden_size, seed=config.seed,
                              initializer_range=config.init_std)
    common = dict(model=str(base), data=chats, learning_rate=config.learning_rate, min_lr=config.learning_rate / 10,
                  warmup_ratio=0.03, per_device_batch_size=config.batch_size, gradient_accumulation_steps=1,
                  max_length=config.max_length, bf16=False, logging_steps=1, report_to=[], seed=config.seed,
                  max_samples=config.max_train_chats)
    stages = {"layer-selective": [Stage(spec, config.epochs_per_stage) for spec in config.stages],
              "full": [Stage("all", config.epochs_per_stage * len(config.stages))]}
    trained = {}
    for name, method_stages in stages.items():
        train_config = TrainConfig(output_dir=str(out / "models" / name), method=name, stages=method_stages,
                                   **common)
        trained[name] = (train_config, train(train_config))
    return base, trained


def tiny_xcomet(out: Path, comet_env: Path | None, texts: list[str]) -> tuple[Path | None, str | None]:
    """A tiny random XCOMET built with the comet environment's python, when that environment is ready; else
    (None, why it was skipped)."""
    from xplus.evaluate.comet.env import default_env_path, env_python, is_ready
    from xplus.pipelines.toy_models import toy_xcomet_command

    env = Path(comet_env) if comet_env else default_env_path()
    if not is_ready(env):
        return None, (f"xCOMET skipped: the isolated comet environment {env} does not exist or is incomplete "
                      f"(create it with `xplus evaluate setup-comet --path {env}`, or pass --comet-env)")
    text = write_lines(out / "xcomet-spm.txt", texts)
    done = subprocess.run(toy_xcomet_command(env_python(env), out / "tiny-xcomet", text), capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        return None, f"xCOMET skipped: building the tiny XCOMET checkpoint failed: {done.stderr[-2000:]}"
    return out / "tiny-xcomet", None


def xplus(*argv: str) -> None:
    """Run an `xplus` command in this process, as a user types it; a non-zero exit is an error here."""
    from xplus.pipelines.cli import main

    code = main([str(arg) for arg in argv])
    if code:
        raise RuntimeError(f"`xplus {' '.join(map(str, argv))}` exited with {code} (its error is above)")


def translate(eval_dir: Path, model: Path, heldout: Path, config: ToyConfig, limit: int | None,
              xcomet: Path | None, comet_env: Path | None) -> None:
    """Phase 4: `xplus evaluate translate` on the held-out pairs (chrF++; xCOMET with the tiny checkpoint)."""
    codes = sorted({code for d in config.directions for code in parse_direction(d)})
    args = ["evaluate", "translate", "--model", model, "--flores", heldout, "--split", "devtest", "-o", eval_dir,
            "--languages", *codes, "--directions", *config.directions, "--metrics", "chrf++", "--device", "cpu",
            "--dtype", "float32", "--batch-size", "32", "--max-new-tokens", config.max_new_tokens]
    args += ["--limit", limit] if limit else []
    args += ["--xcomet", xcomet, "--comet-batch-size", "16"] + (["--comet-env", comet_env] if comet_env else []) \
        if xcomet else []
    xplus(*args)
