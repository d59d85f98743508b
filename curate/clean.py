"""Step 2 of the curation recipe: clean both sides of every pair, character by character.

Raw bitext carries the debris of its crawl: mojibake (`CafÃ©`), HTML markup and entities, invisible
characters (NUL, BOM, zero-width spaces, bidi controls), odd spaces and unnormalised Unicode. None of it is
translation, all of it makes identical sentences look different to the deduplication and filtering steps that
follow, and some of it (a 1 MB "line") stalls them. `Cleaner` repairs what can be repaired, drops a pair only
when a side is left empty or is far too long to be a sentence, and records every drop in the rejects.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import ftfy
import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter
from ftfy.badness import MOJIBAKE_CATEGORIES, is_bad

from xplus.curate.batch_filter import BatchFilter
from xplus.curate.record import languages, mark_rejected, set_sides, sides

STEP = "clean"

#: a side is cleaned again until it stops changing (one step can expose work for another: a zero-width space
#: hiding mojibake, a decomposed letter that composes into it); a changed side takes a second, confirming
#: round, rarely a third; the cap only guards against the absurd
_MAX_ROUNDS = 4

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
_INVISIBLE = regex.compile(r"\p{C}")
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
    skip it)."""
    return not text.isascii() and _MOJIBAKE_HINT.search(text) is not None and is_bad(text)


def repair_mojibake(text: str) -> str:
    """Undo text decoded with the wrong codec (`CafÃ©` -> `Café`); ftfy runs only where its detector fires."""
    return ftfy.fix_text(text, FTFY_ENCODING_ONLY) if looks_like_mojibake(text) else text


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


class Cleaner(BatchFilter):
    """Clean both sides of every pair; drop pairs left with an empty side or with a side far too long.

    Each side goes through, in order (every step is optional or cheap to skip, and counted when it
    changes something):

    1. HTML (`remove_html`): real tags are removed (`<b>`, `<br/>`, `<a href="...">`, comments; a known
       element name right after `<`, so "a < b > c" stays), block-level ones leaving a space; entities
       ending in `;` are decoded (`&amp;`, `&#39;`, `&nbsp;`), repeatedly for double-escaped text.
       This runs before the mojibake repair because an entity can encode mojibake (`&Atilde;&copy;`).
    2. Mojibake (`fix_mojibake`): ftfy's encoding repair only (`FTFY_ENCODING_ONLY`), and only where
       ftfy's own detector (`ftfy.badness.is_bad`) sees mojibake; ASCII text, and text without any of
       the characters mojibake is made of (`_MOJIBAKE_HINT`), skip the detector.
    3. Invisible characters: control characters (Cc) are removed, except whitespace controls, which step 6
       turns into spaces (so `a\\nb` stays two words and a trailing `\\r` goes); format characters (Cf:
       soft hyphen, ZWSP, BOM, LRM/RLM, bidi embeddings and isolates, word joiner, tag characters...) are
       removed, except ZWNJ U+200C / ZWJ U+200D where they shape text: right after a virama (Indic half
       forms and explicit viramas, Malayalam's old-style chillu `ന്\\u200d` at the end of a word), between
       two characters of a script that uses them (Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil,
       Telugu, Kannada, Malayalam, Sinhala, Myanmar, Khmer; Arabic for Persian, Urdu, Arabic..., Syriac,
       NKo, Mongolian: Persian `می\\u200cخواهم`), and ZWJ between two pictographs of an emoji sequence
       (`👩🏽\\u200d💻`); a run of joiners keeps one. Elsewhere (`a\\u200db` in Latin text, a ZWNJ before a
       space) they are invisible noise and go. Private-use (Co), unassigned (Cn) characters and lone
       surrogates (Cs) are removed. U+FFFD is kept: it is a visible sign of a lossy decode that later
       filters may want to see.
    4. Unicode normalisation (`normalization`, NFC by default), after step 3 so that a combining mark freed
       from a removed character composes with its base. NFC only composes; NFKC would also fold
       compatibility characters, which damages text: CJK full-width punctuation (`，` -> `,`), the
       ideographic space, superscripts (`10³` -> `103`), circled and width variants, Arabic presentation
       forms, and so on. Choose NFKC only knowingly.
    5. Punctuation (`normalize_punctuation`, off by default), in the spirit of Moses'
       `normalize-punctuation.perl` (sacremoses' `MosesPunctNormalizer`): typographic quotes (guillemets
       too, as in Moses) and primes to `"`/`'`, dashes to `-` (em dash to ` - `), `…` to `...`, full-width
       ASCII punctuation and digits to ASCII, no whitespace before closing punctuation (` ,` -> `,`) or
       after opening brackets, none between a number and `%`. Moses' language-specific moves (quote/comma
       swaps) are not done. Sides in Chinese, Japanese or Korean (by the record's language code,
       `zho`/`jpn`/`kor`/`yue`...) are left untouched: their full-width punctuation `，。！？：；（）` and
       quotes `“”「」` are the norm there.
    6. Whitespace: every whitespace character (NBSP, U+2000-200A, U+202F, line and paragraph separators,
       \\t, \\n, \\r...) becomes an ASCII space, runs collapse to one, both ends are stripped. The
       ideographic space U+3000 is ordinary CJK typography (a full-width space, e.g. between given and
       family name), so on CJK sides a run of it is kept as one U+3000; on other sides it is a space.

    A side is cleaned again until it stops changing, which makes cleaning idempotent:
    `clean(clean(x)) == clean(x)`. Only markup and mojibake repair can remove letters (`\\p{L}`), so a side
    with letters is emptied only when all of them were tags, entities or mojibake. Cleaning is fast where
    there is nothing to do: an ASCII sentence costs a few substring and regex scans.

    Decisions, recorded with `mark_rejected` under step `clean`:
    - `too_long_source` / `too_long_target`: the raw side has more than `max_side_chars` characters (not a
      sentence; checked before any work so that it cannot stall this or later steps);
    - `empty_source` / `empty_target`: nothing is left of the side after cleaning;
    - `mojibake_source` / `mojibake_target` (`drop_mojibake`): ftfy's detector still sees mojibake in the
      cleaned side, i.e. the repair could not undo it (bytes were lost on the way: `Soukromé ubytovánÃ`,
      `pÅ ipomà nky`). On human-labelled ParaCrawl v3 this drops 18 of 10,000 pairs, 17 labelled wrong
      language and 1 misaligned, none valid; on FLORES-200 dev+devtest (17 languages) and the other shared
      corpora it drops nothing (`bench/results/quality_paracrawl.md`).
    Rejected pairs are written as they came in, so the rejects show what was dropped.

    Args:
        normalization: Unicode normalisation form ("NFC", "NFD", "NFKC", "NFKD"), None for none
        fix_mojibake: repair mojibake with ftfy (encoding fixes only)
        remove_html: strip HTML tags and decode HTML entities
        normalize_punctuation: Moses-style punctuation normalisation on non-CJK sides
        max_side_chars: reject a pair with a side longer than this (characters); None for no limit
        drop_mojibake: reject a pair with a side still mojibake after the repair
        batch_size: pairs per batch (the accounting is added once per batch)
        exclusion_writer: where dropped pairs go, e.g. `RejectsWriter` / `rejects_writer(run_dir, STEP)`
    """

    name = "🧽 Bitext cleaner"

    def __init__(
        self,
        normalization: str | None = "NFC",
        fix_mojibake: bool = True,
        remove_html: bool = True,
        normalize_punctuation: bool = False,
        max_side_chars: int | None = 10_000,
        drop_mojibake: bool = True,
        batch_size: int = 1000,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer, batch_size)
        if normalization is not None and normalization not in NORMALIZATION_FORMS:
            raise ValueError(f"normalization: one of {NORMALIZATION_FORMS} or None, not {normalization!r}")
        self.normalization = normalization
        self.fix_mojibake = fix_mojibake
        self.remove_html = remove_html
        self.normalize_punctuation = normalize_punctuation
        self.max_side_chars = max_side_chars
        self.drop_mojibake = drop_mojibake

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        source, target = sides(doc)
        if self.max_side_chars is not None:
            for side, text in (("source", source), ("target", target)):
                if len(text) > self.max_side_chars:
                    return self._reject(doc, f"too_long_{side}", f"{len(text)} > {self.max_side_chars} chars")
        src, trg = languages(doc)
        clean_source = self.clean_side(source, cjk=is_cjk(src))
        clean_target = self.clean_side(target, cjk=is_cjk(trg))
        if not clean_source:
            return self._reject(doc, "empty_source")
        if not clean_target:
            return self._reject(doc, "empty_target")
        if self.drop_mojibake:
            for side, text in (("source", clean_source), ("target", clean_target)):
                if looks_like_mojibake(text):
                    return self._reject(doc, f"mojibake_{side}", f"unrepaired mojibake: {text[:80]!r}")
        if clean_source != source or clean_target != target:
            self.stat_update("pairs_changed")
            set_sides(doc, clean_source, clean_target)
        return True

    def clean_side(self, text: str, cjk: bool = False) -> str:
        """One side, cleaned until it stops changing; `cjk` for Chinese, Japanese and Korean text."""
        for _ in range(_MAX_ROUNDS):
            cleaned = self._clean_once(text, cjk)
            if cleaned == text:
                break
            text = cleaned
        return text

    def _clean_once(self, text: str, cjk: bool) -> str:
        if self.remove_html:
            text = self._count("changed_html", text, strip_html(text))
        if self.fix_mojibake:
            text = self._count("changed_mojibake", text, repair_mojibake(text))
        if _INVISIBLE.search(text):
            text = self._count("removed_control_chars", text, remove_control_chars(text))
            text = self._count("removed_format_chars", text, remove_format_chars(text))
            text = self._count("removed_invalid_chars", text, remove_invalid_chars(text))
        if self.normalization:
            text = self._count(
                "changed_unicode_normalization", text, normalize_unicode(text, self.normalization)
            )
        if self.normalize_punctuation and not cjk:
            text = self._count("changed_punctuation", text, moses_punctuation(text))
        return self._count("changed_whitespace", text, normalize_whitespace(text, cjk))

    def _count(self, stat: str, before: str, after: str) -> str:
        if after != before:
            self.stat_update(stat)
        return after

    def _reject(self, doc: Document, reason: str, detail: str | None = None) -> tuple[bool, str]:
        mark_rejected(doc, STEP, reason, detail)
        return False, reason
