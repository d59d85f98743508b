"""Flags made from config dataclasses (`xplus.curate.config_flags`), and the whole `xplus` command line: every
option has help, `-o` is the output folder everywhere (one documented exception), and a flag spelled the same in
two commands parses the same kind of value."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Literal

import pytest

from xplus.curate.config_flags import add_config_flags, config_from_args, flag_field
from xplus.curate.errors import ConfigError


@dataclasses.dataclass(frozen=True, kw_only=True)
class Sample:
    name: str = flag_field(help="a name")
    count: int = flag_field(3, help="how many", metavar="N")
    ratio: float = flag_field(0.5, help="a share")
    folder: Path = flag_field(Path("out"), help="where it goes", short="-o")
    mode: Literal["fast", "slow"] = flag_field("fast", help="speed")
    codes: tuple[str, ...] = flag_field(("en", "sw"), help="languages")
    sizes: tuple[int, ...] | None = flag_field(None, help="sizes (default: all)")
    limit: int | None = flag_field(None, help="at most N")
    dry_run: bool = flag_field(False, help="do nothing")
    color: bool = flag_field(True, help="colored output")
    secret: dict | None = dataclasses.field(default=None, metadata={"cli": False})


def _parser(cls, **kwargs) -> tuple[argparse.ArgumentParser, dict[str, argparse.Action]]:
    parser = argparse.ArgumentParser()
    add_config_flags(parser, cls, **kwargs)
    return parser, {action.dest: action for action in parser._actions if action.dest != "help"}


def test_each_field_is_a_flag_of_its_type_default_and_help():
    parser, actions = _parser(Sample)
    assert set(actions) == {f.name for f in dataclasses.fields(Sample)} - {"secret"}
    assert actions["folder"].option_strings == ["-o", "--folder"] and actions["dry_run"].option_strings == ["--dry-run"]
    assert actions["name"].required and not actions["count"].required
    assert actions["count"].help == "how many (default: 3)" and actions["count"].metavar == "N"
    assert actions["codes"].help == "languages (default: en sw)" and actions["sizes"].help == "sizes (default: all)"
    assert actions["limit"].help == "at most N" and actions["dry_run"].help == "do nothing"
    assert actions["mode"].choices == ("fast", "slow")
    assert isinstance(actions["color"], argparse.BooleanOptionalAction)
    args = parser.parse_args(["--name", "x", "--count", "4", "--ratio", "0.25", "-o", "runs", "--mode", "slow",
                              "--codes", "de", "fr", "--sizes", "1", "2", "--limit", "7", "--dry-run", "--no-color"])
    assert (args.count, args.ratio, args.folder, args.limit, args.sizes) == (4, 0.25, Path("runs"), 7, [1, 2])
    assert (args.dry_run, args.color, args.mode) == (True, False, "slow")
    with pytest.raises(SystemExit):
        parser.parse_args(["--name", "x", "--mode", "medium"])
    sample = config_from_args(Sample, args)  # validated like a YAML config: lists become the tuples asked for
    assert sample == Sample(name="x", count=4, ratio=0.25, folder=Path("runs"), mode="slow", codes=("de", "fr"),
                            sizes=(1, 2), limit=7, dry_run=True, color=False)
    defaults = config_from_args(Sample, parser.parse_args(["--name", "x"]))
    assert defaults == Sample(name="x")


def test_a_field_type_change_changes_the_parsed_type():
    for annotation, parsed in ((int, 2), (float, 2.0), (str, "2"), (Path, Path("2")), (tuple[int, ...], [2])):
        cls = dataclasses.make_dataclass("Changed", [("n", annotation, flag_field(1, help="n"))])
        value = _parser(cls)[0].parse_args(["--n", "2"]).n
        assert value == parsed and type(value) is type(parsed), annotation


def remade(cls: type, drop: str = "", **annotations: type) -> type:
    """A copy of the dataclass `cls` without its field `drop`, other fields' annotations replaced by `annotations`
    (copies of the fields: `make_dataclass` would rename and retype the ones it is given)."""
    hints = {**typing.get_type_hints(cls), **annotations}
    kept = [(f.name, hints[f.name], dataclasses.field(default=f.default, default_factory=f.default_factory,
                                                      metadata=f.metadata))
            for f in dataclasses.fields(cls) if f.name != drop]
    return dataclasses.make_dataclass(f"{cls.__name__}Copy", kept, frozen=True, kw_only=True)


def test_removing_a_field_removes_its_flag():
    _, actions = _parser(remade(Sample, drop="ratio"))
    assert "ratio" not in actions and "count" in actions
    assert "ratio" in _parser(Sample)[1] and "ratio" in {f.name for f in dataclasses.fields(Sample)}
    _, actions = _parser(remade(Sample, count=float))
    assert actions["count"].type is float and _parser(Sample)[1]["count"].type is int


def test_unset_flags_stay_none_and_booleans_can_be_turned_off():
    """For a config a YAML file may also set (`xplus train run CONFIG --flag`): a flag left out is None."""
    parser, actions = _parser(Sample, unset=True, overrides={"ratio": {"help": "from the table"}})
    args = parser.parse_args(["--no-dry-run"])
    assert args.name is None and args.count is None and args.dry_run is False
    assert isinstance(actions["dry_run"], argparse.BooleanOptionalAction)
    assert actions["ratio"].help == "from the table (default: 0.5)" and not actions["name"].required


def test_values_are_checked_by_the_typed_validation():
    with pytest.raises(ConfigError, match="count: expected an integer, got 'many'"):
        config_from_args(Sample, argparse.Namespace(name="x", count="many"))


def test_a_field_without_a_flag_kind_is_refused():
    with pytest.raises(TypeError, match="cli=False"):
        _parser(dataclasses.make_dataclass("Odd", [("table", dict, flag_field(None, help="a table"))]))
    with pytest.raises(TypeError, match="unknown flag metadata"):
        flag_field(1, help="x", shrot="-x")


# the whole command line


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))
    yield " ".join(path), parser


def _options():
    from xplus.pipelines.cli import build_parser

    for command, parser in _commands(build_parser()):
        for action in parser._actions:
            if action.option_strings and not isinstance(action, argparse._HelpAction | argparse._VersionAction):
                yield command, action


#: `-o` names a file here: the command's one result is a JSON file (their help says so)
DASH_O_FILE = {"train sensitivity", "train sweep"}
#: the same word for two concepts: datatrove tasks (curate run) and lm-eval tasks (evaluate retention)
SAME_FLAG_TWO_CONCEPTS = {"--tasks"}


def test_every_option_of_every_command_has_help():
    missing = {(command, action.option_strings[-1]) for command, action in _options() if not action.help}
    assert not missing
    assert sum(1 for _ in _options()) > 100  # the walk reaches every command's options


def test_dash_o_is_the_output_folder_in_every_command():
    dash_o = {command: action for command, action in _options() if "-o" in action.option_strings}
    assert {"curate run", "train run", "evaluate translate", "evaluate compare", "evaluate retention",
            *DASH_O_FILE} <= set(dash_o)
    assert dash_o["train run"].dest == "output_dir" and dash_o["curate run"].dest == "output"
    for command, action in dash_o.items():
        assert action.dest in ("output", "output_dir"), command
        if command in DASH_O_FILE:
            assert action.metavar == "JSON" and "file, not a folder" in action.help, command
        else:
            assert action.metavar == "DIR" or "folder" in action.help, command


def _kind(action: argparse.Action) -> tuple:
    parsed = str if action.type in (None, Path) else action.type  # a path is text the command opens
    return parsed, action.nargs, type(action).__name__, tuple(action.choices or ())


def test_a_flag_means_one_kind_of_value_in_every_command():
    kinds: dict[str, dict[tuple, list[str]]] = {}
    for command, action in _options():
        for flag in action.option_strings:
            kinds.setdefault(flag, {}).setdefault((action.dest, *_kind(action)), []).append(command)
    differing = {flag for flag, seen in kinds.items() if len(seen) > 1 and flag != "-o"}
    assert differing == SAME_FLAG_TWO_CONCEPTS, {flag: kinds[flag] for flag in differing}
    assert len(kinds["--batch-size"]) == 1 and len(kinds["--seed"]) == 1  # shared, one kind
