"""Pair consistency rules: each rule's boundaries, FLORES false drops, rejects with reasons."""

from __future__ import annotations

import json
import unicodedata

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from xplus.curate.consistency import (
    STEP,
    ConsistencyFilter,
    digit_share,
    letter_share,
    may_hold_url,
    normalized,
    urls,
)
from xplus.curate.languages import RECIPE_LANGUAGES
from xplus.curate.numbers import numbers, unmatched_number
from xplus.curate.record import make_pair
from xplus.curate.writers import BitextJsonlWriter, rejects_writer

from ..conftest import run_pipeline

OFF = {"identical": False, "only_symbols": False, "only_numbers": False, "repeated": False, "url_mismatch": False,
       "number_mismatch": False}


def only(rule: str, **kwargs) -> ConsistencyFilter:
    return ConsistencyFilter(**{**OFF, rule: True, **kwargs})


def reason(f: ConsistencyFilter, source: str, target: str) -> str | None:
    broken = f.check(source, target)
    return broken and broken[0]


@pytest.mark.parametrize(("source", "target", "expected"), [
    ("Göhmann & Co. GmbH", "Göhmann & Co. GmbH", "identical"),
    ("Casa de la Moneda", "Casa de la moneda", "identical"),  # case
    ("FESTIVAL DE DOUR 1.0km", "FESTIVAL DE DOUR 1,0km", "identical"),  # punctuation
    ("Bus transfer Aschaffenburg", "Bustransfer Aschaffenburg", "identical"),  # spaces
    ("Bus transfer Aschaffenburg", "Busreise Aschaffenburg", None),
])
def test_identical(source, target, expected):
    assert reason(only("identical"), source, target) == expected


def test_near_identical_is_off_by_default_and_bounded():
    assert ConsistencyFilter().near_identical is None
    f = ConsistencyFilter(**OFF, near_identical=0.9)
    assert reason(f, "Hotel Astoria Bardejov spa", "Hotel Astoria Bardejov lázně") is None
    assert reason(f, "The Hotel Astoria in Bardejov", "The Hotel Astoria in Bardejovo") == "near_identical"
    with pytest.raises(ValueError):
        ConsistencyFilter(near_identical=1.5)


def test_only_symbols_boundary():
    f = only("only_symbols")
    # 1 letter of 10 non-space characters is exactly 0.1: kept; 1 of 11 is under: dropped
    assert reason(f, "a ---------", "ein Wort") is None
    assert reason(f, "a ----------", "ein Wort") == "only_symbols_source"
    assert reason(f, "Home", "»»» ··· »»»") == "only_symbols_target"


def test_only_numbers_boundary():
    f = only("only_numbers")
    assert reason(f, "ab12", "ab 12") is None  # exactly half digits: kept
    assert reason(f, "ab123", "ab 123") == "only_numbers_source"
    assert reason(f, "Phone", "0800 123 456 x") == "only_numbers_target"


def test_repeated_boundary():
    f = only("repeated")  # the default: 3 repetitions after the first (the selection protocol's choice)
    assert reason(f, "Home Home Home Home", "Startseite") == "repeated_source"
    assert reason(f, "Home Home Home", "Startseite") is None
    assert reason(only("repeated", max_repeats=2), "Home Home Home", "Startseite") == "repeated_source"
    assert reason(f, "hahahaha", "lol") is None  # runs shorter than 3 characters do not count
    assert reason(only("repeated", min_repeat_chars=2), "hahahaha", "lol") == "repeated_source"


def test_url_mismatch():
    f = only("url_mismatch")
    assert urls("see https://www.Example.com/a/. or mail Info@x.org") == {"example.com/a", "info@x.org"}
    assert reason(f, "see www.a.com/x/", "siehe http://a.com/x") is None
    assert reason(f, "see www.a.com", "siehe www.b.com") == "url_mismatch"
    assert reason(f, "mail a@b.com", "Mail") == "url_mismatch"
    assert reason(f, "no links here.", "keine Links.") is None


@pytest.mark.parametrize(("source", "target"), [
    ("3.5 kg", "3,5 kg"),  # decimal separators
    ("more than 14000 firms", "více než 14 000 firem"),  # thousands separators
    ("14,215 women", "14 215 ženách"),
    ("1,000 years", "1000 ans"),
    ("Adjustment 90,894 26,290", "Redressement 90894 26290"),
    ("Introduction at 5 pm", "17:00 Einführung"),  # 12-hour times
    ("Monday to Friday 10.30am - 6.30pm", "du lundi au vendredi 10h30 - 18h30"),
    ("1.2 million signatures", "120 万个签名"),
    ("since the 1970s and the Il-76", "od 70. let a Il-76"),  # decades
    ("born in 2008 in 28 days", "জন্ম ২০০৮ সালে ২৮ দিনে"),  # digits of other scripts
    ("On October 7, 2017", "2017 年 10 月 7 日"),  # a CJK month
    ("three seasons and 25 goals", "tres temporadas y 25 goles"),
    ("Fifteen of these rocks", "15 dieser Felsen"),  # a number on one side only
    ("the 3 best", "die 5 besten"),  # small numbers need not match
])
def test_numbers_that_agree(source, target):
    assert reason(only("number_mismatch", min_number=10), source, target) is None


@pytest.mark.parametrize(("source", "target"), [
    ("Hotels in Eindhoven (19)", "Hotels in Deggendorf (6)"),
    ("74x Radio interference filter NFK14-05A22", "114x Filtro NFK14-12A22"),
    ("Upgrade to 100mg × 60 pills", "Actualice a 10mg × 90 píldoras"),
    ("3 Bedrooms | Area 275 m²", "4 Pièces | Surface 257 m²"),
])
def test_numbers_that_disagree(source, target):
    assert reason(only("number_mismatch", min_number=10), source, target) == "number_mismatch"


def test_min_number_boundary():
    assert unmatched_number("in 10 days", "in 11 Tagen", 10) == "source number 10 not in the other side"
    assert unmatched_number("in 9 days", "in 8 Tagen", 10) is None
    assert unmatched_number("in 9 days", "in 8 Tagen", 1) is not None
    assert numbers("0 and 000") == []


def test_every_rule_can_be_switched_off():
    f = ConsistencyFilter(**OFF)
    assert f.check("Home Home Home 19 www.a.com", "Home Home Home 20 www.b.com") is None
    assert f.check("x", "x") is None


def test_flores_false_drops_stay_near_zero(shared_data):
    """FLORES-200 dev is 997 correct translations per language: the defaults drop at most ~1% of any
    (what they drop there is mostly FLORES's own errors: 105 mph as 150, 2004 as 2014, unit conversions)."""
    dev = shared_data / "flores200" / "dev"
    english = (dev / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()
    f = ConsistencyFilter()
    for code in RECIPE_LANGUAGES[1:]:
        other = (dev / f"{code}.txt").read_text(encoding="utf-8").splitlines()
        dropped = sum(f.check(s, t) is not None for s, t in zip(english, other, strict=True))
        assert dropped / len(other) <= 0.012, (code, dropped)


def test_drops_reach_the_rejects_with_reasons_and_flags_are_kept(tmp_path):
    from xplus.curate.readers.moses import MosesReader

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.en").write_text("Hotels in Eindhoven (190)\nGöhmann & Co. GmbH\nA good sentence.\n")
    (tmp_path / "in" / "x.de").write_text("Hotels in Deggendorf (642)\nGöhmann & Co. GmbH\nEin guter Satz.\n")
    run = tmp_path / "run"
    run_pipeline([MosesReader(tmp_path / "in", "en", "de"),
                  ConsistencyFilter(exclusion_writer=rejects_writer(run, STEP)),
                  BitextJsonlWriter(run / "out")], run / "logs")
    rejects = [json.loads(x) for x in (run / "rejects" / STEP / "00000.jsonl").read_text().splitlines()]
    assert [(r["line"], r["step"], r["reason"]) for r in rejects] == [(1, STEP, "number_mismatch")]
    assert "190" in rejects[0]["detail"]
    kept = [json.loads(x) for x in next((run / "out").glob("*.jsonl")).read_text().splitlines()]
    assert [r["line"] for r in kept] == [2, 3]  # identical sides are flagged by default
    stats = json.loads(next((run / "logs" / "stats").glob("*.json")).read_text())
    counts = {k: v["total"] if isinstance(v, dict) else v for block in stats for k, v in block["stats"].items()
              if block["name"].endswith("Pair consistency")}
    assert counts["dropped_number_mismatch"] == 1 and counts["flagged_identical"] == counts["flagged"] == 1
    assert counts["forwarded"] == 2 and "kept" not in counts


def test_filter_and_batch_agree():
    docs = [make_pair("Hotels (190)", "Hotels (6)", "eng_Latn", "deu_Latn", "t", "f", 1),
            make_pair("Fine.", "Gut.", "eng_Latn", "deu_Latn", "t", "f", 2)]
    f = ConsistencyFilter(decision="drop")
    assert f.filter_batch(docs) == [(False, "number_mismatch"), True] == [f.filter(doc) for doc in docs]
    assert docs[0].metadata["reject_step"] == STEP


@settings(max_examples=300)
@given(st.one_of(st.text(min_size=0, max_size=40), st.text(st.characters(max_codepoint=127), max_size=40)))
def test_letter_and_digit_shares_count_every_character_as_defined(text):
    """The C-speed counts equal the plain definition: letters or combining marks (digits) among non-space chars."""
    chars = [ch for ch in text if not ch.isspace()]
    letters = sum(ch.isalpha() or unicodedata.category(ch).startswith("M") for ch in chars)
    assert letter_share(text) == (letters / len(chars) if chars else 0.0)
    assert digit_share(text) == (sum(ch.isdigit() for ch in chars) / len(chars) if chars else 0.0)


@pytest.mark.parametrize(("source", "target"), [
    # what translators do to numbers (issue 17's held-out set): unit conversions, inches dropped and cm kept
    ("The trail is 4.9 mi long.", "Az ösvény 14,1 km hosszú."),
    ("Most live in 68 square inches of space.", "La mayoría vive en 172 centímetros cuadrados."),
    ("Passengers waited in 90(F)-degree heat.", "Die Passagiere warteten bei 32 °C."),
    # 12-hour times, a range ending in pm
    ("Happy hour from 10:00 to 11:30pm", "Happy Hour 22:00 ... 23:30"),
    ("At 1017, the time of the occurrence", "À 10 h 17, heure de l'incident"),
    ("around 9:30 am local time (0230 UTC)", "gegen 9:30 Uhr Ortszeit (02:30 UTC)"),
    # transcript line numbering on one side only
    ("12 And then he said it was 45 minutes", "És akkor azt mondta, hogy 45 perc volt"),
    # centuries as Roman numerals, numbers as English words
    ("invaded several times in the 18th century and in 1772", "varias invasiones en el siglo XVIII y en 1772"),
    ("about seventy kilometres away on August 9", "asi 70 kilometrů daleko 9. srpna"),
])
def test_numbers_translators_change_agree(source, target):
    assert reason(only("number_mismatch", min_number=10), source, target) is None


def test_number_defaults_keep_small_numbers_and_flag_on_request():
    """A changed house number (a valid pair in the held-out set) is a small number, which need not match by
    default (`min_number` 100); with a lower bound it is a mismatch, which `decision` can flag instead of drop."""
    source, target = "Our office: Hauptstraße 12, Berlin, since 2015", "Unser Büro: Hauptstraße 14, Berlin, seit 2015"
    assert ConsistencyFilter().filter(make_pair(source, target, "eng_Latn", "deu_Latn", "t", "f", 1)) is True
    strict = ConsistencyFilter(min_number=10, decision={"number_mismatch": "flag"})
    kept = list(strict.run(iter([make_pair(source, target, "eng_Latn", "deu_Latn", "t", "f", 1)])))
    assert kept and kept[0].metadata["flags"] == [{"step": STEP, "reason": "number_mismatch",
                                                   "detail": "source number 12 not in the other side"}]
    assert "reject_reason" not in kept[0].metadata
    dropping = ConsistencyFilter(min_number=10)
    assert dropping.filter(make_pair(source, target, "eng_Latn", "deu_Latn", "t", "f", 1)) == (False, "number_mismatch")
    both = make_pair("Room 12 Room 12 Room 12 Room 12", "Zimmer 14", "eng_Latn", "deu_Latn", "t", "f", 2)
    assert ConsistencyFilter(decision={"number_mismatch": "flag"}).filter(both) == (False, "repeated_source")


def test_thai_years_in_the_buddhist_era_agree():
    assert unmatched_number("In 2009 she was awarded the title", "ในปี พ.ศ. 2552 เธอได้รับรางวัล", 100) is None
    assert unmatched_number("In 2009 she was awarded the title", "ในปี พ.ศ. 2560 เธอได้รับรางวัล", 100) is not None


@settings(max_examples=300)
@given(st.one_of(st.text(st.characters(max_codepoint=127), max_size=40), st.text(max_size=40)))
def test_normalized_is_the_word_characters_casefolded(text):
    """ASCII text takes a byte-table path; it equals the definition (`_WORD` runs of the case-folded text)."""
    assert normalized(text) == "".join(regex.findall(r"[\p{L}\p{M}\p{N}]+", text.casefold()))


@settings(max_examples=300)
@given(st.text(alphabet="wW.:/@hpsft xa-", max_size=30))
def test_the_url_gate_never_hides_a_url(text):
    assert may_hold_url(text) or not urls(text)


def test_share_rules_outside_ascii_decide_as_the_shares():
    """Non-ASCII sides count letters first and skip the exact shares when letters decide; the decision and its
    detail equal the shares' at and around the thresholds."""
    for text in ("১২৩৪৫ ab", "१२३ क", "—·— ™ é", "½¾ x", "٣٤٥٦ ب", "ñ 12", "ñ1", "é—"):
        for letters, digits in ((0.1, 0.5), (0.5, 0.5), (0.34, 0.66), (0.01, 0.99)):
            f = ConsistencyFilter(min_letter_share=letters, max_digit_share=digits)
            expected = []
            if letter_share(text) < letters:
                expected.append("only_symbols_source")
            if digit_share(text) > digits:
                expected.append("only_numbers_source")
            assert [reason for reason, _ in f._share_rules("source", text)] == expected, (text, letters, digits)
