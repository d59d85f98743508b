"""Step 2 of the curation recipe: clean both sides of every pair, character by character.

Raw bitext carries the debris of its crawl: mojibake (`CafÃ©`), HTML markup and entities, invisible
characters (NUL, BOM, zero-width spaces, bidi controls), odd spaces and unnormalised Unicode. None of it is
translation, all of it makes identical sentences look different to the deduplication and filtering steps that
follow, and some of it (a 1 MB "line") stalls them. `Cleaner` repairs what can be repaired, drops a pair only
when a side is left empty or is far too long to be a sentence, and records every drop in the rejects.
"""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import DROP, BatchFilter
from xplus.curate.clean_text import (
    INVISIBLE,
    LATIN2_REPAIRS,
    NORMALIZATION_FORMS,
    is_cjk,
    looks_like_mojibake,
    moses_punctuation,
    normalize_unicode,
    normalize_whitespace,
    remove_control_chars,
    remove_format_chars,
    remove_invalid_chars,
    repair_latin2,
    repair_mojibake,
    strip_html,
)
from xplus.curate.record import languages, mark_rejected, set_sides, sides

STEP = "clean"

#: a side is cleaned again until it stops changing (one step can expose work for another: a zero-width space
#: hiding mojibake, a decomposed letter that composes into it); a changed side takes a second, confirming
#: round, rarely a third; the cap only guards against the absurd
_MAX_ROUNDS = 4


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
    2b. Latin-1 / Latin-2 confusion (`fix_latin2`): on the sides of a language in `LATIN2_REPAIRS`, letters a
       Latin-2 text read as Latin-1 shows as others are put back (Hungarian `õ`/`û` -> `ő`/`ű`), counted
       `changed_latin2`; on human-labelled ParaCrawl v3 en-hu, 92 of 2,000 pairs carry them.
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
        fix_latin2: repair Latin-1/Latin-2 confusions on the sides of the languages in `LATIN2_REPAIRS`
        batch_size: pairs per batch (the accounting is added once per batch)
        exclusion_writer: where dropped pairs go, e.g. `RejectsWriter` / `rejects_writer(run_dir, STEP)`
        decision: `drop`, or `flag` to keep the pairs and record why in `metadata["flags"]` (see `BatchFilter`)
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
        fix_latin2: bool = True,
        batch_size: int = 1000,
        exclusion_writer: DiskWriter | None = None,
        decision: str | dict[str, str] = DROP,
    ):
        super().__init__(exclusion_writer, batch_size, decision)
        if normalization is not None and normalization not in NORMALIZATION_FORMS:
            raise ValueError(f"normalization: one of {NORMALIZATION_FORMS} or None, not {normalization!r}")
        self.normalization = normalization
        self.fix_mojibake = fix_mojibake
        self.remove_html = remove_html
        self.normalize_punctuation = normalize_punctuation
        self.max_side_chars = max_side_chars
        self.drop_mojibake = drop_mojibake
        self.fix_latin2 = fix_latin2

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        source, target = sides(doc)
        if self.max_side_chars is not None:
            for side, text in (("source", source), ("target", target)):
                if len(text) > self.max_side_chars:
                    return self._reject(doc, f"too_long_{side}", f"{len(text)} > {self.max_side_chars} chars")
        src, trg = languages(doc)
        clean_source = self.clean_side(source, cjk=is_cjk(src), language=src[:3])
        clean_target = self.clean_side(target, cjk=is_cjk(trg), language=trg[:3])
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

    def clean_side(self, text: str, cjk: bool = False, language: str | None = None) -> str:
        """One side, cleaned until it stops changing; `cjk` for Chinese, Japanese and Korean text, `language`
        (ISO 639-3) for the repairs of one language (`LATIN2_REPAIRS`)."""
        for _ in range(_MAX_ROUNDS):
            cleaned = self._clean_once(text, cjk, language)
            if cleaned == text:
                break
            text = cleaned
        return text

    def _clean_once(self, text: str, cjk: bool, language: str | None) -> str:
        if self.remove_html:
            text = self._count("changed_html", text, strip_html(text))
        if self.fix_mojibake:
            text = self._count("changed_mojibake", text, repair_mojibake(text))
        if self.fix_latin2 and language in LATIN2_REPAIRS:
            text = self._count("changed_latin2", text, repair_latin2(text, language))
        if INVISIBLE.search(text):
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
