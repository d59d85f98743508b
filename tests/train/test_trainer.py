"""The training loop (`xplus.train.trainer`) on tiny random Qwen3 and Llama models, on CPU."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from packaging.version import Version
from safetensors.torch import load_file

from xplus.pipelines.toy_models import toy_causal_lm
from xplus.train import trainer
from xplus.train.config import TrainConfig
from xplus.train.model import layer_parameters
from xplus.train.trainer import make_scheduler, train

from .conftest import save_model, write_chat_records

STAGES = ["bottom:2", "top:3"]  # of 8 layers: 0-1, then 5-7


def config(model_dir, data, out, **kw) -> TrainConfig:
    base = dict(model=str(model_dir), data=str(data), output_dir=str(out), stages=STAGES, learning_rate=1e-3,
                min_lr=1e-4, logging_steps=1, report_to=[], seed=0)
    return TrainConfig(**{**base, **kw})


def initial_state(model_dir):
    return load_file(str(model_dir / "model.safetensors"))


@pytest.fixture(scope="module")
def two_stage_run(tmp_path_factory, tiny_model_dir, chat_file):
    """A two-stage run with the model's full state captured after each stage."""
    after = []
    original = trainer.run_stage

    def recording(*args, **kwargs):
        wrapped = original(*args, **kwargs)
        after.append({k: v.detach().clone() for k, v in args[1].state_dict().items()})
        return wrapped

    out = tmp_path_factory.mktemp("run")
    mp = pytest.MonkeyPatch()
    mp.setattr(trainer, "run_stage", recording)
    try:
        record = train(config(tiny_model_dir, chat_file, out, save_steps=5))
    finally:
        mp.undo()
    return out, record, after


def test_frozen_parameters_are_bit_identical_after_each_stage(two_stage_run, tiny_model_dir):
    out, record, after = two_stage_run
    start = initial_state(tiny_model_dir)
    model = toy_causal_lm("qwen3" if "qwen3" in tiny_model_dir.name else "llama", 8)
    stage_names = [set(layer_parameters(model, layers)) for layers in ([0, 1], [5, 6, 7])]
    assert [s["layers"] for s in record["stages"]] == [[0, 1], [5, 6, 7]]
    for stage, state in enumerate(after):
        trained = stage_names[stage]
        earlier = set().union(*stage_names[:stage])
        for name, value in state.items():
            if name in trained:
                assert not torch.equal(value, start[name]), f"stage {stage + 1} left trainable {name} unchanged"
            elif name in earlier:
                assert torch.equal(value, after[stage - 1][name]), f"stage {stage + 1} changed frozen {name}"
            else:
                assert torch.equal(value, start[name]), f"stage {stage + 1} changed frozen {name}"
    frozen = [n for n in start if not any(n in s for s in stage_names)]
    assert {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"} <= set(frozen)
    final = load_file(str(out / "model.safetensors"))
    assert all(torch.equal(final[k], after[-1][k]) for k in final)


def test_optimizer_holds_state_only_for_trainable_parameters(two_stage_run, tiny_model_dir):
    out, record, _ = two_stage_run
    for name, trainable in (("stage1-step5", record["stages"][0]), ("stage2-step3", record["stages"][1])):
        state = torch.load(out / "checkpoints" / name / "optimizer.pt", weights_only=True)
        sizes = [v["exp_avg"].numel() for v in state["state"].values()]
        assert sum(sizes) == trainable["trainable_parameters"]
        assert len(state["param_groups"][0]["params"]) == len(state["state"])
        weights = load_file(str(out / "checkpoints" / name / "weights.safetensors"))
        assert all(".layers." in k for k in weights)  # checkpoints hold trained layers only


def test_logged_learning_rates_follow_warmup_then_cosine_to_min(two_stage_run):
    out, _, _ = two_stage_run
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    for stage in (1, 2):
        logged = {r["step"]: r["lr"] for r in rows if r["stage"] == stage}
        total = len(logged)  # 24 chats, batch 1, accumulation 2 -> 12 steps
        assert total == 12
        for step, lr in logged.items():  # lr used by optimizer step `step` (1-based) is the schedule at step-1
            assert lr == pytest.approx(expected_lr(step - 1, total, 1e-3, 1e-4, 0.03), rel=1e-9, abs=1e-15)


def expected_lr(step: int, total: int, peak: float, floor: float, warmup_ratio: float) -> float:
    warmup = math.ceil(warmup_ratio * total)
    if step < warmup:
        return peak * step / warmup
    progress = (step - warmup) / (total - warmup)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def test_schedule_matches_formula_at_paper_scale():
    """1,000 steps at the paper's lr 1e-5 -> 2e-6, warmup 3%: sampled steps equal the closed form."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-5)
    scheduler = make_scheduler(optimizer, 1000, TrainConfig(model="m", data="d"))
    lrs = []
    for _ in range(1000):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    for step in (0, 1, 15, 29, 30, 31, 100, 500, 999):
        assert lrs[step] == pytest.approx(expected_lr(step, 1000, 1e-5, 2e-6, 0.03), rel=1e-9, abs=1e-15)
    assert lrs[30] == pytest.approx(1e-5) and lrs[-1] == pytest.approx(2e-6, rel=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", ["stage1-step5", "stage1-step12", "stage2-step3"])
def test_resume_reproduces_the_uninterrupted_run_exactly(two_stage_run, tiny_model_dir, chat_file, tmp_path,
                                                         checkpoint):
    """Resuming mid-stage 1, between the stages and mid-stage 2 gives the uninterrupted run's final weights.
    Tolerance: none (bit-identical), on CPU in one process."""
    out, _, _ = two_stage_run
    (tmp_path / "checkpoints").mkdir()
    shutil.copytree(out / "checkpoints" / checkpoint, tmp_path / "checkpoints" / checkpoint)
    (tmp_path / "checkpoints" / "latest").write_text(checkpoint)
    train(config(tiny_model_dir, chat_file, tmp_path, save_steps=5), resume=True)
    expected, resumed = load_file(str(out / "model.safetensors")), load_file(str(tmp_path / "model.safetensors"))
    assert expected.keys() == resumed.keys()
    assert all(torch.equal(expected[k], resumed[k]) for k in expected)


class _RunsCode:
    """Pickles as a call to `os.system`: what a hostile checkpoint file would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("part", ["optimizer.pt", "scheduler.pt", "rng-0.pt"])
def test_resume_refuses_a_checkpoint_whose_pickle_would_run_code(two_stage_run, tiny_model_dir, chat_file, tmp_path,
                                                                  part):
    """Every state file xplus writes loads with weights_only=True; a file carrying a code-running pickle
    payload is refused before anything is restored, and the payload never runs."""
    from xplus.curate.errors import DataError
    from xplus.train.checkpoint import UnsafeCheckpointError

    out, _, _ = two_stage_run
    for name in ("optimizer.pt", "scheduler.pt", "rng-0.pt"):
        torch.load(out / "checkpoints" / "stage1-step5" / name, weights_only=True)
    (tmp_path / "checkpoints").mkdir()
    shutil.copytree(out / "checkpoints" / "stage1-step5", tmp_path / "checkpoints" / "stage1-step5")
    (tmp_path / "checkpoints" / "latest").write_text("stage1-step5")
    marker = tmp_path / "payload-ran"
    hostile = tmp_path / "checkpoints" / "stage1-step5" / part
    torch.save({"state": {}, "param_groups": [], "payload": _RunsCode(marker)}, hostile)
    with pytest.raises(UnsafeCheckpointError, match=rf"{part}: refused: .*\(posix\.system\)") as err:
        train(config(tiny_model_dir, chat_file, tmp_path, save_steps=5), resume=True)
    assert isinstance(err.value, DataError) and str(hostile) in str(err.value)
    assert not marker.exists()


def test_overlapping_or_impossible_stages_are_clear_errors(qwen3_dir, chat_file, tmp_path):
    with pytest.raises(ValueError, match=r"stages 1 \(bottom:4\) and 2 \(top:5\) both train layers 3 of 8"):
        train(config(qwen3_dir, chat_file, tmp_path, stages=["bottom:4", "top:5"]))
    with pytest.raises(ValueError, match="stage 2: layer term 'top:15'.*8 layers"):
        train(config(qwen3_dir, chat_file, tmp_path, stages=["bottom:4", "top:15"]))


def test_lora_trains_adapters_and_saves_a_merged_model(qwen3_dir, chat_file, tmp_path):
    record = train(config(qwen3_dir, chat_file, tmp_path, method="lora", stages=["top:2"], max_samples=8))
    # r=16 adapters on the 7 linear maps of layers 6-7: q (64->64), k, v (64->32), o (64->64), gate, up (64->128),
    # down (128->64); each adds r * (in + out)
    assert record["stages"][0]["trainable_parameters"] == 2 * 16 * (128 + 96 + 96 + 128 + 192 + 192 + 192)
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()
    merged = load_file(str(tmp_path / "model.safetensors"))
    start = initial_state(qwen3_dir)
    assert merged.keys() == start.keys()
    q0 = "model.layers.0.self_attn.q_proj.weight"  # no adapter below the top 2 layers
    assert torch.equal(merged[q0], start[q0])


@pytest.mark.slow
def test_loss_falls_on_a_toy_translation_task(pairs, tmp_path):
    """English -> Swahili TICO-19 pairs, 2 layer-selective stages: the token loss falls clearly. (The random
    lm_head is frozen, so it is initialised wide enough for logits to be able to peak.)"""
    model_dir = save_model(tmp_path / "model", "qwen3", pairs, initializer_range=0.2)
    data = write_chat_records(tmp_path / "chat.jsonl", pairs[:120])
    record = train(config(model_dir, data, tmp_path / "out", learning_rate=1e-2, min_lr=1e-3,
                          stages=[{"layers": "bottom:2", "epochs": 1}, {"layers": "top:6", "epochs": 2}]))
    rows = [json.loads(line)["loss"] for line in (tmp_path / "out" / "train_log.jsonl").read_text().splitlines()]
    first, last = sum(rows[:10]) / 10, sum(rows[-10:]) / 10
    assert last < first - 1.0, (first, last)
    meta = json.loads((tmp_path / "out" / "xplus_training.json").read_text())
    assert meta["data"]["sha256"] == record["data"]["sha256"]
    # the same form on both sides: the wheel's metadata says 2.14.1 where torch.__version__ says 2.14.1+cu130
    assert Version(meta["versions"]["torch"]).base_version == Version(torch.__version__).base_version
