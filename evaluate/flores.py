"""FLORES for `xplus evaluate translate`: the test set (devtest by default, a Hub id only at a pinned
revision) and the direction presets.

Files, layouts, FLORES+ names and the spelling of a direction (`eng_Latn-swh_Latn`) live in
`xplus.curate.flores`, shared with curation and training. A source here is a local release root
(`../shared/data/flores200`, `flores200_dataset/`) or a Hub dataset id with one config per language (e.g.
`openlanguagedata/flores_plus`) at a revision (a commit): a moving branch would change the test set under
the scores.

Line i of every language is the translation of line i of every other, so a direction is just two codes.
Directions are presets over the chosen languages (`en-x`, `x-en`, `x-y`: every ordered non-English pair,
`all`) or explicit `SRC-TGT` pairs in any code form the registry accepts (`en-zh`, `eng_Latn-swh_Latn`).
"""

from __future__ import annotations

from pathlib import Path

from xplus.curate.flores import ENGLISH, Direction, Flores
from xplus.curate.languages import RECIPE_LANGUAGES, get_language

__all__ = ["PRESETS", "flores_source", "resolve_directions", "resolve_languages"]

PRESETS = ("en-x", "x-en", "x-y", "all")


def resolve_languages(codes: list[str] | tuple[str, ...] | None) -> list[str]:
    """FLORES-200 codes of `codes` (any form), English first; default the 17 recipe languages."""
    resolved = list(dict.fromkeys(get_language(code).flores200 for code in codes or RECIPE_LANGUAGES))
    return sorted(resolved, key=lambda code: code != ENGLISH)


def resolve_directions(specs: list[str] | tuple[str, ...], languages: list[str]) -> list[Direction]:
    """Directions of presets and explicit pairs, in order, without repeats; presets need English in
    `languages` when they involve it."""
    others = [code for code in languages if code != ENGLISH]
    presets = {
        "en-x": [Direction(ENGLISH, tgt) for tgt in others],
        "x-en": [Direction(src, ENGLISH) for src in others],
        "x-y": [Direction(src, tgt) for src in others for tgt in others if src != tgt],
    }
    presets["all"] = presets["en-x"] + presets["x-en"] + presets["x-y"]
    directions: list[Direction] = []
    for spec in specs:
        directions.extend(presets[spec] if spec in presets else [Direction.parse(spec)])
    if not directions:
        raise ValueError(f"no directions: choose presets ({', '.join(PRESETS)}) over at least two languages, "
                         "or SRC-TGT pairs")
    return list(dict.fromkeys(directions))


def flores_source(location: str, split: str = "devtest", revision: str | None = None) -> Flores:
    """The evaluation's FLORES (`Flores.lines(code)` are a language's sentences): `location` is a local release
    root, else a Hub dataset id, which must come with a pinned `revision`."""
    if not Path(location).is_dir() and not revision:
        raise ValueError(f"{location!r} is no local directory, so it is read as a Hub dataset id, which "
                         "needs a pinned revision (a commit hash): pass --flores-revision")
    return Flores.at(location, split, revision)
