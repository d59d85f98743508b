"""FLORES-101 / FLORES-200 sentences and translation directions for `xplus evaluate translate`.

A FLORES source is either a local directory or a Hub dataset id:

- local directories in the release layouts: `<root>/<split>/<code>.<split>` with FLORES-200 codes
  (`flores200_dataset/devtest/eng_Latn.devtest`) or FLORES-101 codes (`flores101_dataset/devtest/eng.devtest`),
  and this repo's sample layout `<root>/<split>/<code>.txt` (`../shared/data/flores200/devtest/eng_Latn.txt`).
  Whichever file exists is read, so one directory may hold any of them.
- a Hub dataset id with one config per FLORES-200 code and a `text` or `sentence` column (e.g.
  `openlanguagedata/flores_plus`). A revision (commit) must be given: a moving branch would change the test
  set under the scores.

Line i of every language is the translation of line i of every other, so a direction is just two codes.
Directions are presets over the chosen languages (`en-x`, `x-en`, `x-y`: every ordered non-English pair,
`all`) or explicit `SRC-TGT` pairs in any code form the registry accepts (`en-zh`, `eng_Latn-swh_Latn`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xplus.curate.languages import RECIPE_LANGUAGES, get_language

ENGLISH = "eng_Latn"
PRESETS = ("en-x", "x-en", "x-y", "all")
TEXT_COLUMNS = ("text", "sentence")


@dataclass(frozen=True)
class Direction:
    """A translation direction between two FLORES-200 codes; `group` is en->x, x->en or x->y."""

    src: str
    tgt: str

    @property
    def name(self) -> str:
        return f"{self.src}-{self.tgt}"

    @property
    def group(self) -> str:
        if self.src == ENGLISH:
            return "en->x"
        return "x->en" if self.tgt == ENGLISH else "x->y"

    @classmethod
    def parse(cls, name: str) -> Direction:
        """`eng_Latn-zho_Hans`, `en-zh`, `EN-US-sw` ...: split at the hyphen that leaves two known codes."""
        parts = name.split("-")
        for cut in range(1, len(parts)):
            try:
                src, tgt = get_language("-".join(parts[:cut])), get_language("-".join(parts[cut:]))
            except ValueError:
                continue
            if src.flores200 == tgt.flores200:
                raise ValueError(f"direction {name!r} translates {src.flores200} into itself")
            return cls(src.flores200, tgt.flores200)
        raise ValueError(f"{name!r} is no direction: write SRC-TGT with two language codes (en-zh, eng_Latn-swh_Latn)")


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


@dataclass(frozen=True)
class FloresSource:
    """Where FLORES comes from: a local directory, or a Hub dataset id at a pinned revision."""

    location: str
    split: str = "devtest"
    revision: str | None = None

    def __post_init__(self) -> None:
        if self.split not in ("dev", "devtest"):
            raise ValueError(f"FLORES split must be dev or devtest, not {self.split!r}")
        if not self.is_local and not self.revision:
            raise ValueError(f"{self.location!r} is no local directory, so it is read as a Hub dataset id, which "
                             "needs a pinned revision (a commit hash): pass --revision")

    @property
    def is_local(self) -> bool:
        return Path(self.location).is_dir()

    def describe(self) -> dict[str, str | None]:
        """What to record with the scores, so they can be traced to the exact test set."""
        return {"location": self.location, "split": self.split, "revision": self.revision}

    def segments(self, code: str) -> list[str]:
        """The sentences of one language, in FLORES order."""
        language = get_language(code)
        if self.is_local:
            return self._local(language.flores200, language.flores101)
        return self._hub(language.flores200)

    def _local(self, flores200: str, flores101: str | None) -> list[str]:
        folder = Path(self.location) / self.split
        names = [f"{flores200}.{self.split}", f"{flores200}.txt"]
        if flores101:
            names.append(f"{flores101}.{self.split}")
        for name in names:
            path = folder / name
            if path.is_file():
                with open(path, encoding="utf-8", newline="\n") as handle:
                    return [line.rstrip("\r\n") for line in handle]
        raise FileNotFoundError(f"no FLORES {self.split} file for {flores200} in {folder}: looked for "
                                f"{', '.join(names)}")

    def _hub(self, flores200: str) -> list[str]:
        from datasets import load_dataset

        rows = load_dataset(self.location, flores200, split=self.split, revision=self.revision)
        column = next((name for name in TEXT_COLUMNS if name in rows.column_names), None)
        if column is None:
            raise ValueError(f"{self.location} ({flores200}) has no {' or '.join(TEXT_COLUMNS)} column: "
                             f"{rows.column_names}")
        return list(rows[column])
