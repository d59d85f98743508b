"""Bad configs through the real command line (`xplus` as a subprocess): each error is one line on stderr naming
the file and the key, exit 2 for usage and config errors, 1 for data errors, nothing made on disk; the
traceback only with `--debug`. And the paper's training config, written as in the paper, parses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xplus.train.config import TrainConfig, load_config


def xplus(*args: str, cwd: Path | None = None) -> tuple[int, list[str], list[str]]:
    done = subprocess.run([sys.executable, "-m", "xplus.pipelines.cli", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)
    return done.returncode, done.stdout.splitlines(), done.stderr.splitlines()


@pytest.fixture
def moses(tmp_path) -> Path:
    folder = tmp_path / "moses"
    folder.mkdir()
    (folder / "c.en").write_text("one two three\nfour five six\n")
    (folder / "c.de").write_text("eins zwei drei\nvier fünf sechs\n")
    return folder


def recipe(tmp_path: Path, moses: Path, source: str = "src_lang: en, tgt_lang: de", steps: str = "{}") -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(f"sources:\n  - {{reader: moses, path: {moses}, {source}}}\nsteps: {steps}\n")
    return path


def test_wrong_type_in_a_recipe_is_one_line_exit_2(tmp_path, moses):
    path = recipe(tmp_path, moses, steps="{clean: {}, length: {min_units: two}}")
    code, out, err = xplus("curate", "run", str(path), "-o", str(tmp_path / "run"))
    assert (code, out) == (2, [])
    assert err == [f"xplus: error: {path}:3: steps.length.min_units: expected an integer, got 'two'"]
    assert not (tmp_path / "run").exists()


def test_same_language_on_both_sides_names_file_and_key_before_any_run_folder(tmp_path, moses):
    path = recipe(tmp_path, moses, source="src_lang: en, tgt_lang: eng_Latn")
    code, out, err = xplus("curate", "run", str(path), "-o", str(tmp_path / "run"))
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith(f"xplus: error: {path}:2: sources[0].tgt_lang: 'eng_Latn' is the same language as "
                             f"src_lang 'en' (eng_Latn)")
    assert not (tmp_path / "run").exists()
    code, _, err = xplus("curate", "run", str(recipe(tmp_path, moses)), "-o", str(tmp_path / "run"))
    assert code == 0, err[-5:]  # the fixed recipe runs: nothing half-made blocks it


def test_out_of_range_and_misordered_steps_are_refused(tmp_path, moses):
    path = recipe(tmp_path, moses, steps="{length: {min_ratio: 1.5}}")
    assert xplus("curate", "run", str(path))[::2] == (2, [f"xplus: error: {path}:3: steps.length: min_ratio must "
                                                          f"be in (0, 1], got 1.5"])
    path = recipe(tmp_path, moses, steps="{template: {}, clean: {}}")
    code, _, err = xplus("curate", "run", str(path))
    assert code == 2 and len(err) == 1 and "steps.template: must be the last step" in err[0]


def test_debug_shows_the_traceback(tmp_path, moses):
    path = recipe(tmp_path, moses, steps="{length: {min_units: two}}")
    code, _, err = xplus("--debug", "curate", "run", str(path))
    assert code == 1 and err[0] == "Traceback (most recent call last):" and "RecipeError" in err[-1]


def test_usage_errors_are_one_line(tmp_path):
    for args in (["curate", "run"], ["train", "run", "--method", "bitfit"], ["nope"]):
        code, out, err = xplus(*args)
        assert (code, out, len(err)) == (2, [], 1), (args, err)
        assert "--help" in err[0]


def test_missing_local_model_path_is_named(tmp_path):
    code, _, err = xplus("train", "run", "--model", str(tmp_path / "no-model"), "--data", str(tmp_path))
    assert (code, len(err)) == (2, 1)
    assert f"{tmp_path / 'no-model'}: no such file or folder" in err[0] and "alphanumeric" not in err[0]
    code, _, err = xplus("train", "layers", "--model", "./models/no-such")
    assert (code, len(err)) == (2, 1) and "./models/no-such: no such file or folder" in err[0]


def test_training_config_errors_are_one_line(tmp_path):
    config = tmp_path / "train.yaml"
    for text, message in [("learning_rate: fast\n", ":3: learning_rate: expected a number, got 'fast'"),
                          ("learning_rat: 1e-5\n", ":3: learning_rat: unknown key (did you mean 'learning_rate'?)"),
                          ("stages:\n  - bottom:2\n  - {layers: top:2, epochs: x}\n",
                           ":5: stages[1].epochs: expected an integer, got 'x'"),
                          ("lora: {r: 8, rank: 4}\n", ":3: lora.rank: unknown key"),
                          ("min_lr: 1e-3\n", ": min_lr 0.001 must lie between 0 and learning_rate 1e-05")]:
        config.write_text(f"model: m\ndata: {tmp_path}\n{text}")
        code, out, err = xplus("train", "run", str(config))
        assert (code, out) == (2, []) and err == [f"xplus train run: error: {config}{message}"]


def test_data_error_ends_in_one_line_exit_1(tmp_path, moses):
    """A Moses pair with unequal line counts fails inside the datatrove task (316 lines of traceback before): the
    command ends with one line naming the files, exit 1; the traceback stays in the task's log file."""
    (moses / "c.de").write_text("eins zwei drei\n")
    code, _, err = xplus("curate", "run", str(recipe(tmp_path, moses)), "-o", str(tmp_path / "run"))
    assert code == 1
    assert err[-1].startswith("xplus: error: ") and f"{moses / 'c.en'} has 2 lines" in err[-1]
    assert not any("Traceback" in line for line in err) and len(err) < 20, err
    (task_log,) = (tmp_path / "run" / "logs").glob("*/logs/task_00000.log")
    assert "Traceback" in task_log.read_text()


def test_paper_training_config_parses_as_written(tmp_path):
    """The paper's values as the paper writes them: PyYAML reads `1e-5` and `2e-6` as strings."""
    text = "model: Qwen/Qwen3-8B\ndata: chats\nlearning_rate: 1e-5\nmin_lr: 2e-6\nwarmup_ratio: 0.03\n"
    assert yaml.safe_load(text)["learning_rate"] == "1e-5"
    (tmp_path / "paper.yaml").write_text(text)
    config = load_config(tmp_path / "paper.yaml")
    assert (config.learning_rate, config.min_lr, config.warmup_ratio) == (1e-5, 2e-6, 0.03)
    assert all(isinstance(v, float) for v in (config.learning_rate, config.min_lr, config.warmup_ratio))
    assert [s.layers for s in config.stages] == ["bottom:4", "top:15"]
    assert config == TrainConfig(model="Qwen/Qwen3-8B", data="chats")  # the defaults are the paper's


def test_os_errors_are_one_line_naming_the_path(tmp_path):
    (tmp_path / "a-file").write_text("")
    code, out, err = xplus("curate", "run", "demo", "-o", str(tmp_path / "a-file" / "run"))
    assert (code, err) == (1, [f"xplus: error: {tmp_path / 'a-file' / 'run'}: Not a directory"])


def test_describe_error_renders_os_errors_and_keeps_bugs():
    import errno

    from xplus.curate.errors import ConfigError, DataError
    from xplus.pipelines.cli import describe_error

    assert describe_error(ConfigError("r.yaml:3: steps: bad")) == ("r.yaml:3: steps: bad", 2)
    assert describe_error(DataError("https://x/y.gz: HTTP 404")) == ("https://x/y.gz: HTTP 404", 1)
    assert describe_error(PermissionError(errno.EACCES, "Permission denied", "/ro/out")) == (
        "/ro/out: Permission denied", 1)
    assert describe_error(IsADirectoryError(errno.EISDIR, "Is a directory", "/data")) == ("/data: Is a directory", 1)
    message, code = describe_error(OSError(errno.ENOSPC, "No space left on device", "/full/part.jsonl"))
    assert code == 1 and message.startswith("/full/part.jsonl: No space left on device")
    assert describe_error(OSError("no model at m\nline 2\nline 3\nline 4")) == ("no model at m\nline 2\nline 3", 1)
    assert describe_error(KeyError("a bug")) is None  # a bug keeps its traceback
