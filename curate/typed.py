"""Typed user input: values from a YAML file or the command line checked against the annotations of the code
that takes them (a block's constructor, a config dataclass) with pydantic, before anything runs.

The annotations stay the one source of truth: `arguments_model(Cleaner)` is a pydantic model made from
`Cleaner.__init__`'s signature, and `validate_dataclass(TrainConfig, raw)` validates a standard dataclass
as it is. A failure is one `TypedError` (a `ConfigError`) naming the dotted key; the loaders put the file in
front, and the key's line from `yaml_line`:

    recipe.yaml:4: steps.length.min_units: expected an integer, got 'two'

pydantic's lax mode does the coercions YAML needs: PyYAML reads `1e-5` as a string (YAML 1.1 wants a dot),
and pydantic turns that string into the float a `float` field asks for.
"""

from __future__ import annotations

import functools
import inspect
import typing
from pathlib import Path
from typing import Any

from xplus.curate.errors import ConfigError

#: error types -> what was expected (the rest use pydantic's own message)
EXPECTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
    "float_parsing": "a number", "float_type": "a number", "finite_number": "a finite number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "a string", "none_required": "null",
    "list_type": "a list", "tuple_type": "a list", "sequence_str": "a list of strings",
    "dict_type": "a mapping", "dataclass_type": "a mapping", "model_type": "a mapping",
}
#: path elements pydantic adds for the member of a union (`int`, `none`, `list[str]`, `function-after[...]`;
#: a class name such as `Stage`: keys are never capitalised)
UNION_TAGS = {"int", "float", "str", "bool", "none", "list", "dict", "tuple", "set", "bytes"}


class TypedError(ConfigError):
    """A value of the wrong type or range; `key` is the dotted key within the validated mapping."""

    def __init__(self, key: str, message: str):
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}" if key else message)


def _clean_location(loc: tuple) -> str:
    """Dotted key of a pydantic error location, without the union-member tags (`near_identical.float`)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part not in UNION_TAGS and "[" not in part and not part[:1].isupper():  # `Stage`: a class member
            parts.append(f".{part}" if parts else part)
    return "".join(parts)


def _expectation(error: dict) -> str:
    kind = error["type"]
    if kind == "literal_error":
        return "one of " + error.get("ctx", {}).get("expected", "")
    if kind == "is_instance_of":
        return "a " + error.get("ctx", {}).get("class", "value")
    return EXPECTED.get(kind) or error["msg"][0].lower() + error["msg"][1:]


def describe(err, accepted: typing.Iterable[str] = (), owner: str = "") -> TypedError:
    """The first problem of a pydantic `ValidationError` as one `TypedError` (a union's members merged)."""
    errors = err.errors(include_url=False)
    # of a union's members, the one that got deepest is the one the user meant (`{de: high}` for a mapping)
    key = max((_clean_location(e["loc"]) for e in errors), key=lambda k: k.count(".") + k.count("["))
    group = [e for e in errors if _clean_location(e["loc"]) == key]
    first = group[0]
    if first["type"] == "extra_forbidden":
        return TypedError(key, f"not an argument of {owner}; accepted: {sorted(accepted)}" if owner
                          else f"unknown key; known: {', '.join(sorted(accepted))}")
    if first["type"] == "unexpected_keyword_argument":
        return TypedError(key, "unknown key")
    if first["type"] in ("missing", "missing_argument"):
        return TypedError(key, "missing")
    expected = list(dict.fromkeys(_expectation(e) for e in group))
    if len(expected) == 1 and first["type"] not in EXPECTED and first["type"] != "literal_error":
        return TypedError(key, expected[0])
    return TypedError(key, f"expected {' or '.join(expected)}, got {first['input']!r}")


@functools.cache
def arguments_model(block: type, wired: frozenset[str] = frozenset({"self"}), partial: bool = False):
    """A pydantic model of the arguments `block(...)` takes (its `__init__` annotations and defaults), minus the
    `wired` ones; unknown arguments are refused. With `partial`, no argument is required."""
    from pydantic import ConfigDict, Field, create_model

    init = block.__init__
    hints = typing.get_type_hints(init)
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(init).parameters.items():
        if name in wired or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is not inspect.Parameter.empty:  # a factory: pydantic would deep-copy the value
            default = Field(default_factory=functools.partial(_same, param.default))
        else:
            default = None if partial else ...
        fields[name] = (hints.get(name, Any), default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return create_model(f"{block.__name__}Arguments", __config__=config, **fields)


def _same(value: Any) -> Any:
    return value


def validate_arguments(block: type, options: dict[str, Any], wired: frozenset[str] = frozenset({"self"}),
                       partial: bool = False) -> dict[str, Any]:
    """`options` type-checked (and coerced: `'1e-5'` -> `1e-05`) against `block`'s constructor; only the keys
    given come back, so the block keeps its own defaults. With `partial`, missing required arguments pass (the
    caller wires them later)."""
    from pydantic import ValidationError

    model = arguments_model(block, wired, partial)
    try:
        checked = model.model_validate(options)
    except ValidationError as err:
        raise describe(err, model.model_fields, block.__name__) from None
    return {name: getattr(checked, name) for name in options}


def validate_dataclass(cls: type, raw: dict[str, Any]):
    """An instance of the standard dataclass `cls` from `raw`, every field validated by its annotation (nested
    dataclasses included; `__pydantic_config__` on a class may forbid unknown keys) and `__post_init__` run;
    errors as one `TypedError` (a `ValueError` of `__post_init__` keeps its own message)."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(cls).validate_python(raw)
    except ValidationError as err:
        value_errors = [e for e in err.errors(include_url=False) if e["type"] == "value_error"]
        if value_errors:
            raise TypedError(_clean_location(value_errors[0]["loc"]), str(value_errors[0]["ctx"]["error"])) from None
        raise describe(err, cls.__dataclass_fields__) from None


def missing_local_path(reference: str) -> str | None:
    """What is wrong with `reference` (a model or dataset given as a local path or a Hub id) when it is written
    as a local path (absolute, starting with `.` or `~`, more than one `/`) and nothing is there; else None
    (a Hub id never starts with `.`). Without this check the Hub client answers a missing folder with "Repo id
    must use alphanumeric chars"."""
    if not reference or "://" in reference or Path(reference).expanduser().exists():
        return None
    if reference.startswith(("/", ".", "~")) or reference.count("/") > 1 or "\\" in reference:
        return f"{reference}: no such file or folder (a local path; a Hub id reads ORG/NAME)"
    return None


def yaml_line(text: str, key: str) -> int | None:
    """The 1-based line of the dotted `key` (`steps.length.min_units`, `sources[0].tgt_lang`) in the YAML `text`:
    the deepest part of the key found there; None when not even its first part is."""
    import re

    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        if isinstance(node, yaml.SequenceNode) and part.startswith("[") and int(part[1:-1]) < len(node.value):
            node = node.value[int(part[1:-1])]
        elif isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
            continue
        else:
            break
        line = node.start_mark.line + 1
    return line
