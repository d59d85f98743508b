"""Tests of step 2, the bitext cleaner (`xplus.curate.clean`)."""

from __future__ import annotations

import json
import re
import unicodedata
from itertools import islice
from pathlib import Path

import ftfy
import pytest
import regex
from datatrove.executor import LocalPipelineExecutor
from ftfy.badness import MOJIBAKE_CATEGORIES, is_bad
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xplus.curate.clean import STEP, Cleaner
from xplus.curate.clean_text import FTFY_ENCODING_ONLY, is_cjk, repair_mojibake
from xplus.curate.record import REJECT_REASON, REJECT_STEP, make_pair, sides
from xplus.curate.writers import BitextJsonlWriter, RejectsWriter

from ..conftest import shared_data_dir

GLOBALVOICES = shared_data_dir() / "bitext" / "opus-globalvoices" / "en-sw"
LETTER = regex.compile(r"\p{L}")

ZWJ, ZWNJ, ZWSP, NBSP, IDEOGRAPHIC_SPACE = "\u200d", "\u200c", "\u200b", "\u00a0", "\u3000"


def pair(src_text: str, tgt_text: str = "Habari", src: str = "eng_Latn", trg: str = "swh_Latn",
         line: int = 1):
    return make_pair(src_text, tgt_text, src, trg, "test", "test.en", line)


def clean(text: str, cjk: bool = False, **options) -> str:
    return Cleaner(**options).clean_side(text, cjk=cjk)


def stats(cleaner: Cleaner) -> dict:
    return {key: value["total"] if isinstance(value, dict) else value
            for key, value in cleaner.stats.to_dict()["stats"].items()}


# --- mojibake -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CafÃ©", "Café"),
        ("Itâ€™s here", "It’s here"),  # the repaired quote stays curly: ftfy does not uncurl quotes here
        ("РџСЂРёРІРµС‚", "Привет"),  # UTF-8 Cyrillic read as Windows-1251
        ("ï»¿Hello", "Hello"),  # a mojibake BOM, repaired and then removed
    ],
)
def test_mojibake_repaired(raw, expected):
    assert clean(raw) == expected


def test_mojibake_repair_does_only_encoding():
    # full ftfy would also uncurl the quotes, fold the full-width letters and the ligature
    assert clean("CafÃ© “quoted” ＦＵＬＬ ﬁne") == "Café “quoted” ＦＵＬＬ ﬁne"


def test_mojibake_left_alone_when_disabled():
    assert clean("CafÃ©", fix_mojibake=False) == "CafÃ©"


def test_mojibake_not_invented_in_correct_text():
    for text in ("naïve café", "Ελληνικά κείμενα", "Größe", "São Paulo — ¿qué?", "10 € × 2"):
        assert clean(text) == text


@pytest.mark.parametrize(
    ("source", "target", "reason"),
    [
        # real ParaCrawl v3 lines (labelled wrong language): UTF-8 read as Latin-1 with bytes lost on the way
        ("DIN rail mounted kWh meters", "Elektrom\xc4 ry na li\xc5\xa1tu DIN", "mojibake_target"),
        ("7x Remix MAX PLUS - Vacuum mixer", "7x Remix MAX PLUS - M\u251c\xaelangeur sous vide", "mojibake_target"),
        ("N\xc3\xa1m\xc4 ty, dotazy, p\xc5 ipom\xc3 nky N\xc3\xa1m\xc4 ty na nov\xc3\xa9 slu\xc5\xbeby a "
         "zlep\xc5\xa1ov\xc3\xa1ky",
         "Smazat všechny cookies z fóra", "mojibake_source"),
    ],
)
def test_unrepairable_mojibake_rejected(source, target, reason):
    doc = pair(source, target, trg="ces_Latn")
    assert Cleaner().filter(doc) == (False, reason)
    assert doc.metadata[REJECT_STEP] == STEP and doc.metadata[REJECT_REASON] == reason
    assert Cleaner(drop_mojibake=False).filter(pair(source, target, trg="ces_Latn")) is True


def test_repaired_mojibake_kept():
    doc = pair("CafÃ© au lait", "Kahawa ya CafÃ©")
    assert Cleaner().filter(doc) is True and sides(doc) == ("Café au lait", "Kahawa ya Café")


_MOJIBAKE_ALPHABET = "".join(
    sorted(
        {chr(code) for code in range(0x80, 0x3000)
         if any(re.match(f"[{chars}]", chr(code)) for chars in MOJIBAKE_CATEGORIES.values())}
        | set("ÂÃÎÐØÙâàβāвЂГўВРСΒΓΞΟабвгдежзийклмнопрстуфхцчшщъыьэюяαβγδεζηθ")
        | set("aeorsAZ .,!?0123456789")
    )
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_MOJIBAKE_ALPHABET, min_size=1, max_size=8))
def test_mojibake_prefilter_never_hides_what_ftfy_detects(text):
    """The cheap prefilter in front of ftfy's detector must not change a single decision."""
    expected = ftfy.fix_text(text, FTFY_ENCODING_ONLY) if is_bad(text) else text
    assert repair_mojibake(text) == expected


# --- HTML -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<b>Hello</b> <i>world</i>", "Hello world"),
        ("one<br/>two<BR>three<p class='x'>four</p>", "one two three four"),
        ('See <a href="https://example.org/?a=1&amp;b=2" target=_blank>this page</a>.', "See this page."),
        ("<!-- a comment -->Text", "Text"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("it&#39;s &#x201C;fine&#x201D;", "it's “fine”"),
        ("a&nbsp;b", "a b"),
        ("5 &lt; 6", "5 < 6"),
        ("B&amp;amp;B", "B&B"),  # double-escaped
        ("&lt;b&gt;bold&lt;/b&gt;", "bold"),  # escaped markup is markup too
        ("Caf&Atilde;&copy;", "Café"),  # an entity-encoded mojibake
    ],
)
def test_html_stripped_and_unescaped(raw, expected):
    assert clean(raw) == expected


@pytest.mark.parametrize(
    "text",
    ["a < b > c", "if a<b and c>d then", "x <= y", "Barnes&noble", "AT&T", "R&D; more", "5 > 3 < 4",
     "<3 you"],
)
def test_html_lookalikes_untouched(text):
    assert clean(text) == text


def test_html_left_alone_when_disabled():
    assert clean("<b>Tom &amp; Jerry</b>", remove_html=False) == "<b>Tom &amp; Jerry</b>"


# --- invisible characters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x00b\x07c\x1bd\x7fe", "abcde"),  # NUL, BEL, ESC, DEL
        ("line\r", "line"),
        ("one\r\ntwo", "one two"),
        ("one\ttwo\x0bthree\x0cfour", "one two three four"),
        ("\ufeffHello", "Hello"),  # BOM
        ("foo\u200bbar", "foobar"),  # zero-width space
        ("co\u00adoperate", "cooperate"),  # soft hyphen
        ("a\u200eb\u200fc", "abc"),  # LRM / RLM
        ("\u202bRTL\u202c \u2067iso\u2069", "RTL iso"),  # bidi embedding, isolate
        ("word\u2060joiner", "wordjoiner"),
        ("private\ue000use \U000f0000", "privateuse"),  # private use
        ("un\U000e01f0assigned\ufdd0", "unassigned"),  # unassigned, noncharacter
        ("lone\ud800surrogate", "lonesurrogate"),
        ("a\u200db", "ab"),  # ZWJ in Latin text
        ("Auf\u200clage", "Auflage"),  # ZWNJ in Latin text
    ],
)
def test_invisible_characters_removed(raw, expected):
    assert clean(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "می\u200cخواهم",  # Persian: ZWNJ between the prefix and the verb
        "نمی\u200cتوانم",
        "क्\u200dष",  # Hindi: ZWJ asks for the half form of क
        "क्\u200cष",  # Hindi: ZWNJ keeps the virama visible, no conjunct
        "र\u200d्य",  # Bengali: ZWJ + virama, the ra-phala form of র্য
        "ক্\u200cষ",  # Bengali: ZWNJ after the virama
        "അവന്\u200d പോയി",  # Malayalam: old-style chillu, virama + ZWJ at the end of a word
        "ശ്രീ\u200cലങ്ക",
        "👩\u200d💻 👨\u200d👩\u200d👧 🏳\ufe0f\u200d🌈 👩🏽\u200d🚀",  # emoji ZWJ sequences
        "ශ්\u200dරී ලංකාව",  # Sinhala: ZWJ for the rakaaraansaya
    ],
)
def test_joiners_kept_where_a_script_needs_them(text):
    assert clean(text) == text


def test_joiner_runs_and_stray_joiners():
    assert clean(f"क्{ZWNJ}{ZWNJ}{ZWNJ}ष") == f"क्{ZWNJ}ष"  # a run keeps one
    assert clean(f"क्{ZWNJ}{ZWJ} ष") == f"क्{ZWJ} ष"
    assert clean(f"क्{ZWSP}{ZWNJ}ष") == f"क्{ZWNJ}ष"
    assert clean(f"क{ZWNJ}ष") == f"क{ZWNJ}ष"  # between two Devanagari letters
    assert clean(f"می{ZWNJ} خواهم") == "می خواهم"  # before a space it joins nothing
    assert clean(f"{ZWNJ}می") == "می"
    assert clean(f"😀{ZWJ}a") == "😀a"


def test_replacement_character_kept():
    assert clean("caf\ufffd au lait") == "caf\ufffd au lait"


# --- whitespace -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"a{NBSP}b", "a b"),
        ("a\u2002b\u2009c\u202fd\u205fe", "a b c d e"),
        ("  many    spaces \t here  ", "many spaces here"),
        ("para\u2029graph\u2028line", "para graph line"),
        (f"a{IDEOGRAPHIC_SPACE}b", "a b"),  # not a CJK side: just a space
    ],
)
def test_whitespace_normalized(raw, expected):
    assert clean(raw) == expected


def test_next_line_control():
    assert clean("line\x85next", fix_mojibake=False) == "line next"  # NEL is whitespace
    assert clean("line\x85next") == "line…next"  # but a C1 control is read as Windows-1252 by ftfy


def test_ideographic_space_kept_on_cjk_sides():
    assert clean(f"山田{IDEOGRAPHIC_SPACE}太郎", cjk=True) == f"山田{IDEOGRAPHIC_SPACE}太郎"
    assert clean(f"{IDEOGRAPHIC_SPACE}山田{IDEOGRAPHIC_SPACE * 3}太郎{IDEOGRAPHIC_SPACE}", cjk=True) == (
        f"山田{IDEOGRAPHIC_SPACE}太郎"
    )
    assert clean(f"山田 {IDEOGRAPHIC_SPACE}{NBSP}太郎", cjk=True) == "山田 太郎"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("zho_Hans", True), ("zho_Hant", True), ("yue_Hant", True), ("jpn_Jpan", True), ("kor_Hang", True),
     ("eng_Latn", False), ("rus_Cyrl", False), ("arb_Arab", False), ("hin_Deva", False)],
)
def test_is_cjk(code, expected):
    assert is_cjk(code) is expected


# --- Unicode normalisation ------------------------------------------------------------------------------


def test_nfc_composes():
    assert clean("Cafe\u0301") == "Café"
    assert clean("e\u0301") == "\u00e9"
    assert clean("e\u200b\u0301") == "\u00e9"  # the mark composes once the ZWSP in between is gone


def test_nfc_does_not_fold_compatibility_characters():
    text = "１０³ km²，ﬁ ①"
    assert clean(text, cjk=True) == text
    assert clean(text, cjk=True, normalization="NFKC") == "103 km2,fi 1"


def test_normalization_can_be_disabled_and_is_validated():
    assert clean("e\u0301", normalization=None) == "e\u0301"
    with pytest.raises(ValueError, match="normalization"):
        Cleaner(normalization="NFX")


# --- punctuation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("He said “hi” — ok , fine …", 'He said "hi" - ok, fine...'),
        ("„Gut“, sagte sie", '"Gut", sagte sie'),
        ("«Bonjour» , dit-il ; puis : rien !", '"Bonjour", dit-il; puis: rien!'),
        ("It’s Mary‘s ``book''", "It's Mary's \"book\""),
        ("pages 10–20, −5", "pages 10-20, -5"),
        ("( a ) [ b ] 50 %", "(a) [b] 50%"),
        ("Stray full-width，punctuation！（１２）", "Stray full-width,punctuation!(12)"),
        ("worth .5 of .NET", "worth .5 of .NET"),
        ("Это “цитата” — да", 'Это "цитата" - да'),
    ],
)
def test_punctuation_normalized(raw, expected):
    assert clean(raw, normalize_punctuation=True) == expected


def test_punctuation_off_by_default():
    assert clean("He said “hi” — ok , fine …") == "He said “hi” — ok , fine …"


def test_cjk_full_width_punctuation_untouched():
    chinese = "你好，世界！“测试”（一）：是；吗？《书》「引用」……"
    japanese = "東京へ行きます。「はい」と言った！"
    cleaner = Cleaner(normalize_punctuation=True)
    for text, code in ((chinese, "zho_Hans"), (japanese, "jpn_Jpan"), ("안녕하세요，세계！", "kor_Hang")):
        doc = pair("Hello , “world” …", text, trg=code)
        assert cleaner.filter(doc) is True
        assert sides(doc) == ('Hello, "world"...', text)


# --- decisions and stats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "reason"),
    [
        ("<br/>", "Habari", "empty_source"),
        ("   ", "Habari", "empty_source"),
        ("Hello", f"{ZWSP}{NBSP}\ufeff\x00", "empty_target"),
        ("Hello", "", "empty_target"),
    ],
)
def test_empty_side_rejected(source, target, reason):
    doc = pair(source, target)
    assert Cleaner().filter(doc) == (False, reason)
    assert doc.metadata[REJECT_STEP] == STEP == "clean"
    assert doc.metadata[REJECT_REASON] == reason
    assert sides(doc) == (source, target)  # rejects keep the pair as it came


def test_too_long_side_rejected():
    cleaner = Cleaner(max_side_chars=10)
    doc = pair("x" * 11, "short")
    assert cleaner.filter(doc) == (False, "too_long_source")
    assert doc.metadata[REJECT_STEP] == "clean"
    assert doc.metadata["reject_detail"] == "11 > 10 chars"
    assert cleaner.filter(pair("short", "y" * 50)) == (False, "too_long_target")
    assert cleaner.filter(pair("x" * 10, "y" * 10)) is True
    assert Cleaner(max_side_chars=None).filter(pair("x" * 20_000, "y")) is True
    assert Cleaner().filter(pair("x" * 10_001, "y")) == (False, "too_long_source")


def test_changes_are_counted():
    cleaner = Cleaner(normalize_punctuation=True)
    docs = [
        pair("CafÃ©", "Kahawa"),
        pair("<b>Hi</b>", "Habari"),
        pair("e\u0301", "a\x00b"),
        pair("\ufeffBOM", f"x{NBSP}y"),
        pair("“quoted”", "ok"),
        pair("private\ue000", "fine"),
        pair("untouched", "sawa"),
        pair("<p></p>", "tupu"),
    ]
    kept = list(cleaner.run(iter(docs)))
    assert len(kept) == 7
    counts = stats(cleaner)
    assert counts["changed_mojibake"] == 1
    assert counts["changed_html"] == 2
    assert counts["changed_unicode_normalization"] == 1
    assert counts["removed_control_chars"] == 1
    assert counts["removed_format_chars"] == 1
    assert counts["removed_invalid_chars"] == 1
    assert counts["changed_whitespace"] == 2  # the NBSP, and the space left by <p></p>
    assert counts["changed_punctuation"] == 1
    assert counts["pairs_changed"] == 6
    assert counts["total"] == 8
    assert counts["forwarded"] == 7
    assert counts["dropped_empty_source"] == 1


def test_in_a_datatrove_pipeline_with_rejects(tmp_path):
    docs = [
        pair("Hello <b>world</b>", "Habari dunia", line=1),
        pair("CafÃ©", "Kahawa", line=2),
        pair("<br>", "Tupu", line=3),
        pair("Long " * 10, "Ndefu", line=4),
        pair("Fine", f"{ZWSP}", line=5),
    ]
    executor = LocalPipelineExecutor(
        pipeline=[
            docs,
            Cleaner(max_side_chars=40, exclusion_writer=RejectsWriter(str(tmp_path / "rejects" / STEP))),
            BitextJsonlWriter(str(tmp_path / "out")),
        ],
        tasks=1,
        workers=1,
        logging_dir=str(tmp_path / "logs"),
    )
    executor.run()

    rejects_file = tmp_path / "rejects" / STEP / "00000.jsonl"
    rejects = [json.loads(line) for line in rejects_file.read_text().splitlines()]
    assert [(row["line"], row["step"], row["reason"]) for row in rejects] == [
        (3, "clean", "empty_source"),
        (4, "clean", "too_long_source"),
        (5, "clean", "empty_target"),
    ]
    assert rejects[0]["src_line"] == "<br>"

    kept = [json.loads(line) for line in (tmp_path / "out" / "00000.jsonl").read_text().splitlines()]
    assert [(row["src_line"], row["tgt_line"]) for row in kept] == [
        ("Hello world", "Habari dunia"),
        ("Café", "Kahawa"),
    ]


# --- properties -----------------------------------------------------------------------------------------

_CLEANERS = {
    "default": Cleaner(),
    "everything": Cleaner(normalize_punctuation=True),
    "nfkc": Cleaner(normalization="NFKC", normalize_punctuation=True),
    "minimal": Cleaner(normalization=None, fix_mojibake=False, remove_html=False),
}

#: pieces of text from many scripts, with the debris the cleaner deals with mixed in
_PIECES = [
    "Hello", "world", "naïve", "Größe", "Привет", "мир", "Ελλάδα", "नमस्ते", "क्", "ष", "বাংলা", "র", "্য",
    "می", "خواهم", "العربية", "עברית", "中文", "你好", "日本語", "ひらがな", "한국어", "ไทย", "తెలుగు",
    "ශ්", "රී",
    "👩", "💻", "🏳", "🌈", "🏽", "e\u0301", "\u0301", "\u094d", "\u064e",
    ZWJ, ZWNJ, ZWSP, "\ufeff", "\u00ad", "\u200e", "\u2066", "\ufe0f", NBSP, IDEOGRAPHIC_SPACE, "\u2003",
    " ", "  ", "\t", "\r", "\n", "\x00", "\x1b", "\x85", "\x9d", "\ue000", "\ufdd0", "\ud800",
    "“", "”", "‘", "’", "—", "–", "…", "«", "»", "，", "。", "！", "（", "）", "：", "１", "³", "ﬁ",
    ",", ".", ":", ";", "!", "?", "(", ")", "[", "%", "'", "''", "`", '"', "-", "5",
    "<b>", "</b>", "<br/>", "<p class='x'>", "<", ">", "&", "&amp;", "&lt;", "&gt;", "&#39;", "&nbsp;",
    "&Atilde;", "&copy;", "Ã", "©", "Ã©", "â€™", "â€œ", "Â", "ï»¿", "Ð", "Ñ", "Р", "С", "µ", "‚",
]


@settings(max_examples=300, deadline=None)
@given(text=st.text(), cjk=st.booleans(), name=st.sampled_from(sorted(_CLEANERS)))
def test_idempotent_on_any_text(text, cjk, name):
    cleaner = _CLEANERS[name]
    once = cleaner.clean_side(text, cjk=cjk)
    assert cleaner.clean_side(once, cjk=cjk) == once


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
    cjk=st.booleans(),
    name=st.sampled_from(sorted(_CLEANERS)),
)
def test_idempotent_on_mixed_scripts(text, cjk, name):
    cleaner = _CLEANERS[name]
    once = cleaner.clean_side(text, cjk=cjk)
    assert cleaner.clean_side(once, cjk=cjk) == once


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)))
def test_never_empties_a_side_with_letters(text):
    """Letters only go with markup or mojibake: short of those, a side with letters keeps letters."""
    assume(LETTER.search(text))
    cleaner = Cleaner(max_side_chars=40, drop_mojibake=False)  # a mojibake reject is its own test
    doc = pair(text, text)
    result = cleaner.filter(doc)
    counts = stats(cleaner)
    if len(text) > 40:
        assert result == (False, "too_long_source")
    elif not counts.get("changed_html") and not counts.get("changed_mojibake"):
        assert result is True
        assert LETTER.search(sides(doc)[0]) and LETTER.search(sides(doc)[1])
    # with markup and mojibake repair off, no letter is ever lost
    assert LETTER.findall(_CLEANERS["minimal"].clean_side(text)) == LETTER.findall(text)


# --- real data ------------------------------------------------------------------------------------------


def _read_lines(path: Path, limit: int) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in islice(handle, limit)]


def test_real_globalvoices_lines_keep_letters_and_are_stable():
    english = _read_lines(GLOBALVOICES / "GlobalVoices.en", 400)
    swahili = _read_lines(GLOBALVOICES / "GlobalVoices.sw", 400)
    cleaner = Cleaner(normalize_punctuation=True)
    kept = 0
    for number, (en, sw) in enumerate(zip(english, swahili, strict=True), start=1):
        doc = pair(en, sw, line=number)
        if cleaner.filter(doc) is not True:
            assert doc.metadata[REJECT_REASON] in ("empty_source", "empty_target")
            assert not en.strip() or not sw.strip()
            continue
        kept += 1
        for raw, cleaned in zip((en, sw), sides(doc), strict=True):
            if "&" not in raw and "<" not in raw:  # entities aside, every letter survives
                assert LETTER.findall(cleaned) == LETTER.findall(unicodedata.normalize("NFC", raw))
            assert cleaner.clean_side(cleaned) == cleaned
            assert cleaned == cleaned.strip() and "  " not in cleaned
    assert kept > 300


@pytest.mark.parametrize(("raw", "expected"), [
    ("nemzetközi szerzõdésekbõl eredõ kötelezettségekrõl", "nemzetközi szerződésekből eredő kötelezettségekről"),
    ("kinevezi a népszerû Wladyslaw Gomulkat", "kinevezi a népszerű Wladyslaw Gomulkat"),
    ("KÖRÜLVETTÉK ÕT", "KÖRÜLVETTÉK ŐT"),
    ("egy „Õ/õ” betűt adtak hozzá", "egy „Õ/õ” betűt adtak hozzá"),  # a quoted letter (Estonian), not a confusion
])
def test_hungarian_latin2_confusion_repaired_and_counted(raw, expected):
    cleaner = Cleaner()
    doc = pair("The sentence.", raw, trg="hun_Latn")
    assert cleaner.filter(doc) is True
    assert sides(doc)[1] == expected
    assert stats(cleaner).get("changed_latin2", 0) == (raw != expected)


def test_latin2_repair_only_where_the_language_has_the_confusion():
    for trg in ("por_Latn", "est_Latn", "fra_Latn"):
        doc = pair("x", "São Paulo õhtu bûche", trg=trg)
        assert Cleaner().filter(doc) is True and sides(doc)[1] == "São Paulo õhtu bûche"
    doc = pair("szerzõdés", "x", src="hun_Latn", trg="eng_Latn")  # either side
    assert Cleaner().filter(doc) is True and sides(doc)[0] == "szerződés"
    doc = pair("x", "szerzõdés", trg="hun_Latn")
    assert Cleaner(fix_latin2=False).filter(doc) is True and sides(doc)[1] == "szerzõdés"
