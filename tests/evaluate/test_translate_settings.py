"""`xplus evaluate translate`, `evaluate retention` and `curate run` flags are their settings dataclasses' fields
(`xplus.curate.config_flags`): one flag per field, with its help, parsed into the field's type."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from tests.curate.test_config_flags import remade
from xplus.curate.config_flags import add_config_flags, config_from_args, flag_name
from xplus.evaluate.retention import RetentionSettings
from xplus.evaluate.translate import add_translate_arguments
from xplus.evaluate.translate_settings import TranslateSettings
from xplus.pipelines.cli import build_parser, main
from xplus.pipelines.executor_options import ExecutorOptions
from xplus.pipelines.run import RunOptions


def _subcommand(*path: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


def _flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings if action.dest != "help"}


def _field_flags(cls: type) -> set[str]:
    """The long flag of every field of `cls` that has one."""
    return {flag_name(f.name, f.metadata) for f in dataclasses.fields(cls) if f.metadata.get("cli", True)}


def test_translate_flags_are_the_settings_fields():
    flags = _flags(_subcommand("evaluate", "translate"))
    long_flags = {flag for flag in flags if flag.startswith("--")}
    assert long_flags == _field_flags(TranslateSettings)
    assert all(action.help for action in flags.values())
    # the names the README and the end-to-end toy use, with their meaning
    assert flags["-o"] is flags["--output"] and flags["-o"].dest == "output" and flags["-o"].required
    revision = flags["--flores-revision"]
    assert revision.dest == "flores_revision" and "FLORES Hub dataset" in revision.help
    assert flags["--split"].choices == ("dev", "devtest") and flags["--backend"].choices == ("hf", "vllm")


def test_translate_flags_parse_into_typed_settings():
    args = build_parser().parse_args([
        "evaluate", "translate", "--model", "m", "--flores", "/data/flores200", "-o", "evals/x", "--languages", "en",
        "sw", "--directions", "en-x", "zh-sw", "--limit", "3", "--batch-size", "2", "--max-new-tokens", "6",
        "--metrics", "chrf++", "--comet-batch-size", "4", "--comet-env", "/envs/comet", "--overwrite"])
    settings = config_from_args(TranslateSettings, args)
    assert settings == TranslateSettings(
        model="m", flores="/data/flores200", output=Path("evals/x"), languages=("en", "sw"),
        directions=("en-x", "zh-sw"), limit=3, batch_size=2, max_new_tokens=6, metrics=("chrf++",), comet_batch_size=4,
        comet_env=Path("/envs/comet"), overwrite=True)
    assert isinstance(settings.output, Path) and isinstance(settings.batch_size, int)
    defaults = config_from_args(TranslateSettings, build_parser().parse_args(
        ["evaluate", "translate", "--model", "m", "--flores", "f", "-o", "o"]))
    assert defaults == TranslateSettings(model="m", flores="f", output=Path("o"))
    assert defaults.directions == ("en-x", "x-en") and defaults.split == "devtest" and defaults.metrics[0] == "spbleu"


def test_a_translate_settings_change_changes_its_flag():
    """A field removed is a flag gone; a field's type changed is the flag's parsed type changed."""
    parser = argparse.ArgumentParser()
    add_translate_arguments(parser)
    assert "--comet-batch-size" in _flags(parser)
    fewer = argparse.ArgumentParser()
    add_config_flags(fewer, remade(TranslateSettings, drop="comet_batch_size"))
    assert "--comet-batch-size" not in _flags(fewer) and "--batch-size" in _flags(fewer)
    argv = ["--model", "m", "--flores", "f", "-o", "o", "--batch-size", "4"]
    assert parser.parse_args(argv).batch_size == 4
    changed = argparse.ArgumentParser()
    add_config_flags(changed, remade(TranslateSettings, batch_size=float))
    value = changed.parse_args(argv).batch_size
    assert value == 4.0 and isinstance(value, float)
    settings = config_from_args(TranslateSettings, parser.parse_args(argv))  # the copy left the original as it was
    assert settings.batch_size == 4 and isinstance(settings.batch_size, int)


def test_flores_revision_reaches_the_flores_source(tmp_path, capsys):
    """`--flores-revision` is the FLORES dataset's revision: a Hub id without one is refused before any model."""
    code = main(["evaluate", "translate", "--model", str(tmp_path / "none"), "--flores", "org/flores200",
                 "-o", str(tmp_path / "run")])
    assert code == 1 and "needs a pinned revision" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_retention_settings_flags_are_its_fields():
    flags = _flags(_subcommand("evaluate", "retention"))
    fields = _field_flags(RetentionSettings)
    assert fields <= set(flags) and {"--batch-size", "--num-fewshot", "--max-gen-toks", "--seed"} <= fields
    args = build_parser().parse_args(["evaluate", "retention", "--base", "b", "--tuned", "t", "--batch-size", "3",
                                      "--limit", "5", "--device", "cpu", "--max-gen-toks", "32"])
    assert config_from_args(RetentionSettings, args) == RetentionSettings(batch_size=3, limit=5, device="cpu",
                                                                          max_gen_toks=32)


def test_curate_run_flags_are_run_and_executor_options():
    flags = _flags(_subcommand("curate", "run"))
    long_flags = {flag for flag in flags if flag.startswith("--")}
    assert long_flags == _field_flags(RunOptions) | _field_flags(ExecutorOptions)
    assert {"--venv", "--progress-every", "--cpus-per-task", "--no-wait", "--keep-work", "--tasks"} <= long_flags
    assert flags["-o"].dest == "output" and flags["--venv"].dest == "venv_path"
    args = build_parser().parse_args(["curate", "run", "demo", "--executor", "slurm", "--partition", "p",
                                      "--venv", "/env/bin/activate", "--progress-every", "5", "--mem-per-cpu-gb", "4"])
    options = config_from_args(ExecutorOptions, args)
    assert (options.executor, options.partition, options.venv_path) == ("slurm", "p", "/env/bin/activate")
    assert options.progress_interval_s == 5.0 and options.mem_per_cpu_gb == 4 and options.workers == -1
    assert config_from_args(RunOptions, args) == RunOptions()
