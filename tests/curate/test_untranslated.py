"""Tests of the untranslated-span rule (`xplus.curate.untranslated`) on code-switched targets."""

from __future__ import annotations

import json

import pytest

from xplus.curate.consistency import ConsistencyFilter
from xplus.curate.record import make_pair
from xplus.curate.untranslated import STEP, UntranslatedFilter, copied_span, copied_target, copied_words
from xplus.curate.writers import BitextJsonlWriter, rejects_writer

from ..conftest import block_stats, run_pipeline


def pair(source: str, target: str, trg: str = "hun_Latn", line: int = 1):
    return make_pair(source, target, "eng_Latn", trg, "test", "test.txt", line)


@pytest.mark.parametrize(("source", "target", "trg"), [
    # the English boilerplate of a blog feed left in a Hungarian target (issue 17)
    ("The post Use Coupon! appeared first on Coupon Codes.", "Használja Kupon! appeared first on Kuponkódok.",
     "hun_Latn"),
    ("Room facilities: free parking and airport shuttle", "Zimmerausstattung: free parking and airport shuttle",
     "deu_Latn"),
])
def test_code_switched_targets_dropped(source, target, trg):
    doc = pair(source, target, trg)
    assert UntranslatedFilter().filter(doc) == (False, "untranslated")
    assert doc.metadata["copied_share"] == 1.0 and doc.metadata["reject_step"] == STEP


@pytest.mark.parametrize(("source", "target", "trg"), [
    # issue 17's untranslated spans inside translated targets: the run is English by lid.176 (p >= 0.5)
    ("Room facilities: Air conditioning, Desk, Heating", "Room facilities: Klimaanlage, Schreibtisch, Heizung",
     "deu_Latn"),
    ("Room facilities: Air conditioning, Desk, Heating", "Room facilities: légkondicionáló, íróasztal, fűtés",
     "hun_Latn"),
    ("The post Use Coupon! appeared first on Coupon Codes.", "Használja Kupon! A bejegyzés appeared first on: "
     "Kuponkódok.", "hun_Latn"),
])
def test_copied_spans_flagged_by_default_dropped_on_request(source, target, trg):
    """The protocol flags copied spans by default (its setting costs 0.55% of French FLORES lines): kept with the
    reason; `decision: drop` removes them."""
    (doc,) = UntranslatedFilter().run(iter([pair(source, target, trg)]))
    assert [flag["reason"] for flag in doc.metadata["flags"]] == ["untranslated_span"]
    assert doc.metadata["copied_run"] >= 2 and "reject_reason" not in doc.metadata
    doc = pair(source, target, trg)
    assert UntranslatedFilter(decision="drop").filter(doc) == (False, "untranslated_span")
    assert doc.metadata["reject_step"] == STEP


def test_one_copied_word_is_not_a_span():
    """`(0 replies)` in a translated target is one copied word: no default rule sees it (a one-word span costs 1.9%
    of French FLORES lines even at p >= 0.9, `bench/results/selection_protocol.json`); `min_run_words=1` finds it."""
    source, target = "Re: dinner recipes for beginners (0 replies)", "Re: vacsorareceptek kezdőknek (0 replies)"
    assert copied_span(source, target) == ["0", "replies"]
    (doc,) = UntranslatedFilter().run(iter([pair(source, target)]))
    assert "flags" not in doc.metadata
    assert UntranslatedFilter(min_run_words=1, decision="drop").filter(pair(source, target)) == (
        False, "untranslated_span")


@pytest.mark.parametrize(("source", "target"), [
    ("(0 replies)", "(0 replies)"),
    ("Room facilities:", "Room facilities:"),
])
def test_untranslated_copies_dropped_here_flagged_by_consistency(source, target):
    """A whole side copied: pair consistency's `identical` flags it (most identical pairs of ParaCrawl are valid
    product names, `bench/results/selection_protocol.md`); the untranslated step drops the copies that hold a common
    word (not a name), whatever the case."""
    doc = pair(source, target)
    assert ConsistencyFilter().filter(doc) is True and doc.metadata["flags"][0]["reason"] == "identical"
    assert UntranslatedFilter().filter(pair(source, target)) == (False, "untranslated_copy")
    assert UntranslatedFilter().filter(pair(source.upper(), target)) == (False, "untranslated_copy")
    assert UntranslatedFilter().filter(pair(source, target, "eng_Latn")) is True  # same language: not a copy


@pytest.mark.parametrize(("source", "target", "trg"), [
    # names, brands, numbers and URLs are kept by translators; capitalised words are not counted (issue 17's
    # name-heavy valid lines, kept by every default step, copied whole or not)
    ("Mont Ventoux guest rooms", "Mont Ventoux Gästezimmer", "deu_Latn"),
    ("Mont Ventoux Gästezimmer", "Mont Ventoux Gästezimmer", "deu_Latn"),
    ("Alexander Rilling, double bass", "Alexander Rilling, Kontrabass", "deu_Latn"),
    ("Alexander Rilling, Kontrabass", "Alexander Rilling, Kontrabass", "deu_Latn"),
    ("Show Price per Night", "Show Price per Night", "deu_Latn"),  # title case: a name or title
    ("Show Price per Night", "Preis pro Nacht anzeigen", "deu_Latn"),
    # a name or term in a third language copied (lid.176 does not give English): valid pairs of ParaCrawl v3
    ("Read more about velho do restelo", "Weiterlesen über velho do restelo", "deu_Latn"),
    ("The click beetle Lacon querceus", "Der Schnellkäfer Lacon querceus", "deu_Latn"),
    # English quoted (Global Voices)
    ('There are errors in the certificate, such as: "to be benefitted from its scientific privileges".',
     'Kuna makosa katika cheti, kwa mfano, “to be benefitted from its scientific privileges”.', "swh_Latn"),
    # an English term glossed with its acronym (TICO-19)
    ("Patients often develop acute respiratory distress syndrome (ARDS).",
     "Wagonjwa mara nyingi hupata matatizo ya kupumua yaani acute respiratory distress syndrome (ARDS).", "swh_Latn"),
    ("Visit www.example.com/hotel-rooms for 20 rooms", "Besuchen Sie www.example.com/hotel-rooms für 20 Zimmer",
     "deu_Latn"),
    # a cognate or a kept technical word among translated ones
    ("The hotel has free internet access in every room.", "A hotel minden szobájában ingyenes internet van.",
     "hun_Latn"),
])
def test_valid_pairs_kept(source, target, trg):
    assert UntranslatedFilter().filter(pair(source, target, trg)) is True


def test_copied_span_and_target():
    assert copied_span("Dinner (0 replies) today", "Vacsora (0 replies) ma") == ["0", "replies"]
    assert copied_span("Hotel des Artistes rooms", "Hotel des Artistes szobák") == []  # title case
    assert copied_span("the e-mail address", "az e-mail cím") == ["e-mail"]  # one word: under min_run_words
    assert copied_span("see www.room-facilities.com now", "lásd www.room-facilities.com most") == []
    assert copied_target("Room facilities:", "room facilities") and not copied_target("Mont Ventoux", "Mont Ventoux")
    with pytest.raises(ValueError):
        UntranslatedFilter(min_span_probability=2)


def test_copied_words_counts_lower_case_words_outside_urls():
    assert copied_words("appeared first on the blog", "Megjelent appeared first on Blog") == (2, 2)
    assert copied_words("see http://a.org/free-rooms", "lásd http://a.org/free-rooms") == (0, 1)
    assert copied_words("x", "") == (0, 0)
    with pytest.raises(ValueError):
        UntranslatedFilter(min_copied_share=0)


def test_drops_reach_the_rejects_and_flag_keeps(tmp_path):
    from xplus.curate.readers.moses import MosesReader

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.en").write_text("The post appeared first on Blog.\nA good sentence.\n")
    (tmp_path / "in" / "x.hu").write_text("Bejegyzés: appeared first on Blog.\nEgy jó mondat.\n")
    for decision, kept_lines, rejected in (("drop", [2], 1), ("flag", [1, 2], 0)):
        run = tmp_path / decision
        run_pipeline([MosesReader(tmp_path / "in", "en", "hu"),
                      UntranslatedFilter(exclusion_writer=rejects_writer(run, STEP), decision=decision),
                      BitextJsonlWriter(run / "out")], run / "logs")
        kept = [json.loads(x) for x in next((run / "out").glob("*.jsonl")).read_text().splitlines()]
        assert [r["line"] for r in kept] == kept_lines
        stats = block_stats(run / "logs", "Untranslated")
        assert stats.get("dropped_untranslated", 0) == rejected and stats.get("flagged", 0) == 1 - rejected
