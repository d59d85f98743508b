"""`xplus train run|sensitivity|sweep|suggest`, the sensitivity tools, and a 2-process `accelerate launch`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from xplus.pipelines.cli import main
from xplus.train.config import TrainConfig, load_config
from xplus.train.sensitivity import suggest


def test_run_from_yaml_with_flag_overrides(qwen3_dir, chat_file, tmp_path, capsys):
    config = tmp_path / "recipe.yaml"
    config.write_text(f"model: {qwen3_dir}\ndata: {chat_file}\nstages: [bottom:1, {{layers: top:2}}]\n"
                      f"learning_rate: 1.0e-3\nreport_to: []\nmax_samples: 6\n")
    out = tmp_path / "out"
    assert main(["train", "run", str(config), "-o", str(out), "--min-lr", "1e-4"]) == 0
    printed = capsys.readouterr().out
    assert "stage 1: bottom:1 -> layers 0 (1 of 8)" in printed and "stage 2: top:2 -> layers 6-7" in printed
    assert "effective global batch: 1 per device x 2 accumulation x 1 process(es) = 2" in printed
    assert "data: 6 records -> 6 examples" in printed
    meta = json.loads((out / "xplus_training.json").read_text())
    assert meta["hyperparameters"]["min_lr"] == 1e-4 and meta["stages"][1]["layers"] == [6, 7]


def test_config_errors_name_the_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: m\ndata: d\nlearning_rat: 1e-5\n")
    with pytest.raises(ValueError, match="unknown key.*learning_rat"):
        load_config(bad)
    assert main(["train", "run", "--model", "m"]) == 2
    assert "give a CONFIG file or both --model and --data" in capsys.readouterr().err
    with pytest.raises(ValueError, match="method 'full' trains every parameter"):
        TrainConfig(model="m", data="d", method="full", stages=["top:2"])


def test_train_flags_are_the_config_fields(tmp_path):
    """One flag per TrainConfig field (lora: YAML only), each with its help, parsed into that field."""
    import argparse
    import dataclasses

    from xplus.pipelines.cli import build_parser
    from xplus.train.cli import YAML_ONLY, _config

    parser = build_parser()
    train = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    run = next(a for a in train._actions if isinstance(a, argparse._SubParsersAction)).choices["run"]
    flags = {action.dest: action for action in run._actions if action.option_strings}
    fields = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in YAML_ONLY]
    assert set(fields) <= set(flags) and all(flags[name].help for name in fields)
    args = parser.parse_args(["train", "run", "--model", "m", "--data", "d", "-o", str(tmp_path), "--learning-rate",
                              "2e-5", "--stages", "bottom:1", "top:2", "--no-bf16", "--report-to", "--max-samples", "8",
                              "--warmup-ratio", "0.1", "--attn-implementation", "sdpa"])
    config = _config(args)
    assert (config.learning_rate, config.bf16, config.report_to, config.max_samples) == (2e-5, False, [], 8)
    assert (config.output_dir, config.warmup_ratio, config.attn_implementation) == (str(tmp_path), 0.1, "sdpa")
    assert [s.layers for s in config.stages] == ["bottom:1", "top:2"]


def test_gradient_sensitivity_on_flores_and_suggest(qwen3_dir, shared_data, tmp_path, capsys):
    output = tmp_path / "norms.json"
    assert main(["train", "sensitivity", "--model", str(qwen3_dir), "--flores", str(shared_data / "flores200"),
                 "--directions", "eng_Latn-swh_Latn", "deu_Latn-eng_Latn", "--pairs", "3", "--extra", "o",
                 "-o", str(output)]) == 0
    norms = json.loads(output.read_text())
    assert output.with_suffix(".png").stat().st_size > 5000
    assert norms["modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert set(norms["directions"]) == {"eng_Latn-swh_Latn", "deu_Latn-eng_Latn"}
    values = norms["directions"]["eng_Latn-swh_Latn"]
    assert values["pairs"] == 3 and all(len(values[m]) == 8 and min(values[m]) > 0 for m in norms["modules"])
    # the norms are nuclear norms (sums of singular values) of each pair's gradient, averaged over the pairs:
    # recomputed here with the model's own loss on the same FLORES pairs; Frobenius norms would be smaller
    from transformers import AutoModelForCausalLM

    from xplus.train.data import build_examples, collate
    from xplus.train.model import load_tokenizer
    from xplus.train.sensitivity import flores_records

    tokenizer = load_tokenizer(str(qwen3_dir))
    model = AutoModelForCausalLM.from_pretrained(str(qwen3_dir), dtype=torch.float32)
    records = flores_records(shared_data / "flores200", ["eng_Latn-swh_Latn"], 3)["eng_Latn-swh_Latn"]
    nuclear, frobenius = torch.zeros(8), torch.zeros(8)
    for example in build_examples(tokenizer, records, 512)[0]:
        model.zero_grad()
        model(**collate([example], 0)).loss.backward()
        grads = [layer.self_attn.q_proj.weight.grad for layer in model.model.layers]
        nuclear += torch.stack([torch.linalg.svdvals(g).sum() for g in grads]) / 3
        frobenius += torch.stack([g.norm() for g in grads]) / 3
    assert torch.allclose(torch.tensor(values["q_proj"]), nuclear, rtol=1e-3)
    assert (nuclear > 1.5 * frobenius).all()
    capsys.readouterr()
    assert main(["train", "suggest", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "suggested stages: bottom:1" in printed and "are sensitive" in printed


def test_suggest_skips_the_most_sensitive_middle_layers():
    scores = [1.0] * 36
    scores[5], scores[25], scores[30] = 9.0, 8.0, 7.0  # layer 5 is outside both windows
    norms = {"num_layers": 36, "mean": {"q_proj": scores, "k_proj": scores}}
    specs, reasons = suggest(norms, quantile=0.9)
    assert specs == ["bottom:4", "top:15,skip:25,skip:30"]
    assert any("skips sensitive 25,30" in line for line in reasons)


@pytest.mark.slow
def test_single_layer_sweep(qwen3_dir, chat_file, tmp_path):
    output = tmp_path / "sweep.json"
    assert main(["train", "sweep", "--model", str(qwen3_dir), "--data", str(chat_file), "--max-samples", "8",
                 "--learning-rate", "1e-2", "--layers", "0,4,7", "--heldout", str(chat_file), "--heldout-samples", "8",
                 "--output-dir", str(tmp_path / "run"), "-o", str(output)]) == 0
    sweep = json.loads(output.read_text())
    assert sweep["layers"] == [0, 4, 7] and len(sweep["scores"]) == 3
    assert all(s != sweep["baseline"] for s in sweep["scores"])
    assert output.with_suffix(".png").is_file()


@pytest.mark.slow
def test_two_process_cpu_run_through_accelerate_launch(qwen3_dir, chat_file, tmp_path):
    out = tmp_path / "out"
    # `--multi_gpu` selects the torchrun launcher; ACCELERATE_USE_CPU makes accelerate run DDP on CPU over gloo
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "ACCELERATE_USE_CPU": "true"}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "-m", "xplus.pipelines.cli", "train", "run", "--model", str(qwen3_dir), "--data", str(chat_file),
               "--stages", "bottom:2", "top:3", "--learning-rate", "1e-3", "-o", str(out), "--max-samples", "16"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((out / "xplus_training.json").read_text())
    assert meta["num_processes"] == 2 and meta["effective_global_batch"] == 4
    assert [s["layers"] for s in meta["stages"]] == [[0, 1], [5, 6, 7]]
    start, final = load_file(str(qwen3_dir / "model.safetensors")), load_file(str(out / "model.safetensors"))
    for name in start:
        changed = not torch.equal(start[name], final[name])
        assert changed == any(f"layers.{i}." in name for i in (0, 1, 5, 6, 7)), name
