"""Layer-set syntax for layer-selective tuning (the Qwen3-XPlus recipe).

Qwen3-XPlus trains a model in stages, each updating only a subset of its decoder layers: stage 1 the bottom
4 layers, stage 2 the top 15 (layers 21-35 of Qwen3-8B's 36). Writing a stage as a spec such as
`bottom:4` or `top:15` instead of explicit indices lets one recipe serve models of any depth.

A spec is a comma-separated list of terms; inclusions are unioned, then `skip:` terms are removed:

    all         every layer
    bottom:K    the K layers nearest the embeddings (0 .. K-1)
    top:K       the K layers nearest the output head (N-K .. N-1)
    A-B         layers A to B inclusive (0-based)
    N           layer N
    skip:TERM   exclude TERM (any of the above), e.g. `top:15,skip:20` or `all,skip:18-20`
"""

from __future__ import annotations

import re

PAPER_STAGES = ("bottom:4", "top:15")

_EDGE = re.compile(r"(bottom|top):(\d+)")
_RANGE = re.compile(r"(\d+)-(\d+)")
_SINGLE = re.compile(r"\d+")
_SKIP = "skip:"


def resolve_layers(spec: str, num_layers: int) -> list[int]:
    """The sorted, unique 0-based layer indices that `spec` selects in a model of `num_layers` layers."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be at least 1, got {num_layers}")
    included: set[int] = set()
    skipped: set[int] = set()
    for raw in spec.split(","):
        term = raw.strip()
        if term.startswith(_SKIP):
            skipped |= _term_layers(term[len(_SKIP) :], term, num_layers)
        else:
            included |= _term_layers(term, term, num_layers)
    layers = sorted(included - skipped)
    if not layers:
        hint = "" if included else " (it has no inclusion term; start it with e.g. 'all')"
        raise ValueError(f"layer spec {spec!r} selects no layers of {num_layers}{hint}")
    return layers


def format_ranges(layers: list[int]) -> str:
    """Sorted unique indices as compact ranges, e.g. [0, 1, 2, 3, 21, 22] -> '0-3,21-22' (itself a spec)."""
    runs: list[list[int]] = []
    for layer in layers:
        if runs and layer == runs[-1][1] + 1:
            runs[-1][1] = layer
        else:
            runs.append([layer, layer])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def model_num_layers(name_or_path: str) -> int:
    """`num_hidden_layers` of a model's config, read with `transformers.AutoConfig` (a local path works
    offline). Multimodal configs are read through their text config."""
    from transformers import AutoConfig  # imported here: transformers takes seconds to import

    return int(AutoConfig.from_pretrained(name_or_path).get_text_config().num_hidden_layers)


def _term_layers(body: str, term: str, num_layers: int) -> set[int]:
    def fail(reason: str) -> ValueError:
        return ValueError(f"layer term {term!r}: {reason}")

    if body == "all":
        return set(range(num_layers))
    if match := _EDGE.fullmatch(body):
        side, k = match.group(1), int(match.group(2))
        if not 1 <= k <= num_layers:
            raise fail(f"K={k} must be between 1 and the model's {num_layers} layers")
        return set(range(k)) if side == "bottom" else set(range(num_layers - k, num_layers))
    if match := _RANGE.fullmatch(body):
        first, last = int(match.group(1)), int(match.group(2))
        if first > last:
            raise fail(f"range start {first} is after its end {last}")
        if last >= num_layers:
            raise fail(f"layer {last} is out of range 0-{num_layers - 1}")
        return set(range(first, last + 1))
    if _SINGLE.fullmatch(body):
        layer = int(body)
        if layer >= num_layers:
            raise fail(f"layer {layer} is out of range 0-{num_layers - 1}")
        return {layer}
    raise fail("malformed; expected all, bottom:K, top:K, A-B, N, or skip: followed by one of these")
