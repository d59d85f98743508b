"""Step 3a: length and length-ratio filter."""

from __future__ import annotations

import json

import pytest

from xplus.curate.length import LengthRatioFilter
from xplus.curate.record import make_pair
from xplus.curate.writers import BitextJsonlWriter, rejects_writer

from ..conftest import run_pipeline


def pair(src: str, tgt: str, src_lang: str = "eng_Latn", tgt_lang: str = "deu_Latn"):
    return make_pair(src, tgt, src_lang, tgt_lang, "test", "t", 1)


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


@pytest.mark.parametrize(("src", "tgt", "expected"), [
    (10, 3, True),  # 0.3 exactly: kept (strict inequality, like OpusFilter's 3.33)
    (3, 10, True),
    (7, 2, (False, "length_ratio")),  # 0.2857
    (2, 7, (False, "length_ratio")),
    (1, 1, (False, "too_short_source")),
    (2, 1, (False, "too_short_target")),
    (2, 2, True),
])
def test_ratio_and_minimum_boundaries_are_exact(src, tgt, expected):
    assert LengthRatioFilter().filter(pair(words(src), words(tgt))) == expected


def test_configurable_thresholds():
    block = LengthRatioFilter(min_units=1, min_ratio=0.5)
    assert block.filter(pair("one", "eins")) is True
    assert block.filter(pair(words(5), words(2))) == (False, "length_ratio")
    with pytest.raises(ValueError, match="min_ratio"):
        LengthRatioFilter(min_ratio=0)


def test_character_languages_are_counted_in_characters():
    block = LengthRatioFilter()
    assert block.filter(pair("I love you", "我爱你", tgt_lang="zho_Hans")) is True
    assert block.filter(pair("Yes", "是", tgt_lang="zho_Hans")) == (False, "too_short_source")
    assert block.filter(pair("Yes sir", "是", tgt_lang="zho_Hans")) == (False, "too_short_target")
    # Thai: 5.5 characters per English word; 4 words against 23 code points is a normal pair
    thai = pair("I do not know", "ฉันไม่รู้เลยจริงๆครับผม", tgt_lang="tha_Thai")
    assert block.filter(thai) is True and thai.metadata["length_trg"] == 23  # code points
    assert LengthRatioFilter(char_per_word={}, default_char_per_word=1).filter(thai) == (False, "length_ratio")
    # both sides in characters: compared as they are
    assert block.filter(pair("我爱你们", "私はあなたを愛して", "zho_Hans", "jpn_Jpan")) is True


def test_flores_pairs_of_character_languages_survive(shared_data):
    dev = shared_data / "flores200" / "dev"
    english = (dev / "eng_Latn.txt").read_text().splitlines()
    for code in ("zho_Hans", "jpn_Jpan", "tha_Thai"):
        other = (dev / f"{code}.txt").read_text().splitlines()
        docs = [pair(e, x, tgt_lang=code) for e, x in zip(english, other, strict=True)]
        results = LengthRatioFilter().filter_batch(docs)
        assert sum(r is True for r in results) >= 0.995 * len(english), code


def test_tokenizer_lengths(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "a": 1, "b": 2}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]").save_pretrained(tmp_path / "tok")
    block = LengthRatioFilter(tokenizer=str(tmp_path / "tok"))
    # punctuation is a token of its own here, so "a ." has two tokens although it has one word
    assert block.filter_batch([pair("a .", "b b"), pair("a", "a b c d")]) == [True, (False, "too_short_source")]


def test_drops_reach_the_rejects_with_reasons(tmp_path):
    from xplus.curate.readers.moses import MosesReader

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.en").write_text("one\nthis is a long sentence of words\ntwo words\n")
    (tmp_path / "in" / "x.de").write_text("eins zwei\nkurz\nzwei Wörter\n")
    run = tmp_path / "run"
    run_pipeline([MosesReader(tmp_path / "in", "en", "de"),
                  LengthRatioFilter(exclusion_writer=rejects_writer(run, "length")),
                  BitextJsonlWriter(run / "out")], run / "logs")
    rejects = [json.loads(x) for x in (run / "rejects" / "length" / "00000.jsonl").read_text().splitlines()]
    assert [(r["line"], r["step"], r["reason"]) for r in rejects] == [(1, "length", "too_short_source"),
                                                                      (2, "length", "too_short_target")]
    assert "1 unit(s) < 2" in rejects[0]["detail"]
