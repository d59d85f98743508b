"""Command-line flags made from a config dataclass: one flag per field, so a setting and its flag cannot drift.

Every command whose options are settings (`xplus train run|sweep`, `xplus evaluate translate|retention`,
`xplus curate run`) adds them with `add_config_flags(parser, Settings)` and reads them back with
`config_from_args(Settings, args)`, which validates the values with the same pydantic check as a YAML config
(`typed.validate_dataclass`). For each field:

- the flag is `--field-name` (metadata `flag` renames it, `short` adds e.g. `-o`);
- its kind comes from the annotation: `int`, `float`, `Path` -> that type; `str` -> text; `Literal[...]` ->
  choices; `list[...]` / `tuple[..., ...]` -> `nargs="+"` (metadata `nargs` overrides); `X | None` -> X;
  `bool` -> `store_true`, or `--x/--no-x` (BooleanOptionalAction) when the default is True or a flag left out
  must stay unset (`unset=True`: a YAML file may set it);
- its default is the field's (shown in the help unless None or the help already says it); a field without a
  default is a required flag (not with `unset=True`);
- its help is the metadata `help` (or the caller's per-field table, `overrides`); metadata `metavar`,
  `choices`, `type` (a converter that also checks a range), `group` (a name in `containers`, e.g. an argument
  or mutually exclusive group) and `cli=False` (no flag: code or YAML only) complete it.

Imports only the standard library: `xplus --help` builds every parser without torch, transformers or datasets.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

#: metadata keys a field may carry for its flag
FLAG_KEYS = frozenset({"help", "flag", "short", "metavar", "choices", "nargs", "type", "group", "cli"})
TYPED = (int, float, Path)


def flag_field(default: Any = dataclasses.MISSING, *, help: str, **flag: Any) -> Any:
    """A dataclass field whose metadata describes its flag: `flag_field(16, help="...", metavar="N")`."""
    unknown = set(flag) - FLAG_KEYS
    if unknown:
        raise TypeError(f"unknown flag metadata {sorted(unknown)}; known: {sorted(FLAG_KEYS)}")
    return dataclasses.field(default=default, metadata={"help": help, **flag})


def flag_name(name: str, meta: Mapping[str, Any]) -> str:
    return meta.get("flag") or "--" + name.replace("_", "-")


def field_default(spec: dataclasses.Field) -> Any:
    """The field's default (its factory called), or MISSING."""
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return dataclasses.MISSING


def flag_help(text: str, default: Any) -> str:
    """The help, with the default appended unless it is None, empty, or the help already names the default;
    `%` escaped for argparse."""
    if default is not dataclasses.MISSING and default is not None and default != () and default != [] \
            and "default" not in text:
        shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else default
        text += f" (default: {shown})"
    return text.replace("%", "%%")


def _members(annotation: Any) -> Any:
    """`X | None` -> X; a union holding `str` (`Stage | str`: YAML takes either) -> str."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
        if str in members:
            return str
        raise TypeError(f"no flag for a union of {members}: give the field cli=False or one type")
    return annotation


def flag_kind(annotation: Any, boolean_optional: bool = False) -> dict[str, Any]:
    """argparse's `type`, `action`, `nargs` or `choices` for a field of this annotation."""
    annotation = _members(annotation)
    origin = typing.get_origin(annotation) or annotation
    if origin is bool:
        return {"action": argparse.BooleanOptionalAction if boolean_optional else "store_true"}
    kind: dict[str, Any] = {}
    if origin in (list, tuple):
        kind["nargs"] = "+"
        annotation = _members(next(iter(typing.get_args(annotation)), str))
        origin = typing.get_origin(annotation) or annotation
    if origin is Literal:
        kind["choices"] = typing.get_args(annotation)
        origin = type(kind["choices"][0])
    if origin in TYPED:
        kind["type"] = origin
    elif origin is not str:
        raise TypeError(f"no flag for a field of type {annotation!r}: give it cli=False")
    return kind


def flag_options(spec: dataclasses.Field, annotation: Any, meta: Mapping[str, Any], unset: bool) -> dict[str, Any]:
    """Everything `add_argument` takes for this field, but its names."""
    default = field_default(spec)
    kind = flag_kind(annotation, boolean_optional=unset or default is True)
    shown = None if kind.get("action") == "store_true" else default  # off unless given: nothing to show
    options = {"dest": spec.name, "help": flag_help(meta.get("help", ""), shown), **kind}
    options.update({key: meta[key] for key in ("metavar", "choices", "nargs", "type") if key in meta})
    if unset:
        options["default"] = None
    elif default is dataclasses.MISSING:
        options["required"] = True
    else:
        options["default"] = default
    return options


def add_config_flags(parser: argparse.ArgumentParser, cls: type, *, overrides: Mapping[str, Mapping] | None = None,
                     skip: tuple[str, ...] = (), unset: bool = False,
                     containers: Mapping[str, Any] | None = None) -> list[str]:
    """One flag per field of the dataclass `cls` (but `skip` and `cli=False` fields); `overrides` maps a field
    to metadata merged over its own (a per-field help table for a dataclass without help). With `unset`, a
    flag left out is None (the caller keeps the YAML's value or the field's default). Returns the fields."""
    hints = typing.get_type_hints(cls)
    added = []
    for spec in dataclasses.fields(cls):
        meta = {**spec.metadata, **(overrides or {}).get(spec.name, {})}
        if spec.name in skip or meta.get("cli", True) is False:
            continue
        names = [meta["short"], flag_name(spec.name, meta)] if meta.get("short") else [flag_name(spec.name, meta)]
        target = (containers or {})[meta["group"]] if meta.get("group") else parser
        target.add_argument(*names, **flag_options(spec, hints[spec.name], meta, unset))
        added.append(spec.name)
    return added


def config_from_args(cls: type, args: argparse.Namespace, **values: Any):
    """An instance of `cls` from the parsed flags named like its fields (and `values`), validated as a YAML
    config is (`typed.validate_dataclass`: lists become tuples, text a Path; one `TypedError` naming the key)."""
    from xplus.curate.typed import validate_dataclass

    given = {spec.name: getattr(args, spec.name) for spec in dataclasses.fields(cls) if hasattr(args, spec.name)}
    return validate_dataclass(cls, {**given, **values})
