"""FLORES, in one place: where its files are, what its languages are called, and how a direction is spelled.

Calibration (`curate/loss`), decontamination, evaluation and layer sensitivity all read FLORES through
`Flores`. A FLORES source is one split (`dev` or `devtest`) of either

- a local **release root**, the folder that holds `dev/` and `devtest/`, in any of these layouts (whichever
  file exists is read, tried in this order, so one folder may mix them):
  - FLORES-200 release: `<root>/dev/eng_Latn.dev`
  - plain, one sentence per line, as in `../shared/data/flores200`: `<root>/dev/eng_Latn.txt`
  - FLORES+ names (Chinese is `cmn_Hans` there): `<root>/dev/cmn_Hans.dev` or `.txt`
  - FLORES-101 release: `<root>/dev/eng.dev`, `<root>/dev/zho_simpl.dev`
- or a Hub dataset with one config per language and a `text` (or `sentence`) column, by default
  `openlanguagedata/flores_plus` (gated: accept its terms and log in; pin a revision).

Line i of every language translates line i of every other; lines end at `\\n` only (a U+2028 inside a
sentence does not split it). `--flores` means the release root for every command.

**Directions** have one spelling, `src-tgt` with FLORES-200 codes (`eng_Latn-swh_Latn`): in file names
(`translations/eng_Latn-swh_Latn.jsonl`), score tables, `loss_thresholds.json` and the recipe's `thresholds:`.
`parse_direction` reads it back (and any code form the registry accepts, `en-sw`; also `eng_Latn->swh_Latn`
and `eng_Latn→swh_Latn`, which runs of earlier versions wrote), so every table we write can be fed back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from xplus.curate.languages import UnknownLanguageError, get_language

SPLITS = ("dev", "devtest")
FLORES_PLUS = "openlanguagedata/flores_plus"
#: FLORES+ renamed Chinese after its spoken language (`cmn`); the registry keeps FLORES-200's `zho`
FLORES_PLUS_CODES = {"zho_Hans": "cmn_Hans", "zho_Hant": "cmn_Hant"}
TEXT_COLUMNS = ("text", "sentence")
ENGLISH = "eng_Latn"
#: the separator of a direction's two codes, the one spelling everything writes
DIRECTION_SEPARATOR = "-"
#: spellings earlier versions wrote (`loss_thresholds.json`, recipes), still read
_LEGACY_SEPARATORS = ("->", "→")


class FloresNotFoundError(FileNotFoundError):
    """FLORES sentences of a language are not where they were looked for."""


def flores_plus_code(code: str) -> str:
    """The FLORES+ name of a language (`zho_Hans` -> `cmn_Hans`; most codes are the FLORES-200 code)."""
    flores200 = get_language(code).flores200
    return FLORES_PLUS_CODES.get(flores200, flores200)


def format_direction(src: str, tgt: str) -> str:
    """The one spelling of a direction: `eng_Latn-swh_Latn` (codes in any form the registry reads)."""
    return f"{get_language(src).flores200}{DIRECTION_SEPARATOR}{get_language(tgt).flores200}"


def parse_direction(text: str) -> tuple[str, str]:
    """(source, target) FLORES-200 codes of `eng_Latn-swh_Latn`, `en-sw`, `zh-Hant-en` or the legacy
    `eng_Latn->swh_Latn` / `eng_Latn→swh_Latn`; a hyphenated code is split where both halves are languages."""
    legacy = next((sep for sep in _LEGACY_SEPARATORS if sep in text), None)
    if legacy:
        cuts = [tuple(text.split(legacy, 1))]
    else:
        parts = text.split(DIRECTION_SEPARATOR)
        cuts = [(DIRECTION_SEPARATOR.join(parts[:i]), DIRECTION_SEPARATOR.join(parts[i:]))
                for i in range(1, len(parts))]
    for src, tgt in cuts:
        try:
            src, tgt = get_language(src).flores200, get_language(tgt).flores200
        except UnknownLanguageError:
            continue
        if src == tgt:
            raise ValueError(f"direction {text!r} translates {src} into itself")
        return src, tgt
    raise ValueError(f"{text!r} is no direction: write src-tgt with two language codes (eng_Latn-swh_Latn, en-sw; "
                     "src->trg is read too)")


@dataclass(frozen=True)
class Direction:
    """A translation direction between two FLORES-200 codes; `group` is en->x, x->en or x->y."""

    src: str
    tgt: str

    @property
    def name(self) -> str:
        return format_direction(self.src, self.tgt)

    @property
    def group(self) -> str:
        if self.src == ENGLISH:
            return "en->x"
        return "x->en" if self.tgt == ENGLISH else "x->y"

    @classmethod
    def parse(cls, text: str) -> Direction:
        return cls(*parse_direction(text))


@dataclass(frozen=True)
class Flores:
    """One split of FLORES, from a local release root or, when `root` is None, from a Hub dataset.

    Args:
        root: the local folder holding `dev/` and `devtest/` (any layout of the module doc); None: the Hub
        split: `dev` or `devtest`
        hub_dataset: the Hub dataset read when there is no `root`
        hub_revision: its revision (pin it: a moving branch changes the sentences under the numbers)
    """

    root: str | None = None
    split: str = "dev"
    hub_dataset: str = FLORES_PLUS
    hub_revision: str | None = None

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"FLORES split must be one of {', '.join(SPLITS)}, not {self.split!r}")
        if self.root is not None:
            object.__setattr__(self, "root", os.fspath(self.root))

    @classmethod
    def at(cls, location: str | os.PathLike, split: str = "dev", revision: str | None = None) -> Flores:
        """`location` read as a local release root when it is a folder, else as a Hub dataset id."""
        if Path(location).is_dir():
            return cls(os.fspath(location), split, hub_revision=revision)
        return cls(None, split, str(location), revision)

    @property
    def folder(self) -> Path:
        """The split's local folder."""
        return Path(self.root or ".") / self.split

    def candidates(self, code: str) -> list[Path]:
        """The files that may hold a language's sentences, in the order they are tried."""
        lang = get_language(code)
        plus = FLORES_PLUS_CODES.get(lang.flores200)
        names = [f"{lang.flores200}.{self.split}", f"{lang.flores200}.txt"]
        names += [f"{plus}.{self.split}", f"{plus}.txt"] if plus else []
        names += [f"{lang.flores101}.{self.split}"] if lang.flores101 else []
        return [self.folder / name for name in names]

    def lines(self, code: str) -> list[str]:
        """A language's sentences, in FLORES order (from the first of `candidates` that exists, or the Hub)."""
        if self.root is None:
            return self._hub_lines(code)
        for path in self.candidates(code):
            if path.is_file():
                with open(path, encoding="utf-8", newline="\n") as handle:
                    return [line.rstrip("\r\n") for line in handle]
        raise FloresNotFoundError(f"no FLORES {self.split} file for {get_language(code).flores200}: looked for "
                                  f"{', '.join(map(str, self.candidates(code)))} (one sentence per line)")

    def files(self) -> dict[str, Path]:
        """Every language with a file in the local split folder: FLORES-200 code -> the file `lines` reads."""
        codes = set()
        for path in self.folder.glob("*"):
            if path.suffix in (f".{self.split}", ".txt") and path.is_file():
                try:
                    codes.add(get_language(path.stem).flores200)
                except UnknownLanguageError:
                    continue
        return {code: next(p for p in self.candidates(code) if p.is_file()) for code in sorted(codes)}

    def _hub_lines(self, code: str) -> list[str]:
        from datasets import load_dataset

        name = flores_plus_code(code) if self.hub_dataset == FLORES_PLUS else get_language(code).flores200
        try:
            rows = load_dataset(self.hub_dataset, name, split=self.split, revision=self.hub_revision)
        except Exception as err:  # offline, gated, or no such language: all need the same advice
            raise FloresNotFoundError(
                f"could not load FLORES {self.split} for {name} from the Hub ({self.hub_dataset}): {err}; give a "
                f"local FLORES release root instead, with {self.split}/{get_language(code).flores200}.txt") from err
        column = next((c for c in TEXT_COLUMNS if c in rows.column_names), None)
        if column is None:
            raise ValueError(f"{self.hub_dataset} ({name}) has no {' or '.join(TEXT_COLUMNS)} column: "
                             f"{rows.column_names}")
        return list(rows[column])

    @property
    def label(self) -> str:
        """A short name for messages and provenance: `FLORES dev`."""
        return f"FLORES {self.split}"

    def describe(self) -> dict[str, str | None]:
        """What to record next to numbers computed on it, so they can be traced to the exact sentences."""
        return {"location": self.root if self.root is not None else self.hub_dataset, "split": self.split,
                "revision": self.hub_revision}
