"""Tests of step 3b, SimHash near-duplicate removal (`xplus.curate.simhash`), on real pairs from ../shared/data."""

from __future__ import annotations

import json
import random
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from xplus.curate.accounting import Funnel, count_reject_rows
from xplus.curate.languages import normalize
from xplus.curate.record import REJECT_DETAIL, REJECT_REASON, REJECT_STEP, make_pair
from xplus.curate.segment import CHAR, mode_of
from xplus.curate.simhash import (
    STEP,
    SimHashBuckets,
    SimHashCluster,
    SimHashConfig,
    SimHashDedup,
    SimHashFilter,
    SimHashSignature,
    search,
)
from xplus.curate.simhash.decisions import decide, search_and_decide
from xplus.curate.simhash.fast import _distinct
from xplus.curate.simhash.fingerprint import (
    Fingerprints,
    distinct_pairs,
    fingerprint_batch,
    fingerprint_docs,
    hamming,
    table_masks,
)
from xplus.curate.simhash.search import content_reps, near_pairs
from xplus.curate.writers import rejects_writer

from ..conftest import run_pipeline

TATOEBA = {"cmn": "tatoeba-laser-v1/cmn-eng", "jpn": "tatoeba-laser-v1/jpn-eng", "tha": "tatoeba-laser-v1/tha-eng",
           "deu": "tatoeba-laser-v1/deu-eng", "rus": "tatoeba-laser-v1/rus-eng", "spa": "tatoeba-laser-v1/spa-eng"}


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def tatoeba(bitext: Path, lang: str) -> list[tuple[str, str, str, str]]:
    folder = bitext / TATOEBA[lang]
    name = folder.name
    pairs = zip(read_lines(folder / f"tatoeba.{name}.eng"), read_lines(folder / f"tatoeba.{name}.{lang}"), strict=True)
    return [(en, other, "eng_Latn", normalize(lang)) for en, other in pairs if en.strip() and other.strip()]


def paracrawl(bitext: Path, lang: str) -> list[tuple[str, str, str, str]]:
    rows = read_lines(bitext / f"paracrawl-v3-labelled/en-{lang}/sorted.en-{lang}")
    return [(cols[2], cols[3], "eng_Latn", normalize(lang)) for cols in (r.split("\t") for r in rows if r)]


def docs_of(pairs, corpus: str = "test") -> list:
    return [make_pair(s, t, cs, ct, corpus, "f", line) for line, (s, t, cs, ct) in enumerate(pairs, 1)]


def edit(text: str, code: str, n: int, rng: random.Random, vocabulary: list[str]) -> str:
    """`text` with n random token edits (substitute, delete or insert), tokens by the side's segmentation."""
    char = mode_of(code) == CHAR
    tokens = list(text.replace(" ", "")) if char else text.split()
    for _ in range(n):
        i = rng.randrange(len(tokens))
        op = rng.choice("sdi") if len(tokens) > 2 else "i"
        new = rng.choice(vocabulary) if not char else rng.choice(tokens)
        if op == "s":
            tokens[i] = new
        elif op == "d":
            del tokens[i]
        else:
            tokens.insert(i, new)
    return ("" if char else " ").join(tokens)


def dedup(docs, config: SimHashConfig | None = None, writer=None) -> tuple[list, SimHashDedup]:
    block = SimHashDedup(config, exclusion_writer=writer)
    return list(block.run(iter(docs))), block


def stats(block) -> dict:
    return {k: v["total"] if isinstance(v, dict) else v for k, v in block.stats.to_dict()["stats"].items()}


@pytest.fixture(scope="module")
def originals(bitext) -> list[tuple[str, str, str, str]]:
    """300 distinct real pairs of 4+ words a side: ParaCrawl en-de/en-fr and Tatoeba (deu, rus, spa)."""
    pool = [p for p in distinct_pairs(paracrawl(bitext, "de") + paracrawl(bitext, "fr")
                                      + tatoeba(bitext, "deu") + tatoeba(bitext, "rus") + tatoeba(bitext, "spa"))
            if len(p[0].split()) >= 4 and len(p[1].split()) >= 4]
    return random.Random(3).sample(pool, 300)


@pytest.fixture(scope="module")
def planted(originals):
    """The 300 originals followed by one copy of each with 1-3 token edits spread over the two sides."""
    rng = random.Random(7)
    vocabulary = sorted({w for s, t, _, _ in originals for w in (s + " " + t).split()})
    copies = []
    for i, (s, t, cs, ct) in enumerate(originals):
        n = 1 + i % 3
        on_source = sum(rng.random() < 0.5 for _ in range(n))
        copies.append((edit(s, cs, on_source, rng, vocabulary) if on_source else s,
                       edit(t, ct, n - on_source, rng, vocabulary) if n - on_source else t, cs, ct))
    return originals + copies


# --- near and exact duplicates ----------------------------------------------------------------------------


def test_planted_near_duplicates_found_and_distinct_pairs_kept(planted):
    docs = docs_of(planted)
    kept, block = dedup(docs)
    kept_lines = {d.metadata["line"] for d in kept}
    originals_kept = sum(line <= 300 for line in kept_lines)
    copies_dropped = 300 - sum(line > 300 for line in kept_lines)
    precision = copies_dropped / (copies_dropped + 300 - originals_kept)
    recall = copies_dropped / 300
    # measured at the defaults (k=5): recall 0.34 (1-3 edits), precision 1.0 (bench/results/simhash.md)
    assert precision >= 0.97
    assert recall >= 0.3
    # every copy within distance k of its original is found, whatever the search's tables
    fps = fingerprint_docs(docs, SimHashConfig())
    close = np.flatnonzero(hamming(fps.fp[:300], fps.fp[300:]) <= SimHashConfig().k) + 301
    assert not kept_lines & set(close.tolist())
    assert stats(block)["dropped"] == copies_dropped + 300 - originals_kept


def test_recall_grows_with_k(planted):
    docs = docs_of(planted)
    dropped = [600 - len(dedup(docs, SimHashConfig(k=k))[0]) for k in (2, 5, 8)]
    assert dropped[0] < dropped[1] < dropped[2]


def test_exact_duplicates_dropped_with_reference(originals, tmp_path):
    base = docs_of(originals[:50])
    copies = [make_pair(f"  {d.text.upper()} ", d.metadata["tgt_line"], d.metadata["src"], d.metadata["trg"],
                        "copy", "f", i) for i, d in enumerate(base)]
    kept, block = dedup(base + copies, writer=rejects_writer(tmp_path, STEP))
    assert [d.id for d in kept] == [d.id for d in base]
    assert {c.metadata[REJECT_REASON] for c in copies} == {"exact_duplicate"}
    assert copies[0].metadata[REJECT_DETAIL] == f"of {base[0].id} (distance 0)"
    rows = [json.loads(line) for line in (tmp_path / "rejects" / STEP / "00000.jsonl").read_text().splitlines()]
    assert len(rows) == 50 and {(r["step"], r["reason"]) for r in rows} == {(STEP, "exact_duplicate")}


def test_distinct_pairs_drop_what_the_exact_rule_drops(originals):
    """`distinct_pairs` (the benches' and these tests' distinct real pairs) keeps the first of each set of pairs
    the dedup calls exact duplicates (case and whitespace aside), and a pair with other punctuation."""
    base = originals[:50]
    variants = [(f"  {s.upper()} ", t.replace(" ", "\t "), cs, ct) for s, t, cs, ct in base]
    punctuated = [(f"{s}!", t, cs, ct) for s, t, cs, ct in base[:5]]
    assert distinct_pairs(base + variants + punctuated) == base + punctuated
    docs = docs_of(base + variants + punctuated)
    dedup(docs)
    assert [i for i, d in enumerate(docs) if d.metadata.get(REJECT_REASON) == "exact_duplicate"] == [*range(50, 100)]


def test_copies_are_fingerprinted_once_with_the_same_result(originals):
    """The fast path fingerprints each distinct (source, target, languages) once; a copy in another language
    pair (here: the target read as Chinese, so segmented by character) is fingerprinted on its own."""
    base = originals[:40]
    pairs = base + base[::3] + [(s, t, cs, "zho_Hans") for s, t, cs, _ in base[:5]] + base[:5]
    docs = docs_of(pairs)
    distinct, copy_of = _distinct(docs)
    assert len(distinct) == 45 and copy_of.tolist() == [*range(40), *range(0, 40, 3), *range(40, 45), *range(5)]
    one_by_one, once = fingerprint_docs(docs, SimHashConfig()), fingerprint_docs(distinct, SimHashConfig())
    for field in ("fp", "content", "exact"):
        assert np.array_equal(getattr(one_by_one, field), getattr(once, field)[copy_of])
    assert (one_by_one.fp[:5] != one_by_one.fp[54:59]).all()  # read as Chinese: other features


def test_punctuation_variants_are_distance_zero_near_duplicates():
    docs = docs_of([("The cat sat on the mat today.", "Die Katze sass heute auf der Matte.", "eng_Latn", "deu_Latn"),
                    ("The cat sat on the mat today!", "Die Katze sass heute auf der Matte!", "eng_Latn", "deu_Latn")])
    kept, _ = dedup(docs)
    assert kept == docs[:1]
    assert docs[1].metadata[REJECT_REASON] == "near_duplicate"
    assert docs[1].metadata[REJECT_DETAIL].endswith("(distance 0)")


# --- short texts and character languages ------------------------------------------------------------------


def test_short_pairs_fall_back_to_exact_content(bitext):
    words = sorted({w.strip(".,!?").lower() for s, _, _, _ in tatoeba(bitext, "deu") for w in s.split()
                    if w.strip(".,!?").isalpha()})
    pairs = [(w, w[::-1], "eng_Latn", "deu_Latn") for w in words[:400]]
    fps = fingerprint_batch(*zip(*pairs, strict=True), SimHashConfig())
    assert fps.exact.all()
    assert len(set(fps.fp.tolist())) == 400
    kept, block = dedup(docs_of(pairs + pairs[:5]))
    assert len(kept) == 400
    assert stats(block)["dropped_exact_duplicate"] == 5


def test_short_pairs_do_not_collapse_without_the_fallback():
    """The failure the fallback prevents: with min_features=0 one-word pairs share few fingerprints."""
    pairs = [(w, w, "eng_Latn", "eng_Latn") for w in ("yes", "no", "maybe", "hello", "bye", "thanks", "ok", "sure")]
    config = SimHashConfig(min_features=0)
    fps = fingerprint_batch(*zip(*pairs, strict=True), config)
    assert not fps.exact.any()
    kept, _ = dedup(docs_of(pairs), SimHashConfig())
    assert len(kept) == len(pairs)


@pytest.mark.parametrize("lang", ["cmn", "jpn", "tha"])
def test_character_languages_are_segmented_by_character(bitext, lang):
    pairs = [p for p in tatoeba(bitext, lang) if len(p[1]) >= 8][:200]
    flipped = [(t, s, ct, cs) for s, t, cs, ct in pairs]  # the character side as source
    fps = fingerprint_batch(*zip(*flipped, strict=True), SimHashConfig())
    assert not fps.exact.any()
    assert len(set(fps.fp.tolist())) == len(pairs)
    # the same text read as a word language is one long "word": mostly exact fallbacks
    as_words = fingerprint_batch(*zip(*[(t, t, "eng_Latn", "eng_Latn") for t, *_ in flipped], strict=True),
                                 SimHashConfig())
    assert as_words.exact.mean() > 0.5
    # a one-character change on the character side stays much closer than unrelated pairs (short Tatoeba pairs:
    # a deleted character changes 3 of ~25 features, ~9 bits)
    changed = [(t[:3] + t[4:], s, ct, cs) for s, t, cs, ct in pairs]
    near = hamming(fps.fp, fingerprint_batch(*zip(*changed, strict=True), SimHashConfig()).fp)
    far = hamming(fps.fp[:-1], fps.fp[1:])
    assert np.median(near) <= 12 < 25 < np.median(far)


# --- the search -------------------------------------------------------------------------------------------


def brute_force(fp: np.ndarray, k: int) -> set[tuple[int, int]]:
    i, j = np.triu_indices(len(fp), 1)
    close = hamming(fp[i], fp[j]) <= k
    return set(zip(i[close].tolist(), j[close].tolist(), strict=True))


@pytest.mark.parametrize(("k", "num_blocks"), [(0, None), (3, 4), (3, None), (5, None), (5, 8), (8, 9)])
def test_pigeonhole_search_equals_brute_force(k, num_blocks):
    rng = np.random.default_rng(k * 100 + (num_blocks or 0))
    base = rng.integers(0, 2**64, 400, dtype=np.uint64, endpoint=False)
    flips = rng.integers(0, 64, (400, 12))
    near = base.copy()
    for col in range(12):  # copies with 0..12 random bit flips
        near ^= np.where(rng.random(400) < 0.5, np.uint64(1) << flips[:, col].astype(np.uint64), np.uint64(0))
    fp = np.concatenate([base, near, base[:20]])  # and some identical fingerprints of different content
    fps = Fingerprints(fp, np.arange(len(fp), dtype=np.uint64), np.zeros(len(fp), bool))
    config = SimHashConfig(k=k, num_blocks=num_blocks)
    a, b = near_pairs(fps, config)
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == brute_force(fp, k)
    assert len(table_masks(config)) == len(list(combinations(range(config.blocks), k)))


# --- policies ---------------------------------------------------------------------------------------------


def test_max_conflicts_policy_drops_clusters_of_more_than_three(originals):
    s, t, cs, ct = originals[0]
    cluster = [(s, t, cs, ct)] * 4  # 3 conflicts each: all dropped
    twice = [originals[1]] * 3  # 2 conflicts each: all kept
    rest = originals[2:20]
    pairs = cluster + twice + rest
    config = SimHashConfig(policy="max_conflicts")
    kept, block = dedup(docs_of(pairs), config)
    assert len(kept) == 3 + len(rest)
    assert stats(block)["dropped_too_many_conflicts"] == 4
    assert stats(block)["total"] == len(pairs)
    kept_one, _ = dedup(docs_of(pairs))
    assert len(kept_one) == 1 + 1 + len(rest)


def test_policies_agree_on_decide_inputs(planted):
    fps = fingerprint_docs(docs_of(planted), SimHashConfig())
    pairs = near_pairs(fps, SimHashConfig())
    keep_one = decide(fps, *pairs, SimHashConfig())
    conflicts = decide(fps, *pairs, SimHashConfig(policy="max_conflicts"))
    # the same clusters; max_conflicts only drops from clusters of more than 3; keep_one counts no conflicts
    assert (keep_one.ref == conflicts.ref).all() and (keep_one.distance == conflicts.distance).all()
    assert not (conflicts.dropped & (conflicts.conflicts <= 2)).any()
    assert (keep_one.conflicts == -1).all()


def dense_clusters(seed: int) -> Fingerprints:
    """60 clusters of 25 fingerprints, each within a few bit flips of its centre, shuffled; every 7th pair
    shares one content."""
    rng = np.random.default_rng(seed)
    fp = np.repeat(rng.integers(0, 2**64, 60, dtype=np.uint64), 25)
    for _ in range(5):
        fp ^= np.where(rng.random(len(fp)) < 0.5, np.uint64(1) << rng.integers(0, 64, len(fp)).astype(np.uint64),
                       np.uint64(0))
    rng.shuffle(fp)
    content = np.arange(len(fp), dtype=np.uint64)
    content[::7] = 5
    return Fingerprints(fp, content, np.zeros(len(fp), bool))


@pytest.mark.parametrize("large_run", [32, 2])
@pytest.mark.parametrize(("policy", "num_blocks"), [("keep_one", None), ("keep_one", 8), ("max_conflicts", None)])
def test_streamed_search_equals_decide_on_all_pairs(monkeypatch, large_run, policy, num_blocks):
    """`search_and_decide` (per-table clustering, leaders in long runs, each pair once) gives the decisions of
    `decide` on every pair within k found by brute force; conflicts are the number of pairs within k."""
    monkeypatch.setattr(search, "LARGE_RUN", large_run)
    monkeypatch.setattr(search, "LEADERS", 2)
    fps = dense_clusters(large_run)
    config = SimHashConfig(policy=policy, num_blocks=num_blocks)
    reps = content_reps(fps)
    brute = np.array(sorted(brute_force(fps.fp[reps], config.k))).T
    expected = decide(fps, reps[brute[0]], reps[brute[1]], config)
    got, _ = search_and_decide(fps, config)
    for field in ("code", "ref", "distance", "conflicts"):
        assert (getattr(got, field) == getattr(expected, field)).all(), field
    assert 0 < got.dropped.sum() < len(fps)
    if policy == "max_conflicts":
        # a content takes part with the fingerprint of its first pair; it conflicts with its copies and with
        # every pair of the contents within k
        _, index, count = np.unique(fps.content, return_inverse=True, return_counts=True)
        first = {int(c): int(r) for r, c in zip(reps, fps.content[reps], strict=True)}
        centre = fps.fp[[first[int(c)] for c in fps.content]]
        within = (hamming(centre[:, None], fps.fp[reps][None, :]) <= config.k) & (
            fps.content[:, None] != fps.content[reps][None, :])
        assert (got.conflicts == count[index] - 1 + within @ count[index[reps]]).all()


# --- the multi-stage path ---------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["keep_one", "max_conflicts"])
def test_multi_stage_equals_fast_path(planted, originals, tmp_path, policy):
    pairs = planted + [originals[5]] * 3 + planted[:40]  # exact copies and larger clusters across shards
    docs = docs_of(pairs)
    shards = tmp_path / "shards"
    for rank, part in enumerate(np.array_split(np.arange(len(docs)), 3)):
        writer = JsonlWriter(str(shards), output_filename="${rank}.jsonl", compression=None)
        list(writer.run(iter([docs[i] for i in part]), rank=rank))
    config = SimHashConfig(policy=policy)
    run = tmp_path / "run"

    def reader():
        return JsonlReader(str(shards))

    run_pipeline([reader(), SimHashDedup(config, exclusion_writer=rejects_writer(run / "fast", STEP)),
                  JsonlWriter(str(run / "fast" / "out"), compression=None)], run / "fast" / "logs")
    sig, buckets, remove = (str(tmp_path / name) for name in ("sig", "buckets", "remove"))
    run_pipeline([reader(), SimHashSignature(sig, config)], tmp_path / "logs1", tasks=3)
    run_pipeline([SimHashBuckets(sig, buckets, config)], tmp_path / "logs2", tasks=3)
    run_pipeline([SimHashCluster(buckets, remove, sig, config)], tmp_path / "logs3")
    run_pipeline([reader(), SimHashFilter(remove, config, exclusion_writer=rejects_writer(run / "multi", STEP)),
                  JsonlWriter(str(run / "multi" / "out"), compression=None)], run / "multi" / "logs", tasks=3)

    def ids(folder: Path) -> list[str]:
        return [json.loads(line)["id"] for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]

    def rejects(folder: Path) -> dict[str, str]:
        return {json.loads(line)["file"] + str(json.loads(line)["line"]): json.loads(line)["reason"]
                for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()}

    fast_kept, multi_kept = ids(run / "fast" / "out"), ids(run / "multi" / "out")
    assert fast_kept == multi_kept
    assert 0 < len(fast_kept) < len(docs)
    fast_rejects, multi_rejects = rejects(run / "fast" / "rejects" / STEP), rejects(run / "multi" / "rejects" / STEP)
    assert fast_rejects == multi_rejects and len(fast_rejects) == len(docs) - len(fast_kept)
    for part in ("fast", "multi"):
        funnel = Funnel.from_logging_dirs(run / part / "logs", rejects_dir=run / part / "rejects").check()
        assert funnel.input == len(docs) and funnel.output == len(fast_kept)
        assert count_reject_rows(run / part / "rejects") == len(fast_rejects)


def test_multi_stage_detail_names_the_representative(tmp_path):
    pairs = [("One two three four five.", "Eins zwei drei vier fuenf.", "eng_Latn", "deu_Latn")] * 2
    docs = docs_of(pairs)
    sig, buckets, remove = (str(tmp_path / name) for name in ("sig", "buckets", "remove"))
    list(SimHashSignature(sig).run(iter(docs)))
    list(SimHashBuckets(sig, buckets).run())
    list(SimHashCluster(buckets, remove, sig).run())
    again = docs_of(pairs)
    kept = list(SimHashFilter(remove).run(iter(again)))
    assert kept == again[:1]
    assert again[1].metadata[REJECT_STEP] == STEP
    assert again[1].metadata[REJECT_DETAIL] == "of task 0 index 0 (distance 0)"


def test_config_is_validated():
    with pytest.raises(ValueError, match="policy"):
        SimHashConfig(policy="drop_all")
    with pytest.raises(ValueError, match="num_blocks"):
        SimHashConfig(k=4, num_blocks=4)
