"""SimHash dedup (step 3b): the evidence behind the defaults, fingerprint throughput, and scaling.

Input: the real samples in ../shared/data/bitext (ParaCrawl v3 labelled en-cs/de/es/fr/hu, GlobalVoices en-sw,
TICO-19 en-sw/en-zh, Tatoeba LASER 16 languages <-> English; ~33k pairs). Sections:

- evidence: planted copies of 3,000 distinct pairs with 1/2/3 random token edits; the share found within distance
  k, for each feature choice; how many distinct real pairs lie within k of each other; what each k / policy
  removes from the real pairs, with examples;
- throughput: fingerprints per second on the same real pairs: ours (batched), datasketch MinHash(num_perm=128)
  per pair (its usual use; datasketch is no xplus dependency: `pip install datasketch` for this row, which is
  left out without it), a plain per-token Python SimHash;
- num_blocks: search + clustering time for k+1, k+2, k+3 pigeonhole blocks on 1M realistic pairs;
- scaling: the fast path's core (fingerprints + `search_and_decide`, no datatrove I/O) on 1e4..2e6 realistic
  pairs (`realistic_pairs`: bounded near-duplicate rate and cluster sizes), each size in a fresh process: wall
  time and peak RSS above the process's RSS with the input strings loaded; log-log slopes, extrapolation to 10M;
  PNG of the curve; plus the adversarial dense-cluster input (`dense_pairs`) at 3e5 and 1e6.

Timings are the best of --repeats runs (the machine is shared), except the single 2M point.

Usage: python bench/simhash.py [--out bench/results/simhash.md] [--max-pairs 2000000] [--repeats 3]
POLARS_MAX_THREADS=2 is set for every measurement (2 cores).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import random
import subprocess
import sys
import time
from math import comb
from pathlib import Path

os.environ["POLARS_MAX_THREADS"] = "2"

import numpy as np  # noqa: E402
from simhash_data import dense_pairs, planted_copy, real_pairs, realistic_pairs  # noqa: E402

from xplus.curate.segment import CHAR, mode_of, segment  # noqa: E402
from xplus.curate.simhash.decisions import Decision, decide, search_and_decide  # noqa: E402
from xplus.curate.simhash.fingerprint import (  # noqa: E402
    Fingerprints,
    SimHashConfig,
    distinct_pairs,  # noqa: E402
    fingerprint_batch,
    hamming,
)
from xplus.curate.simhash.search import near_pairs  # noqa: E402

KS = (3, 4, 5, 6, 7, 8)


def fingerprints(pairs, config: SimHashConfig):
    return fingerprint_batch(*(list(col) for col in list(zip(*pairs, strict=True))[:4]), config)


# --- evidence -------------------------------------------------------------------------------------------


def evidence(pairs) -> list[str]:
    unique = distinct_pairs(pairs)
    vocabulary = {False: sorted({w for p in unique for w in (p[0] + " " + p[1]).split()}),
                  True: sorted({c for p in unique for c in p[1] if mode_of(p[3]) == CHAR and not c.isspace()})}
    rng = random.Random(0)
    sample = rng.sample(unique, 3000)
    copies = {n: [planted_copy(p, n, random.Random(i * 7 + n), vocabulary) for i, p in enumerate(sample)]
              for n in (1, 2, 3)}
    out = [f"### Features: planted-copy recall and distinct pairs within k ({len(unique):,} distinct real pairs; "
           "3,000 of them copied with 1/2/3 random token edits)", "",
           "| features | edits | " + " | ".join(f"k={k}" for k in KS) + " |", "|---|---:|" + "---:|" * len(KS)]
    for word_n, char_n in ((1, 1), (1, 2), (1, 3), (2, 2)):
        config = SimHashConfig(word_ngram=word_n, char_ngram=char_n, k=max(KS), num_blocks=max(KS) + 1)
        base = fingerprints(sample, config)
        for n in (1, 2, 3):
            copy = fingerprints(copies[n], config)
            d = hamming(base.fp, copy.fp)[~base.exact & ~copy.exact]
            out.append(f"| word {word_n}-grams, char {char_n}-grams | {n} | "
                       + " | ".join(f"{np.mean(d <= k):.2f}" for k in KS) + " |")
        everything = fingerprints(unique, config)
        a, b = near_pairs(everything, config)
        d = hamming(everything.fp[a], everything.fp[b])
        out.append(f"| word {word_n}-grams, char {char_n}-grams | distinct real pairs within k | "
                   + " | ".join(f"{int((d <= k).sum())}" for k in KS) + " |")
    out += ["", "Long pairs fare better: recall of 1-edit copies by the number of words of the original "
            "(word 1-grams, char 2-grams):", "", "| words (both sides) | pairs | " + " | ".join(
                f"k={k}" for k in KS) + " |", "|---|---:|" + "---:|" * len(KS)]
    config = SimHashConfig(k=max(KS), num_blocks=max(KS) + 1)
    base, copy = fingerprints(sample, config), fingerprints(copies[1], config)
    d = hamming(base.fp, copy.fp)
    words = np.array([len(p[0].split()) + len(p[1].split()) for p in sample])
    for lo, hi in ((0, 15), (15, 30), (30, 60), (60, 10_000)):
        sel = (words >= lo) & (words < hi) & ~base.exact & ~copy.exact
        out.append(f"| {lo}-{hi if hi < 10_000 else ''} | {sel.sum()} | "
                   + " | ".join(f"{np.mean(d[sel] <= k):.2f}" for k in KS) + " |")
    out += examples(unique, pairs)
    return out


def examples(unique, pairs) -> list[str]:
    config = SimHashConfig(k=max(KS), num_blocks=max(KS) + 1)
    fps = fingerprints(unique, config)
    a, b = near_pairs(fps, config)
    d = hamming(fps.fp[a], fps.fp[b])
    rng = random.Random(1)
    out = ["", "### What lies at each distance (distinct real pairs; 3 random examples each)", ""]
    for k in KS:
        sel = np.flatnonzero(d == k)
        corpora = collections.Counter(unique[a[i]][4] for i in sel).most_common()
        out.append(f"- **distance {k}**: {len(sel)} pairs ({', '.join(f'{c} {n}' for c, n in corpora)})")
        for i in rng.sample(list(sel), min(3, len(sel))):
            out.append(f"  - `{short(unique[a[i]])}` ~ `{short(unique[b[i]])}`")
    all_fps = fingerprints(pairs, config)
    out += ["", f"### What each k and policy removes from all {len(pairs):,} real pairs", "",
            "| k | policy | kept | exact_duplicate | near_duplicate | too_many_conflicts |",
            "|---:|---|---:|---:|---:|---:|"]
    for k in (3, 4, 5, 6, 8):
        for policy in ("keep_one", "max_conflicts"):
            config = SimHashConfig(k=k, policy=policy)
            codes = collections.Counter(decide(all_fps, *near_pairs(all_fps, config), config).code.tolist())
            out.append(f"| {k} | {policy} | {codes[0]:,} | {codes[1]} | {codes[2]} | {codes[3]} |")
    return out


def short(pair) -> str:
    text = f"{pair[0]} ||| {pair[1]}".replace("`", "'")
    return text if len(text) <= 110 else text[:107] + "..."


# --- throughput -----------------------------------------------------------------------------------------


def python_simhash(source: str, target: str, src_code: str, trg_code: str) -> int:
    """The textbook SimHash, one token at a time (same features as ours, Python's hash)."""
    counts = [0] * 64
    for text, code in ((source, src_code), (target, trg_code)):
        tokens = segment(text.lower(), mode_of(code))
        if mode_of(code) == CHAR:
            tokens = [a + b for a, b in zip(tokens, tokens[1:], strict=False)]
        for token in tokens:
            h = hash(token) & 0xFFFFFFFFFFFFFFFF
            for bit in range(64):
                counts[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if counts[bit] > 0)


def throughput(pairs, repeats: int) -> list[str]:
    many = (pairs * (200_000 // len(pairs) + 1))[:200_000]
    config = SimHashConfig()
    rows = []
    best = min(timed(lambda: [fingerprints(many[i: i + config.batch_size], config)
                              for i in range(0, len(many), config.batch_size)]) for _ in range(repeats))
    rows.append((f"ours: `fingerprint_batch`, batches of 20k (polars + numpy), best of {repeats}", len(many), best))
    few = pairs[:5_000]

    try:
        from datasketch import MinHash
    except ImportError:
        print("datasketch is not installed (`pip install datasketch`): its MinHash row is left out", file=sys.stderr)
    else:
        def minhash():
            for s, t, cs, ct, _ in few:
                m = MinHash(num_perm=128)
                m.update_batch([w.encode() for w in segment(s.lower(), mode_of(cs)) + segment(t.lower(), mode_of(ct))])

        rows.append(("datasketch `MinHash(num_perm=128)`, one pair at a time (`update_batch`)", len(few),
                     timed(minhash)))
    rows.append(("plain Python SimHash, one token at a time", len(few),
                 timed(lambda: [python_simhash(*p[:4]) for p in few])))
    ours = rows[0][1] / rows[0][2]
    out = [f"### Fingerprints per second (real pairs, {platform.machine()}, 2 threads)", "",
           "| fingerprinter | pairs | seconds | pairs/s | ours is |", "|---|---:|---:|---:|---:|"]
    for name, n, seconds in rows:
        out.append(f"| {name} | {n:,} | {seconds:.2f} | {n / seconds:,.0f} | {ours / (n / seconds):.1f}x |")
    return out


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- scaling --------------------------------------------------------------------------------------------


def memory_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024


def reset_peak() -> None:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def scale_point(n: int, kind: str, num_blocks: int | None = None) -> dict:
    """One size, in this process: the fast path's core (fingerprints, then `search_and_decide`) on n pairs;
    peak RSS is measured above the RSS with the input strings loaded."""
    pairs = (realistic_pairs if kind == "realistic" else dense_pairs)(n)
    columns = [list(col) for col in zip(*pairs, strict=True)]
    del pairs
    config = SimHashConfig(num_blocks=num_blocks)
    before = memory_mb("VmRSS")
    reset_peak()
    start = time.perf_counter()
    fps = Fingerprints.concat([fingerprint_batch(*(c[i: i + config.batch_size] for c in columns), config)
                               for i in range(0, n, config.batch_size)])
    fingerprinted = time.perf_counter()
    decisions, near = search_and_decide(fps, config)
    done = time.perf_counter()
    return {"n": n, "kind": kind, "blocks": config.blocks, "seconds": done - start,
            "fingerprint_s": fingerprinted - start, "search_s": done - fingerprinted,
            "peak_mb": memory_mb("VmHWM") - before, "near_pairs": near, "dropped": int(decisions.dropped.sum()),
            "dropped_near": int((decisions.code == Decision.NEAR).sum())}


def run_point(n: int, kind: str, num_blocks: int | None = None, repeats: int = 1) -> dict:
    """`scale_point` in fresh processes; the best of `repeats` runs by wall time (shared machine)."""
    runs = []
    for _ in range(repeats):
        command = [sys.executable, __file__, "--point", str(n), "--kind", kind]
        if num_blocks:
            command += ["--blocks", str(num_blocks)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda p: p["seconds"])
    print(f"  {kind} {n:>9,} pairs, {best['blocks']} blocks: {best['seconds']:.1f} s, {best['peak_mb']:.0f} MB",
          file=sys.stderr)
    return best


def blocks_choice(repeats: int, max_pairs: int) -> list[str]:
    k = SimHashConfig().k
    out = [f"### num_blocks at k = {k}: fingerprints + search + clustering on realistic pairs", "",
           f"Best of {repeats} runs at 1M, except k+1 (one run: it is 10x slower); one run each at 2M.", "",
           "| pairs | num_blocks | tables | key bits | total s | search + clustering s | peak MB | "
           "verified near pairs | dropped |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    runs = [(1_000_000, k + 1, 1), (1_000_000, k + 2, repeats), (1_000_000, k + 3, repeats),
            (2_000_000, k + 2, 1), (2_000_000, k + 3, 1)]
    for n, blocks, times in runs:
        if n > max_pairs:
            continue
        p = run_point(n, "realistic", blocks, times)
        out.append(f"| {n:,} | {blocks} | {comb(blocks, k)} | {64 * (blocks - k) // blocks} | {p['seconds']:.1f} | "
                   f"{p['search_s']:.1f} | {p['peak_mb']:,.0f} | {p['near_pairs']:,} | {p['dropped']:,} |")
    return out + ["", "The candidates of a table grow as N^2 / 2^(key bits): with k+2 blocks (18-bit keys) they "
                  "dominate from ~1M pairs on; k+3 (56 tables of 24-bit keys) pays one packed sort per table "
                  "and stays linear, hence the default `num_blocks = k + 3`."]


def scaling(max_pairs: int, repeats: int, plot: Path) -> list[str]:
    sizes = [s for s in (10_000, 30_000, 100_000, 300_000, 1_000_000, 2_000_000) if s <= max_pairs]
    points = [run_point(n, "realistic", repeats=repeats if n < 2_000_000 else 1) for n in sizes]
    dense = [run_point(n, "dense") for n in (300_000, 1_000_000) if n <= max_pairs]
    fit = [p for p in points if p["n"] >= 100_000]
    slope = np.polyfit(np.log10([p["n"] for p in fit]), np.log10([p["seconds"] for p in fit]), 1)[0]
    mem_slope = np.polyfit(np.log10([p["n"] for p in fit]), np.log10([p["peak_mb"] for p in fit]), 1)[0]
    per_pair = np.polyfit([p["n"] for p in fit], [p["peak_mb"] for p in fit], 1)
    last = points[-1]
    seconds_10m = last["seconds"] * (10_000_000 / last["n"]) ** slope
    mb_10m = max(np.polyval(per_pair, 10_000_000), last["peak_mb"] * (10_000_000 / last["n"]) ** mem_slope)
    out = ["### Scaling of the fast path's core (fingerprints + `search_and_decide`), 2 threads", "",
           "Realistic pairs (`realistic_pairs`: distinct pairs of real-frequency tokens with real lengths, 5% "
           f"edited copies of earlier ones); each size in a fresh process, best of {repeats} runs (the 2M point: "
           "one run); peak RSS above the process's RSS with the input strings loaded.", "",
           "| input | pairs | seconds | fingerprint | search + clustering | pairs/s | peak RSS above input (MB) | "
           "verified near pairs | dropped | dropped near |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in points + dense:
        out.append(f"| {p['kind']} | {p['n']:,} | {p['seconds']:.2f} | {p['fingerprint_s']:.2f} | "
                   f"{p['search_s']:.2f} | "
                   f"{p['n'] / p['seconds']:,.0f} | {p['peak_mb']:,.0f} | {p['near_pairs']:,} | {p['dropped']:,} | "
                   f"{p['dropped_near']:,} |")
    out += ["", f"Log-log slope over 1e5..{last['n']:.0e} realistic pairs: time **{slope:.2f}**, peak memory "
            f"**{mem_slope:.2f}** ({per_pair[0] * 1e6:,.0f} MB per million pairs by a linear fit). Extrapolated to "
            f"10M pairs: ~{seconds_10m:,.0f} s and ~{mb_10m:,.0f} MB above the input (the larger of the power-law "
            f"and linear extrapolations): the 8 GB budget {'holds' if mb_10m < 8_000 else '**does not hold**'}.",
            "", "`dense` rows: the adversarial generator (`dense_pairs`; the previous bench's scaling input), where "
            "every replica is an edit of its original and clusters grow with n; `keep_one` merges per table and "
            "compares long runs of equal keys with their first members only, so memory stays linear."]
    plot_curve(points, dense, slope, plot)
    return out


def plot_curve(points, dense, slope: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = np.array([p["n"] for p in points])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.loglog(n, [p["seconds"] for p in points], "o-", label=f"realistic (slope {slope:.2f})")
    ax1.loglog(n, points[-1]["seconds"] * n / n[-1], "--", color="grey", label="linear")
    ax2.loglog(n, [max(p["peak_mb"], 1) for p in points], "o-", label="realistic")
    ax2.loglog(n, points[-1]["peak_mb"] * n / n[-1], "--", color="grey", label="linear")
    if dense:
        ax1.loglog([p["n"] for p in dense], [p["seconds"] for p in dense], "s", label="dense clusters")
        ax2.loglog([p["n"] for p in dense], [max(p["peak_mb"], 1) for p in dense], "s", label="dense clusters")
    ax1.set(xlabel="pairs", ylabel="seconds", title="SimHash fast path: time")
    ax2.set(xlabel="pairs", ylabel="MB above input", title="peak RSS")
    ax1.legend()
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "simhash.md")
    parser.add_argument("--max-pairs", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs for each timing")
    parser.add_argument("--point", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="realistic", help=argparse.SUPPRESS)
    parser.add_argument("--blocks", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.point:
        print(json.dumps(scale_point(args.point, args.kind, args.blocks)))
        return
    pairs = real_pairs()
    start = time.perf_counter()
    lines = [f"# SimHash dedup (step 3b): defaults, throughput, scaling ({len(pairs):,} real pairs)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs, hence best-of-N), "
             f"Python {platform.python_version()}, {datetime.date.today()}. Command: `python bench/simhash.py "
             f"--repeats {args.repeats}`", ""]
    lines += evidence(pairs) + [""] + throughput(pairs, args.repeats) + [""]
    lines += blocks_choice(args.repeats, args.max_pairs) + [""]
    lines += scaling(args.max_pairs, args.repeats, args.out.with_name("simhash_scaling.png"))
    lines += ["", f"Total bench time: {time.perf_counter() - start:.0f} s.", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
