"""The character-level repairs of step 2 (`xplus.curate.clean.Cleaner` applies them to both sides of a pair):
mojibake, Latin-1/Latin-2 confusions, HTML, invisible characters, Unicode normalisation, punctuation, whitespace.
Each takes a string and returns it unchanged when there is nothing to do, cheaply."""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import ftfy
import regex
from ftfy.badness import MOJIBAKE_CATEGORIES, is_bad

NORMALIZATION_FORMS = ("NFC", "NFD", "NFKC", "NFKD")

# --- mojibake -------------------------------------------------------------------------------------------

#: ftfy restricted to repairing the encoding: no HTML unescaping, no ligature/width folding, no quote
#: uncurling, no line-break or control-character edits, no normalisation -- the other steps own those.
#: The sub-options of `fix_encoding` stay at ftfy's defaults (ftfy uses its defaults for them anyway when
#: `explain` is off); `fix_c1_controls` and `fix_surrogates` are encoding repairs too.
FTFY_ENCODING_ONLY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=True,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)

#: every pattern of ftfy's detector (`ftfy.badness.BADNESS_RE`) needs a character of one of its mojibake
#: categories other than the "common" ones (the NBSP, dashes, ’, …, and plain Greek and Cyrillic letters,
#: which only count next to others), or is one of its two all-Cyrillic sequences; text with none of them
#: (most lines of English, Cyrillic, Greek, Indic, Arabic, CJK text) skips the detector (~20 µs a line)
_MOJIBAKE_HINT = re.compile(
    "["
    + "".join(chars for category, chars in MOJIBAKE_CATEGORIES.items()
              if category not in ("common", "lower_common", "upper_common"))
    + "]|вЂ|ВЂ"
)

# --- Latin-1 / Latin-2 -----------------------------------------------------------------------------------

#: letters of a language that Latin-2 (ISO 8859-2, Windows-1250) encodes at a byte Latin-1 reads as another:
#: Hungarian ő/ű/Ő/Ű are 0xF5/0xFB/0xD5/0xDB, which Latin-1 shows as õ/û/Õ/Û (`szerzõdésekbõl`); none of the four
#: is a Hungarian letter. A character is repaired only next to a letter, so a quoted letter (Estonian `„Õ/õ”`
#: in FLORES) stays.
LATIN2_REPAIRS = {"hun": {"õ": "ő", "û": "ű", "Õ": "Ő", "Û": "Ű"}}
_LATIN2_CONFUSED = {language: (regex.compile(rf"(?<=\p{{L}})[{''.join(table)}]|[{''.join(table)}](?=\p{{L}})"),
                               str.maketrans(table))
                    for language, table in LATIN2_REPAIRS.items()}

# --- HTML -----------------------------------------------------------------------------------------------

# Only real tags are stripped: a known element name right after `<` (or `</`), then attributes that have a
# value, so "a < b > c" and "if a<b and c>d" stay. Block-level tags become a space ("one<br>two" is two
# words), inline ones vanish ("<b>bold</b>").
_BLOCK_ELEMENTS = (
    "address|article|aside|blockquote|body|br|caption|center|dd|div|dl|dt|figcaption|figure|footer|h[1-6]|"
    "head|header|hr|html|li|main|nav|ol|p|pre|section|table|tbody|td|tfoot|th|thead|title|tr|ul"
)
_INLINE_ELEMENTS = (
    "a|abbr|acronym|b|bdi|bdo|big|cite|code|del|dfn|em|font|i|img|ins|kbd|mark|nobr|q|s|samp|small|span|"
    "strike|strong|sub|sup|tt|u|var|wbr"
)
_ATTRIBUTES = r"""(?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'=<>`]+))*\s*/?>"""
_TAG = regex.compile(
    rf"</?(?:(?P<block>{_BLOCK_ELEMENTS})|{_INLINE_ELEMENTS}){_ATTRIBUTES}|<!--.*?-->",
    regex.IGNORECASE | regex.DOTALL,
)
#: entities end with `;` here: html.unescape alone would also read "&not" in "Barnes&noble" as "¬"
_ENTITY = regex.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# --- invisible characters -------------------------------------------------------------------------------

#: scripts whose shaping uses ZWNJ/ZWJ: conjuncts and half forms of the Brahmic scripts (Indic, Sinhala,
#: Myanmar, Khmer) and cursive joining of Arabic (Persian, Urdu, Arabic, ...), Syriac, NKo and Mongolian
_JOINER_SCRIPTS = (
    "Deva", "Beng", "Guru", "Gujr", "Orya", "Taml", "Telu", "Knda", "Mlym", "Sinh", "Mymr", "Khmr",
    "Arab", "Syrc", "Nkoo", "Mong",
)
_JOINER_SCRIPT = "[" + "".join(rf"\p{{sc={script}}}" for script in _JOINER_SCRIPTS) + "]"
_JOINER = r"[\u200c\u200d]"
#: where ZWNJ/ZWJ shape text and are kept (combining marks and other format characters may stand between
#: the joiner and what it needs before it; of a run of joiners only the last can qualify):
#: - right after a virama (`\p{ccc=Virama}`): half forms, an explicit virama, Malayalam's old-style chillu
#:   (`ന്\u200d`, often at the end of a word);
#: - between two characters of a joiner script (Persian `می\u200cخواهم`);
#: - ZWJ between two pictographs of an emoji sequence (after a skin tone or VS16 too).
_KEPT_JOINER = (
    rf"(?<=\p{{ccc=Virama}}\p{{Cf}}*){_JOINER}(?!{_JOINER})"
    rf"|(?<={_JOINER_SCRIPT}[\p{{M}}\p{{Cf}}]*){_JOINER}(?={_JOINER_SCRIPT})"
    r"|(?<=\p{Extended_Pictographic}[\p{Emoji_Modifier}\ufe0f\p{Cf}]*)\u200d(?=\p{Extended_Pictographic})"
)
#: a cheap first look for any of Cc, Cf, Co, Cn, Cs; whitespace controls (\t, \n, \r, ...) are then left to
#: the whitespace step, which turns them into spaces
INVISIBLE = regex.compile(r"\p{C}")
_CONTROL = regex.compile(r"[\p{Cc}--\p{White_Space}]", regex.V1)
_FORMAT = regex.compile(rf"(?!{_KEPT_JOINER})\p{{Cf}}")
_INVALID = regex.compile(r"[\p{Co}\p{Cn}\p{Cs}]")

# --- whitespace -----------------------------------------------------------------------------------------

# `re` here (faster than `regex` for these): its \s is str.isspace, the Unicode White_Space characters plus
# \x1c-\x1f, which are controls and gone by the time this step runs
_SPACE_RUN = re.compile(r"\s+")
#: something to rewrite: whitespace other than a single ASCII space
_ODD_SPACE = re.compile(r"[^\S ]| \s")
#: the same, where the ideographic space U+3000 is at home (CJK sides)
_ODD_SPACE_CJK = re.compile(r"[^\S \u3000]|[ \u3000]\s")
IDEOGRAPHIC_SPACE = "\u3000"

CJK_LANGUAGES = frozenset({"zho", "cmn", "yue", "wuu", "lzh", "jpn", "kor"})
CJK_SCRIPTS = frozenset({"Hans", "Hant", "Hani", "Jpan", "Kore", "Hang"})

# --- punctuation ----------------------------------------------------------------------------------------

#: Moses' normalize-punctuation / replace-unicode-punctuation mappings, minus its language-specific quote
#: and comma moves: typographic quotes, primes, dashes and the ellipsis, and the full-width forms of ASCII
#: punctuation and digits (stray in non-CJK text; full-width letters are left alone)
_PUNCT_MAP = {
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\u301d\u301e\u300a\u300b\u300c\u300d", '"'),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-"),
    **dict.fromkeys("\u2014\u2015", " - "),
    "\u2026": "...",
    "\u3001": ",",
    "\u3002": ". ",
    "\u3010": "[",
    "\u3011": "]",
    **{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F) if not chr(code).isalpha()},
}
_PUNCT_TABLE = str.maketrans(_PUNCT_MAP)
#: whitespace before closing punctuation (" ," -> ","; not before ".5" or ".NET"), after opening brackets
#: ("( a" -> "(a") and between a number and "%"
_PUNCT_SPACING = re.compile(r"""(?<=\S)\s+(?=[,.;:!?)\]}]+(?:[\s"']|$))|(?<=[(\[{])\s+|(?<=\d)\s+(?=%)""")
_PUNCT_CANDIDATE = re.compile("[" + re.escape("".join(_PUNCT_MAP)) + r"""]|''|\s[,.;:!?)\]}%]|[(\[{]\s""")


def looks_like_mojibake(text: str) -> bool:
    """Whether ftfy's detector sees mojibake in `text` (ASCII text and text without mojibake's characters
    skip it; the detector's answer for the last texts is remembered: the cleaner asks again about a side its
    last round left unchanged, when it checks for mojibake it could not repair)."""
    return not text.isascii() and _MOJIBAKE_HINT.search(text) is not None and _is_bad(text)


#: ftfy's detector, a pure function of the text (~20 µs a line), remembered for the last texts asked about
_is_bad = lru_cache(maxsize=4096)(is_bad)


def repair_mojibake(text: str) -> str:
    """Undo text decoded with the wrong codec (`CafÃ©` -> `Café`); ftfy runs only where its detector fires."""
    return ftfy.fix_text(text, FTFY_ENCODING_ONLY) if looks_like_mojibake(text) else text


def repair_latin2(text: str, language: str) -> str:
    """Letters of `language` (an ISO 639-3 code with an entry in `LATIN2_REPAIRS`) that a Latin-2 text read as
    Latin-1 turned into others (`szerzõdés` -> `szerződés`); text of other languages is returned as it is."""
    found = _LATIN2_CONFUSED.get(language)
    if found is None or not found[0].search(text):
        return text
    pattern, table = found
    return pattern.sub(lambda match: match.group().translate(table), text)


def _replace_tag(match: regex.Match) -> str:
    return " " if match.group("block") is not None else ""


def _unescape_entity(match: regex.Match) -> str:
    return html.unescape(match.group())


def strip_html(text: str) -> str:
    """Drop tags and decode entities, until none are left (double-escaped `&amp;lt;b&amp;gt;` included)."""
    while "<" in text or "&" in text:
        stripped = _ENTITY.sub(_unescape_entity, _TAG.sub(_replace_tag, text))
        if stripped == text:
            break
        text = stripped
    return text


def remove_control_chars(text: str) -> str:
    """Remove Cc characters (NUL, ESC, DEL, C1 controls...), except whitespace ones."""
    return _CONTROL.sub("", text)


def remove_format_chars(text: str) -> str:
    """Remove Cf characters (soft hyphen, ZWSP, BOM, LRM/RLM, bidi controls, ...) except needed joiners."""
    return _FORMAT.sub("", text)


def remove_invalid_chars(text: str) -> str:
    """Remove private-use (Co), unassigned (Cn) characters and lone surrogates (Cs)."""
    return _INVALID.sub("", text)


def _collapse_cjk_space(match: re.Match) -> str:
    run = match.group()
    return IDEOGRAPHIC_SPACE if run == IDEOGRAPHIC_SPACE * len(run) else " "


def normalize_whitespace(text: str, cjk: bool = False) -> str:
    """Every run of whitespace becomes one ASCII space, both ends stripped; on CJK sides a run of
    ideographic spaces becomes one ideographic space."""
    if cjk:
        if _ODD_SPACE_CJK.search(text):
            text = _SPACE_RUN.sub(_collapse_cjk_space, text)
    elif _ODD_SPACE.search(text):
        text = _SPACE_RUN.sub(" ", text)
    return text.strip()


def normalize_unicode(text: str, form: str) -> str:
    """Unicode normalisation to `form`; ASCII and already normalised text are returned as they are."""
    if text.isascii() or unicodedata.is_normalized(form, text):
        return text
    return unicodedata.normalize(form, text)


def moses_punctuation(text: str) -> str:
    """Moses-style punctuation normalisation for non-CJK text (see `_PUNCT_MAP`, `_PUNCT_SPACING`)."""
    if not _PUNCT_CANDIDATE.search(text):
        return text
    return _PUNCT_SPACING.sub("", text.translate(_PUNCT_TABLE).replace("''", '"'))


@lru_cache(maxsize=1024)
def is_cjk(code: str) -> bool:
    """Whether a FLORES-200 code (`zho_Hans`, `jpn_Jpan`) names Chinese, Japanese or Korean text."""
    language, _, script = code.partition("_")
    return language in CJK_LANGUAGES or script in CJK_SCRIPTS
