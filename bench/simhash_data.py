"""The pairs the SimHash bench measures on: every real pair of the shared samples, planted edited copies of them,
and synthetic inputs for the scaling runs (realistic, and the adversarial dense clusters).

Shared with `same_decisions.py`, which checks the decisions on the same real pairs.
"""

from __future__ import annotations

import collections
import random

import numpy as np

from xplus.curate.languages import normalize
from xplus.curate.segment import CHAR, mode_of, segment
from xplus.curate.simhash.fingerprint import distinct_pairs
from xplus.pipelines.shared_data import shared_data_dir

SHARED = shared_data_dir() / "bitext"


def real_pairs() -> list[tuple[str, str, str, str, str]]:
    """(source, target, src code, trg code, corpus) of every non-empty real pair."""
    def moses(folder: str, a: str, b: str, ca: str, cb: str, corpus: str):
        sa = (SHARED / folder / a).read_text(encoding="utf-8").split("\n")
        sb = (SHARED / folder / b).read_text(encoding="utf-8").split("\n")
        return [(x, y, normalize(ca), normalize(cb), corpus) for x, y in zip(sa, sb, strict=True) if x.strip()
                and y.strip()]

    pairs = []
    for folder in sorted((SHARED / "paracrawl-v3-labelled").glob("en-*")):
        for line in (folder / f"sorted.{folder.name}").read_text(encoding="utf-8").splitlines():
            cols = line.split("\t")
            pairs.append((cols[2], cols[3], "eng_Latn", normalize(folder.name[3:]), "paracrawl"))
    pairs += moses("opus-globalvoices/en-sw", "GlobalVoices.en", "GlobalVoices.sw", "en", "sw", "globalvoices")
    pairs += moses("tico19/eng-swa", "tico19-test.eng", "tico19-test.swa", "en", "sw", "tico19")
    pairs += moses("tico19/eng-zho", "tico19-test.eng", "tico19-test.zho", "en", "zh", "tico19")
    for folder in sorted((SHARED / "tatoeba-laser-v1").glob("*-eng")):
        lang = folder.name.split("-")[0]
        pairs += moses(f"tatoeba-laser-v1/{folder.name}", f"tatoeba.{folder.name}.eng",
                       f"tatoeba.{folder.name}.{lang}", "en", lang, "tatoeba")
    return pairs


def edit_side(text: str, code: str, n: int, rng: random.Random, vocabulary: dict) -> str:
    char = mode_of(code) == CHAR
    tokens = segment(text, mode_of(code))
    for _ in range(n):
        i = rng.randrange(len(tokens))
        op = rng.choice("sdi") if len(tokens) > 2 else "i"
        new = rng.choice(vocabulary[char])
        if op == "s":
            tokens[i] = new
        elif op == "d":
            del tokens[i]
        else:
            tokens.insert(i, new)
    return ("" if char else " ").join(tokens)


def planted_copy(pair, n: int, rng: random.Random, vocabulary: dict):
    s, t, cs, ct, corpus = pair
    on_source = sum(rng.random() < 0.5 for _ in range(n))
    return (edit_side(s, cs, on_source, rng, vocabulary) if on_source else s,
            edit_side(t, ct, n - on_source, rng, vocabulary) if n - on_source else t, cs, ct, corpus)


def realistic_pairs(n: int, seed: int = 0, near_rate: float = 0.05) -> list[tuple]:
    """n synthetic pairs with a bounded, realistic near-duplicate rate.

    A distinct pair takes the language pair and the side lengths (in tokens, at least 3) of a random real pair
    and fills each side with tokens drawn from the real text of that language, by frequency (words, or
    characters for character languages): real vocabulary, lengths and feature counts, but two such pairs are
    as unrelated as two random sentences, so the repeats a finite sample of real pairs would bring at millions
    of draws are left out. `near_rate` of the pairs are instead 1-3 random token edits (spread over the two
    sides, real words) of an earlier distinct pair, picked uniformly: each distinct pair has ~Poisson(near_rate)
    edited copies, so clusters stay small at any n and near pairs grow linearly with n.
    """
    pairs = distinct_pairs(real_pairs())
    vocabulary = {False: sorted({w for p in pairs for w in (p[0] + " " + p[1]).split()}),
                  True: sorted({c for p in pairs for c in p[1] if mode_of(p[3]) == CHAR and not c.isspace()})}
    streams = collections.defaultdict(list)  # every token of every text, per language: frequency-weighted
    for s, t, cs, ct, _ in pairs:
        streams[cs] += segment(s, mode_of(cs))
        streams[ct] += segment(t, mode_of(ct))
    streams = {code: np.array(tokens) for code, tokens in streams.items()}
    rng = np.random.default_rng(seed)
    template = rng.integers(0, len(pairs), n)
    copy = rng.random(n) < near_rate
    copy[0] = False

    def fill(code: str, length: int) -> str:
        tokens = streams[code][rng.integers(0, len(streams[code]), max(length, 3))]
        return ("" if mode_of(code) == CHAR else " ").join(tokens.tolist())

    edit_rng = random.Random(seed)
    out: list[tuple] = []
    originals: list[int] = []
    for i in range(n):
        if copy[i]:
            original = out[originals[edit_rng.randrange(len(originals))]]
            out.append(planted_copy((*original, ""), 1 + edit_rng.randrange(3), edit_rng, vocabulary)[:4])
            continue
        s, t, cs, ct, _ = pairs[template[i]]
        originals.append(i)
        out.append((fill(cs, len(segment(s, mode_of(cs)))), fill(ct, len(segment(t, mode_of(ct)))), cs, ct))
    return out


def dense_pairs(n: int) -> list[tuple]:
    """The adversarial case: the real pairs, then replicas with one random word added to each side, so every
    replica is a near-duplicate candidate of its original and clusters grow with n (~n/33k members)."""
    pairs = [p[:4] for p in real_pairs()]
    words = sorted({w for p in pairs for w in p[0].split()})
    rng = np.random.default_rng(0)
    extra = rng.integers(0, len(words), (n, 2))
    return [pairs[i] if i < len(pairs) else
            (f"{words[extra[i, 0]]} {pairs[i % len(pairs)][0]}", f"{pairs[i % len(pairs)][1]} {words[extra[i, 1]]}",
             *pairs[i % len(pairs)][2:]) for i in range(n)]
