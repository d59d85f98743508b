"""Scripts for step 4: which Unicode scripts a language's text is written in, and how much of a text is in each, so
that LID can tell a wrong language from a wrong label (`LanguageIdFilter`'s script guard)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import regex

from xplus.curate.languages import all_languages
from xplus.curate.lid_model import FLORES_LABEL

#: the Unicode scripts (`\p{Script=...}`) each registry script (ISO 15924) is written in; Japanese mixes Han
#: and kana, Korean may carry Hanja
UNICODE_SCRIPTS = {
    "Latn": ("Latin",), "Cyrl": ("Cyrillic",), "Grek": ("Greek",), "Armn": ("Armenian",), "Geor": ("Georgian",),
    "Hebr": ("Hebrew",), "Arab": ("Arabic",), "Ethi": ("Ethiopic",), "Tfng": ("Tifinagh",), "Deva": ("Devanagari",),
    "Beng": ("Bengali",), "Guru": ("Gurmukhi",), "Gujr": ("Gujarati",), "Orya": ("Oriya",), "Taml": ("Tamil",),
    "Telu": ("Telugu",), "Knda": ("Kannada",), "Mlym": ("Malayalam",), "Sinh": ("Sinhala",), "Olck": ("Ol_Chiki",),
    "Thai": ("Thai",), "Laoo": ("Lao",), "Khmr": ("Khmer",), "Mymr": ("Myanmar",), "Tibt": ("Tibetan",),
    "Hans": ("Han",), "Hant": ("Han",), "Hani": ("Han",), "Jpan": ("Han", "Hiragana", "Katakana"),
    "Hang": ("Hangul", "Han"),
}
#: Unicode scripts a text of the registry script must show at least once: every FLORES-200 Japanese sentence
#: has kana (2,009 of 2,009), none of the Chinese ones lid.176 takes for Japanese does (0 of 40)
REQUIRED_SCRIPTS = {"Jpan": ("Hiragana", "Katakana"), "Hang": ("Hangul",)}
#: scripts written without spaces count one unit per letter, the others one per word (a run of letters), so
#: "EU/EEA 国家和英国的 COVID-19 趋势" is 8 Han units to 3 Latin ones, as its reader would weigh it
_CHARACTER_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan")
_SCRIPT_UNITS = regex.compile("(?V1)" + "|".join(
    f"(?P<{name}>[\\p{{L}}&&\\p{{Script={name}}}]{'' if name in _CHARACTER_SCRIPTS else '+'})"
    for name in sorted({name for names in UNICODE_SCRIPTS.values() for name in names})
))


def script_units(text: str) -> Counter:
    """Letters of `text` by Unicode script, in units: a letter of an unspaced script, a word of the others;
    letters of scripts no registry language uses are not counted."""
    return Counter(match.lastgroup for match in _SCRIPT_UNITS.finditer(text))


def written_in(units: Counter, script: str, strict: bool = False) -> bool:
    """Whether a text with these `script_units` can be in registry script `script`: at least half its units
    are in the script's Unicode scripts (and, `strict`, it shows the letters the script cannot do without:
    kana for Japanese, Hangul for Korean). A script the table does not know is assumed possible."""
    if script not in UNICODE_SCRIPTS:
        return True
    share = sum(units[name] for name in UNICODE_SCRIPTS[script]) * 2 >= sum(units.values())
    required = REQUIRED_SCRIPTS.get(script) if strict else None
    return share and (not required or any(units[name] for name in required))


def label_scripts(labels: Iterable[str], label_scheme: str) -> dict[str, tuple[str, ...]]:
    """The registry scripts each model label can be written in: those of the registry languages with that label
    (lid.176's `zh`: Hans and Hant), else a FLORES-style label's own (GlotLID's `cmn_Hani`: Hani); labels of
    languages the registry does not know are left out (their prediction is never taken for noise)."""
    labels = frozenset(labels)
    scripts: dict[str, set[str]] = {}
    for lang in all_languages():
        if label := getattr(lang, label_scheme):
            scripts.setdefault(label, set()).add(lang.script)
    for label in labels:
        if label not in scripts and FLORES_LABEL.match(label) and label[-4:] in UNICODE_SCRIPTS:
            scripts[label] = {label[-4:]}
    return {label: tuple(sorted(found)) for label, found in scripts.items() if label in labels}
