"""The language registry: every FLORES-200 language, and what each tool xplus talks to calls it.

Corpora, LID models, benchmarks and prompts each name languages their own way: ISO 639-1 (``sw``),
ISO 639-3 (``swh``), FLORES-101 file names (``zho_simpl``), fastText labels (``__label__sw``,
``__label__swh_Latn``), English names ("Swahili"). xplus turns all of them into one canonical code, the
FLORES-200 / NLLB code (``swh_Latn``), as early as it can, and only this registry translates back.

Why FLORES-200 codes: they are unique where the others are not. ISO 639-1 ``zh`` covers Simplified and
Traditional Chinese, ``ar`` many Arabic varieties, and many languages have no ISO 639-1 code at all;
a FLORES-200 code pins language (ISO 639-3) *and* script (ISO 15924), which decides how text is
segmented, filtered and scored. They are also the labels of the FLORES-200 benchmark and of NLLB.

The table, ``data/languages.tsv``, has one row per FLORES-200 language (all 204 codes of the release,
including ``arb_Latn``, ``min_Arab`` and Santali as ``sat_Olck``, the name of its data file; the FLORES-200
README and NLLB's tokenizer call it ``sat_Beng``, which is an alias):

- ``iso639_1``: the ISO 639-1 code of the language, or of the macrolanguage that conventionally means it
  (``sw`` -> ``swh_Latn``, ``fa`` -> ``pes_Arab``); rows of one language in two scripts share it.
- ``flores101``: the FLORES-101 file name (``ara``, ``zho_simpl``, ``msa``), from the FLORES-101 language
  list; empty for the languages FLORES-101 lacks.
- ``lid176``: the label fastText's lid.176 model predicts for the language (checked against the model's
  labels by the tests). Varieties it has no label of its own for carry the macrolanguage's label
  (Arabic varieties ``ar``, Dari ``fa``); empty where it has none. lid.176's ``als`` is Alemannic, not
  Tosk Albanian, so ``als_Latn`` carries ``sq``.
- ``lid218e``: the label of NLLB's LID (``facebook/fasttext-language-identification``). Its labels are
  FLORES-200 codes; that they are exactly these 204 is an assumption, not checked against the model.
- ``glotlid``: the label of GlotLID v3 (``cis-lmu/glotlid``): the FLORES-200 code where GlotLID has it,
  else the label its authors map the language to (``cmn_Hani`` for both Chinese scripts, ``yue_Hani``,
  ``fas_Arab`` for Western Persian and Dari, ``arb_Arab`` for Ta'izzi-Adeni Arabic, ``ekk_Latn``,
  ``gug_Latn``, ``kng_Latn``, ``twi_Latn`` for Akan).
- ``segmentation``: ``char`` for scripts written without spaces between words (Chinese, Japanese, Thai,
  Lao, Khmer, Burmese, Tibetan), else ``word``.
- ``name``: the English name FLORES-200 uses; ``benchmax_name``: the name BenchMAX puts in its prompts for
  its 17 languages ("Simplified Chinese", "Cyrillic Serbian"), "Traditional Chinese" for ``zho_Hant``,
  else the name without its parenthesis where that is still unambiguous.

``get_language`` accepts any of these codes, labels (with or without ``__label__``) and names, in any
case, and BCP-47-like tags: a region is ignored (``en-US``, ``pt_BR``) except that ``TW``, ``HK`` and
``MO`` mean Traditional Chinese; a script subtag picks that script's entry (``zh-Hant``, ``ks-Deva``)
and is an error where FLORES-200 lacks it (``sr-Latn``: FLORES-200 has Serbian in Cyrillic only).
A bare code that several entries share (``zh``, ``ar``, ``ks``, ``min``, ...) picks the entry in the
language's majority script; those choices, and the macrolanguage and ISO 639-2/B codes, are
``_ALIASES``. Loading the table fails if a new ambiguous code appears that ``_ALIASES`` does not settle.
"""

from __future__ import annotations

import csv
import difflib
import functools
import importlib.resources
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One FLORES-200 language; a code is None where its scheme has no code for the language."""

    flores200: str
    iso639_1: str | None
    iso639_3: str
    flores101: str | None
    script: str
    lid176: str | None
    lid218e: str
    glotlid: str | None
    segmentation: str  # "word" | "char"
    name: str
    benchmax_name: str


class UnknownLanguageError(ValueError):
    """A code, label or name that is no FLORES-200 language."""


#: The 17 languages of the Qwen3-XPlus recipe (BenchMAX's languages), in recipe order.
RECIPE_LANGUAGES: tuple[str, ...] = (
    "eng_Latn", "spa_Latn", "fra_Latn", "deu_Latn", "rus_Cyrl", "ben_Beng", "jpn_Jpan", "tha_Thai",
    "swh_Latn", "zho_Hans", "tel_Telu", "arb_Arab", "kor_Hang", "srp_Cyrl", "ces_Latn", "hun_Latn",
    "vie_Latn",
)  # fmt: skip

# Lower-case keys. Codes shared by several entries resolve to the majority script or the standard
# variety; the rest are codes no column holds: macrolanguages and ISO 639-2/B codes.
_ALIASES = {
    "ace": "ace_Latn", "ar": "arb_Arab", "arb": "arb_Arab", "bjn": "bjn_Latn", "kas": "kas_Arab",
    "ks": "kas_Arab", "knc": "knc_Latn", "kr": "knc_Latn", "min": "min_Latn", "taq": "taq_Latn",
    "zh": "zho_Hans", "zho": "zho_Hans", "cmn_hani": "zho_Hans", "fa": "pes_Arab", "fas_arab": "pes_Arab",
    "aym": "ayr_Latn", "aze": "azj_Latn", "cmn": "zho_Hans", "fil": "tgl_Latn", "kau": "knc_Latn",
    "kur": "kmr_Latn", "mlg": "plt_Latn", "nep": "npi_Deva", "nor": "nob_Latn", "ori": "ory_Orya",
    "que": "quy_Latn", "sqi": "als_Latn", "swa": "swh_Latn", "yid": "ydd_Hebr", "sat_beng": "sat_Olck",
    "alb": "als_Latn", "arm": "hye_Armn", "baq": "eus_Latn", "bur": "mya_Mymr", "chi": "zho_Hans",
    "cze": "ces_Latn", "dut": "nld_Latn", "fre": "fra_Latn", "geo": "kat_Geor", "ger": "deu_Latn",
    "gre": "ell_Grek", "ice": "isl_Latn", "mac": "mkd_Cyrl", "mao": "mri_Latn", "may": "zsm_Latn",
    "per": "pes_Arab", "rum": "ron_Latn", "slo": "slk_Latn", "tib": "bod_Tibt", "wel": "cym_Latn",
}  # fmt: skip
_LOOKUP_FIELDS = (
    "iso639_1", "iso639_3", "flores101", "lid176", "lid218e", "glotlid", "name", "benchmax_name",
)  # fmt: skip
_TRADITIONAL_CHINESE_REGIONS = frozenset({"tw", "hk", "mo"})
_LABEL_PREFIX = "__label__"


@functools.cache
def all_languages() -> tuple[Language, ...]:
    """Every FLORES-200 language, sorted by code."""
    table = importlib.resources.files("xplus.curate") / "data" / "languages.tsv"
    with table.open(encoding="utf-8", newline="") as f:
        return tuple(
            Language(**{key: value or None for key, value in row.items()})
            for row in csv.DictReader(f, delimiter="\t")
        )


@functools.cache
def _by_code() -> dict[str, Language]:
    return {lang.flores200.lower(): lang for lang in all_languages()}


@functools.cache
def _index() -> dict[str, Language]:
    """Every lower-cased code, label, name and alias -> its Language.

    FLORES-200 codes win over aliases, aliases over the other columns, whose shared values must all be
    settled by an alias.
    """
    shared: dict[str, set[str]] = {}
    for lang in all_languages():
        for field in _LOOKUP_FIELDS:
            if value := getattr(lang, field):
                shared.setdefault(value.lower(), set()).add(lang.flores200.lower())
    index = {key: _by_code()[min(codes)] for key, codes in shared.items() if len(codes) == 1}
    index |= {alias: _by_code()[code.lower()] for alias, code in _ALIASES.items()}
    index |= _by_code()
    if unsettled := sorted(key for key, codes in shared.items() if len(codes) > 1 and key not in index):
        raise RuntimeError(f"languages.tsv: {unsettled} name several languages; settle them in _ALIASES")
    return index


def get_language(code: str) -> Language:
    """The Language a code, LID label, English name or BCP-47-like tag names (see the module doc)."""
    key = code.strip().lower().removeprefix(_LABEL_PREFIX)
    if lang := _index().get(key):
        return lang
    base, *subtags = re.split(r"[-_]", key)
    lang = _index().get(base)
    if lang is None or not subtags:
        raise _unknown(code, key)
    script = next((tag for tag in subtags if len(tag) == 4 and tag.isalpha()), None)
    if script is None and lang.iso639_3 == "zho" and _TRADITIONAL_CHINESE_REGIONS.intersection(subtags):
        script = "hant"
    if script is None:
        return lang
    if variant := _by_code().get(f"{lang.iso639_3}_{script}"):
        return variant
    raise UnknownLanguageError(f"{code!r}: FLORES-200 has no {lang.name} in script {script.title()}")


def normalize(code: str) -> str:
    """The FLORES-200 code of whatever ``get_language`` accepts."""
    return get_language(code).flores200


def _unknown(code: str, key: str) -> UnknownLanguageError:
    index = _index()
    matches = difflib.get_close_matches(key, index, n=20)
    suggestions = list(dict.fromkeys(f"{index[m].flores200} ({index[m].name})" for m in matches))[:5]
    hint = f"; close matches: {', '.join(suggestions)}" if suggestions else ""
    return UnknownLanguageError(f"unknown language {code!r}{hint}")
