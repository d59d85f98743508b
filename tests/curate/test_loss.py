"""Step 5: translation-loss scorer, FLORES calibration and the loss filter, on tiny models built here (no Hub)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from xplus.curate.languages import UnknownLanguageError
from xplus.curate.loss import Calibrator, Flores, FloresNotFoundError, LossFilter, PairScorer, plan_batches
from xplus.curate.loss.scorer import reference_losses
from xplus.curate.record import make_pair
from xplus.curate.writers import BitextJsonlWriter, rejects_writer
from xplus.pipelines.toy_models import build_toy_seq2seq, train_toy_seq2seq

from ..conftest import block_stats, run_pipeline

EN, SW = "eng_Latn", "swh_Latn"


def read_tico(bitext: Path) -> tuple[list[str], list[str]]:
    folder = bitext / "tico19" / "eng-swa"
    return [(folder / f"tico19-test.{ext}").read_text(encoding="utf-8").splitlines() for ext in ("eng", "swa")]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: tiny matrices gain nothing from more, and on a busy shared machine OpenMP threads
    waiting on each other make a tiny forward pass 50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tico(bitext) -> tuple[list[str], list[str]]:
    return read_tico(bitext)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tico) -> Path:
    english, swahili = tico
    return build_toy_seq2seq(tmp_path_factory.mktemp("tiny-nllb"), english[:400] + swahili[:400])


@pytest.fixture(scope="module")
def scorer(tiny_model) -> PairScorer:
    return PairScorer.from_pretrained(str(tiny_model), device="cpu")


@pytest.fixture(scope="module")
def pairs(tico) -> list[tuple[str, str, str, str]]:
    english, swahili = tico
    forward = [(e, s, EN, SW) for e, s in zip(english[1000:1024], swahili[1000:1024], strict=True)]
    backward = [(s, e, SW, EN) for e, s in zip(english[1024:1040], swahili[1024:1040], strict=True)]
    return [p for pair in zip(forward, backward + forward[16:], strict=True) for p in pair]  # directions mixed


def write_flores(folder: Path, lines: dict[str, list[str]], names: dict[str, str], split: str = "dev") -> Path:
    """Lines in a FLORES layout (`<folder>/<split>/<name>`); the tests write TICO-19 lines, never FLORES text."""
    (folder / split).mkdir(parents=True, exist_ok=True)
    for code, text in lines.items():
        (folder / split / names[code]).write_text("\n".join(text) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def flores(tmp_path, tico) -> Path:
    english, swahili = tico
    return write_flores(tmp_path / "flores", {EN: english[1100:1160], SW: swahili[1100:1160]},
                        {EN: "eng_Latn.dev", SW: "swh_Latn.dev"})


# --- scoring --------------------------------------------------------------------------------------------------


def test_inputs_and_labels_follow_nllb(scorer):
    tok = scorer.tokenizer
    ((ids, labels), (back_ids, back_labels)) = scorer.encode([("Wash your hands", "Osha mikono", EN, SW),
                                                              ("Osha mikono", "Wash your hands", "sw", "en")])
    assert tok.convert_ids_to_tokens([ids[0], ids[-1], labels[0], labels[-1]]) == [EN, "</s>", SW, "</s>"]
    assert tok.convert_ids_to_tokens([back_ids[0], back_labels[0]]) == [SW, EN]  # x->en really flips
    counted = scorer.counted(torch.tensor(labels)).tolist()
    assert counted == [False] + [True] * (len(labels) - 1)  # the forced language code is not in |y|, </s> is
    assert scorer.start_id == tok.eos_token_id  # the decoder reads `</s> swh_Latn ...`


def test_batched_sorted_losses_equal_one_pair_at_a_time(tiny_model, pairs):
    reference = reference_losses(PairScorer.from_pretrained(str(tiny_model)), pairs)
    for max_tokens, window, ce_chunk in [(200, 7, 5), (100_000, 10_000, 2048), (1, 3, 1)]:
        batched = PairScorer.from_pretrained(str(tiny_model), max_tokens=max_tokens, window=window,
                                             ce_chunk=ce_chunk).losses(pairs)
        np.testing.assert_allclose(batched, reference, atol=1e-4, rtol=0)


def test_chunked_cross_entropy_equals_full_logits(scorer, pairs):
    (input_ids, labels) = scorer._tensors(scorer.encode(pairs[:8]))
    with torch.inference_mode():
        logits = scorer.model(input_ids=input_ids, attention_mask=input_ids != scorer.pad_id, labels=labels).logits
        nll = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), labels, reduction="none")
        counted = scorer.counted(labels)
        full = (nll * counted).sum(1) / counted.sum(1)
        for chunk in (1, 3, 10_000):
            scorer.ce_chunk = chunk
            torch.testing.assert_close(scorer.batch_losses(input_ids, labels), full, atol=1e-5, rtol=1e-5)
    scorer.ce_chunk = 2048


def test_batches_respect_the_token_budget():
    rng = random.Random(0)
    lengths = [(rng.randint(1, 60), rng.randint(1, 60)) for _ in range(500)]
    batches = plan_batches(lengths, max_tokens=400)
    assert sorted(i for b in batches for i in b) == list(range(500))
    for batch in batches:
        padded = len(batch) * (max(lengths[i][0] for i in batch) + max(lengths[i][1] for i in batch))
        assert padded <= 400 or len(batch) == 1
    assert sum(lengths[batches[0][0]]) == max(map(sum, lengths))  # longest first
    assert plan_batches([(500, 500), (1, 1)], max_tokens=10) == [[0], [1]]  # too long alone: still scored


def test_directions(scorer, tico):
    english, swahili = tico
    en, sw = english[1200:1210], swahili[1200:1210]
    en_sw = scorer.losses([(e, s, EN, SW) for e, s in zip(en, sw, strict=True)])
    sw_en = scorer.losses([(s, e, SW, EN) for e, s in zip(en, sw, strict=True)])
    assert not np.allclose(en_sw, sw_en, atol=1e-3)
    both = scorer.losses([(e, s, EN, SW) for e, s in zip(en, sw, strict=True)], directions="both")
    np.testing.assert_allclose(both, (en_sw + sw_en) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="directions"):
        scorer.losses([], directions="backward")


def test_unknown_languages_are_clear_errors(scorer):
    with pytest.raises(UnknownLanguageError, match="xx_Yyyy"):
        scorer.losses([("a b", "c d", EN, "xx_Yyyy")])
    with pytest.raises(ValueError, match="no language code for arb_Latn"):  # in FLORES-200, not in NLLB
        scorer.losses([("a b", "c d", EN, "arb_Latn")])


# --- calibration ----------------------------------------------------------------------------------------------


def test_threshold_is_the_percentile_of_flores_losses(scorer, flores, tmp_path, tico):
    calibrator = Calibrator(scorer, Flores(str(flores)), percentile=90.0, cache_dir=tmp_path / "cache")
    threshold = calibrator.threshold(EN, SW)
    english, swahili = tico
    losses = scorer.losses([(e, s, EN, SW) for e, s in zip(english[1100:1160], swahili[1100:1160], strict=True)])
    assert threshold.value == pytest.approx(np.percentile(losses, 90), abs=1e-9)
    assert (threshold.pairs, threshold.source, threshold.revision) == (60, "p90 FLORES dev", scorer.revision)
    assert threshold.revision.startswith("local-")
    median = Calibrator(scorer, Flores(str(flores)), percentile=50.0, cache_dir=None).threshold(EN, SW)
    assert median.value == pytest.approx(np.median(losses), abs=1e-9) and median.value < threshold.value


def test_threshold_cache(scorer, flores, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = Calibrator(scorer, Flores(str(flores)), cache_dir=cache).threshold(EN, SW)
    assert len(list(cache.glob("*.json"))) == 1

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored although the threshold is cached")

    with monkeypatch.context() as m:
        m.setattr(scorer, "losses", no_scoring)
        hit = Calibrator(scorer, Flores(str(flores)), cache_dir=cache)
        assert hit.threshold(EN, SW) == first and hit.cache_hits == 1
    other_percentile = Calibrator(scorer, Flores(str(flores)), percentile=80.0, cache_dir=cache)
    assert other_percentile.threshold(EN, SW).value < first.value and other_percentile.cache_hits == 0
    swahili_file = flores / "dev" / "swh_Latn.dev"
    swahili_file.write_text("Tofauti kabisa.\n" + swahili_file.read_text().split("\n", 1)[1])
    changed = Calibrator(scorer, Flores(str(flores)), cache_dir=cache)
    assert changed.threshold(EN, SW).checksum != first.checksum and changed.cache_hits == 0
    assert len(list(cache.glob("*.json"))) == 3
    assert first.checksum == Calibrator(scorer, Flores(str(flores)), cache_dir=None).cache_key(
        EN, SW, first.checksum)["flores"]


def test_flores_layouts(shared_data, tmp_path, tico):
    sample = Flores(str(shared_data / "flores200"))  # this repo's `<split>/<code>.txt`
    assert len(sample.lines("swh_Latn")) == len(sample.lines("en")) == 997
    english, _ = tico
    flores101 = write_flores(tmp_path / "f101", {EN: english[:5]}, {EN: "eng.devtest"}, split="devtest")
    assert Flores(str(flores101), split="devtest").lines("eng_Latn") == english[:5]


def test_missing_flores_direction_says_what_to_provide(scorer, flores):
    calibrator = Calibrator(scorer, Flores(str(flores)), cache_dir=None)
    with pytest.raises(FloresNotFoundError) as err:
        calibrator.threshold(EN, "deu_Latn")
    message = str(err.value)
    assert "eng_Latn-deu_Latn" in message and str(flores / "dev" / "deu_Latn.dev") in message
    assert "deu.dev" in message and "thresholds=" in message


def test_thresholds_table_is_written_without_flores_text(scorer, flores, tmp_path, tico):
    calibrator = Calibrator(scorer, Flores(str(flores)), given={"sw->en": 2.5}, cache_dir=None)
    calibrator.threshold(EN, SW)
    calibrator.write_table(tmp_path / "run")
    text = (tmp_path / "run" / "loss_thresholds.json").read_text()
    rows = {row["direction"]: row for row in json.loads(text)}
    assert rows[f"{SW}-{EN}"]["value"] == 2.5 and rows[f"{SW}-{EN}"]["source"] == "given threshold"
    assert rows[f"{EN}-{SW}"]["pairs"] == 60
    english, swahili = tico
    assert not any(line in text for line in english[1100:1160] + swahili[1100:1160])


# --- the block ------------------------------------------------------------------------------------------------


def test_loss_filter_in_a_pipeline(tiny_model, scorer, flores, tmp_path, tico):
    english, swahili = tico
    docs = [make_pair(english[i], swahili[i], EN, SW, "tico", "t.eng", i) for i in range(30)]
    docs += [make_pair(swahili[i], english[i], SW, EN, "tico", "t.swa", i) for i in range(30, 50)]
    cut = float(np.median(scorer.losses([(d.text, d.metadata["tgt_line"], EN, SW) for d in docs[:30]])))
    run = tmp_path / "run"
    block = LossFilter(model=str(tiny_model), thresholds={"en->sw": cut}, flores_dir=flores,
                       cache_dir=tmp_path / "cache", thresholds_folder=run / "loss", device="cpu",
                       exclusion_writer=rejects_writer(run, "loss"), batch_size=16)
    run_pipeline([docs, block, BitextJsonlWriter(run / "output", compression=None)], run / "logs")

    kept = [json.loads(line) for line in (run / "output" / "00000.jsonl").read_text().splitlines()]
    rejects = [json.loads(line) for line in (run / "rejects" / "loss" / "00000.jsonl").read_text().splitlines()]
    assert len(kept) + len(rejects) == 50
    assert sum(r["trg"] == SW for r in rejects) == 15  # half the en->sw pairs are above their median
    assert {r["reason"] for r in rejects} == {"high_loss"}
    en_sw = next(r for r in rejects if r["trg"] == SW)
    assert en_sw["detail"].endswith(f"({EN}-{SW}, given threshold)") and en_sw["detail"].startswith("loss ")
    sw_en = [r for r in rejects if r["trg"] == EN]
    assert all(r["detail"].endswith(f"({SW}-{EN}, p90 FLORES dev)") for r in sw_en)  # calibrated in the worker
    assert 0 < len(sw_en) < 20
    table = {row["direction"]: row for row in json.loads((run / "loss" / "00000.json").read_text())}
    assert set(table) == {f"{EN}-{SW}", f"{SW}-{EN}"}
    loss_stats = block_stats(run / "logs", "Translation loss")
    assert loss_stats["dropped_high_loss"] == len(rejects) == loss_stats[f"high_loss_{EN}-{SW}"] + len(sw_en)


def test_every_pair_keeps_its_loss(tiny_model, flores, tmp_path, tico):
    english, swahili = tico
    docs = [make_pair(english[i], swahili[i], EN, SW, "tico", "t", i) for i in range(6)]
    block = LossFilter(model=str(tiny_model), flores_dir=flores, cache_dir=None, device="cpu")
    results = block.filter_batch(docs)
    assert all(isinstance(doc.metadata["loss"], float) for doc in docs)
    assert [r is True for r in results] == [doc.metadata["loss"] <= block.calibrator().threshold(EN, SW).value
                                            for doc in docs]
    with pytest.raises(ValueError, match="write src-tgt with two language codes"):
        LossFilter(thresholds={"eng_Latn": 3.0})


# --- semantics ------------------------------------------------------------------------------------------------


def read_paracrawl(bitext: Path, lang: str = "de") -> list[tuple[str, str, str]]:
    """ParaCrawl v3 pairs with their human label (V valid, MT, E error, F free, T tokenisation, A misaligned,
    L wrong language): (english, other, label)."""
    path = bitext / "paracrawl-v3-labelled" / f"en-{lang}" / f"sorted.en-{lang}"
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    return [(row[2], row[3], row[7]) for row in rows if len(row) > 7]


STEPS = 1000  # a step count, not a wall-clock budget: the same model on a fast or a loaded machine


def train(model_dir: Path, pairs: list[tuple[str, str]], src: str, trg: str, steps: int,
          lr: float = 3e-3, warmup: int = 30, batch: int = 32, max_length: int = 32) -> tuple[int, float]:
    """`toy_models.train_toy_seq2seq` for exactly `steps` steps (the same model on a fast or a loaded machine).
    Returns (steps, seconds)."""
    start = time.monotonic()
    losses = train_toy_seq2seq(model_dir, pairs, src, trg, steps=steps, lr=lr, warmup=warmup, batch=batch,
                               max_length=max_length, seed=0)
    return len(losses), time.monotonic() - start


@pytest.mark.slow
def test_misaligned_pairs_score_worse_and_are_filtered(tmp_path, bitext):
    """A toy en->de model trained for STEPS steps on real web bitext (ParaCrawl v3, human-labelled), then
    held-out pairs labelled valid (V) against the same pairs with their German sides shuffled: the shuffled ones
    must score worse (AUC) and the filter, calibrated on other held-out valid pairs written as "FLORES dev",
    must drop most of them and keep most aligned ones.

    What makes such a small model condition on its source: web bitext copies names, numbers and product names, which
    a small shared vocabulary (500 pieces) and tied embeddings turn into identical tokens on both sides, and a
    larger init (0.1) lets cross-attention learn to copy them within a few hundred steps. Pairs labelled
    misaligned (A) or wrong language (L) are never trained on."""
    rows = read_paracrawl(bitext, "de")
    valid = [(e, g) for e, g, label in rows if label == "V"]
    valid = [valid[i] for i in np.random.default_rng(0).permutation(len(valid))]
    held, calibration = valid[:150], valid[150:300]
    training = valid[300:] + [(e, g) for e, g, label in rows if label in ("MT", "E", "F", "T")]
    de = "deu_Latn"
    model_dir = build_toy_seq2seq(tmp_path / "model", [e for e, _ in training] + [g for _, g in training],
                                vocab_size=500, d_model=64, init_std=0.1, dropout=0.1)
    steps, seconds = train(model_dir, training, EN, de, steps=STEPS)
    scorer = PairScorer.from_pretrained(str(model_dir))

    held_en, held_de = [e for e, _ in held], [g for _, g in held]
    aligned = [(e, g, EN, de) for e, g in zip(held_en, held_de, strict=True)]
    shuffled = [(e, g, EN, de) for e, g in zip(held_en, np.roll(held_de, 37), strict=True)]
    good, bad = scorer.losses(aligned), scorer.losses(shuffled)
    auc = float((bad[:, None] > good[None, :]).mean())

    flores = write_flores(tmp_path / "flores", {EN: [e for e, _ in calibration], de: [g for _, g in calibration]},
                          {EN: "eng_Latn.dev", de: "deu_Latn.dev"})  # held-out valid pairs as "FLORES dev"
    block = LossFilter(model=str(model_dir), flores_dir=flores, cache_dir=None, device="cpu")
    docs = [make_pair(*pair, "paracrawl", "p", i) for i, pair in enumerate(aligned + shuffled)]
    kept = [r is True for r in block.filter_batch(docs)]
    removed_aligned, removed_shuffled = 1 - np.mean(kept[:len(aligned)]), 1 - np.mean(kept[len(aligned):])
    print(f"\n{steps} steps in {seconds:.1f} s; loss aligned {good.mean():.2f}, shuffled {bad.mean():.2f}; "
          f"AUC {auc:.3f}; removed: aligned {removed_aligned:.1%}, shuffled {removed_shuffled:.1%}")
    assert auc >= 0.9, f"AUC {auc:.3f} after {steps} steps"
    assert removed_shuffled > 0.5 and removed_aligned < 0.25, (removed_aligned, removed_shuffled)
