"""Speed of steps 1-4 against OpusFilter 3.3.1 doing the equivalent work, on the same real pairs.

OpusFilter runs in its own venv (`bench/opusfilter_env.sh`; default `.bench/opusfilter`, or `--opusfilter-python`)
as a subprocess given a script with `-c`; pairs go to it as files, it times its own work and answers JSON. Input:
ParaCrawl v3 (en-cs/de/es/fr/hu), TICO-19 (en-sw, en-zh) and FLORES-200 dev+devtest (English against the 16 other
recipe languages), replicated to `--pairs`. Measured, best of `--repeat` each, 1 process:

- (a) LID: `LanguageIdFilter.filter_batch` (lid.176.ftz, defaults) vs OpusFilter's `FastTextFilter` (same file,
  `thresholds: [0, 0]`) scoring and accepting the same pairs, in memory, model loaded before the clock starts
  (and xplus's prediction cache empty: a new filter each run), and with the cache off, which predicts every side
  as OpusFilter does;
- (b) steps 1-4 vs `OpusFilter(config).execute_steps()` reading the same Moses files (`remove_duplicates`, then
  `filter` with `LengthFilter`, `LengthRatioFilter` and `FastTextFilter`), kept pairs written. xplus in a datatrove
  `LocalPipelineExecutor`: the equivalent work on 1 and 2 tasks, with the cleaner and rejects, and the recipe's
  default CPU work; OpusFilter on 1 process and with `default_n_jobs: 2`. The table's notes say what each row runs.

Usage: python bench/vs_opusfilter.py [--pairs 100000] [--repeat 3] [--opusfilter-python .bench/opusfilter/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import multiprocess
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from vs_opusfilter_notes import ROW_NOTES, profile_section  # this folder's module (the notes under the tables)

from xplus.curate.clean import Cleaner
from xplus.curate.consistency import ConsistencyFilter
from xplus.curate.decontaminate import FloresDecontaminator
from xplus.curate.languages import RECIPE_LANGUAGES, get_language
from xplus.curate.length import LengthRatioFilter
from xplus.curate.lid import DEFAULT_CACHE_SIZE, LanguageIdFilter, bundled_lid176_path
from xplus.curate.readers.moses import MosesReader
from xplus.curate.readers.tsv import PARACRAWL_V3_COLUMNS, TsvReader
from xplus.curate.record import make_pair
from xplus.curate.simhash import SimHashConfig, SimHashDedup
from xplus.curate.template import InstructionTemplater
from xplus.curate.untranslated import UntranslatedFilter
from xplus.curate.writers import BitextJsonlWriter, ChatJsonlWriter, rejects_writer
from xplus.pipelines.shared_data import shared_data_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_data_dir()
PARACRAWL = SHARED / "bitext" / "paracrawl-v3-labelled"
PARACRAWL_LANGUAGES = ("cs", "de", "es", "fr", "hu")
DEFAULT_OPUSFILTER_PYTHON = REPO / ".bench" / "opusfilter" / "bin" / "python"
OPUSFILTER_BASELINE = "OpusFilter remove_duplicates + filter (1 process)"
EQUIVALENT_1 = "xplus steps 1, 3a, 3b, 4 (equivalent work), 1 task"
EQUIVALENT_2 = "xplus steps 1, 3a, 3b, 4 (equivalent work), 2 tasks"
LID_CACHE_OFF = "xplus LanguageIdFilter, prediction cache off"
RECIPE_1 = ("xplus recipe's default CPU work (cleaner, length, consistency, untranslated, dedup, LID, decontamination, "
            "rejects written, templating), 1 task")
#: what a worker of the 2-task run imports to unpickle its pipeline (preloaded by the forkserver)
WORKER_MODULES = ("datatrove.executor", "xplus.curate.clean", "xplus.curate.consistency",
                  "xplus.curate.decontaminate", "xplus.curate.length", "xplus.curate.lid", "xplus.curate.template",
                  "xplus.curate.readers.moses", "xplus.curate.simhash", "xplus.curate.writers")

#: OpusFilter's side, run in its venv: argv = mode, pairs JSONL ({"l1", "l2", "src", "trg"}), model, repeat
#: (lid) or work folder, config JSON, repeat (pipeline); prints JSON
OPUSFILTER_SCRIPT = r"""
import json, sys, time, logging
logging.disable(logging.WARNING)
from opusfilter.lid import FastTextFilter
mode = sys.argv[1]
if mode == "lid":
    pairs = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8")]
    groups = {}
    for p in pairs:
        groups.setdefault((p["l1"], p["l2"]), []).append((p["src"], p["trg"]))
    filters = {key: FastTextFilter(languages=list(key), thresholds=[0, 0], model_path=sys.argv[3]) for key in groups}
    best = float("inf")
    for _ in range(int(sys.argv[4])):
        start = time.perf_counter()
        kept = sum(sum(1 for _ in filters[key].filter(group)) for key, group in groups.items())
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"seconds": best, "kept": kept}))
else:
    import os, shutil
    from opusfilter.opusfilter import OpusFilter
    work, config, best = sys.argv[2], json.loads(sys.argv[3]), float("inf")
    for _ in range(int(sys.argv[4])):
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        start = time.perf_counter()
        OpusFilter(config).execute_steps(overwrite=True)
        best = min(best, time.perf_counter() - start)
    out = os.path.join(work, "out")
    kept = sum(sum(1 for _ in open(os.path.join(out, f), encoding="utf-8"))
               for f in os.listdir(out) if f.startswith("kept.") and f.endswith(".src"))
    print(json.dumps({"seconds": best, "kept": kept}))
"""


def opusfilter_python(path: str | None) -> Path:
    python = Path(path or os.environ.get("OPUSFILTER_PYTHON", DEFAULT_OPUSFILTER_PYTHON))
    if not python.is_file():
        raise SystemExit(f"no OpusFilter venv at {python}: run `bash bench/opusfilter_env.sh` or pass "
                         "--opusfilter-python")
    return python


def run_opusfilter(python: Path, script: str, *args: str) -> dict:
    """Run `script` with `-c` in OpusFilter's venv; its last stdout line is the JSON answer."""
    done = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"OpusFilter subprocess failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def source_version() -> str:
    """The commit the measured code is at, and whether files under `curate/` differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()

    changed = git("status", "--porcelain", "--", "curate")
    return f"`{git('rev-parse', '--short', 'HEAD') or 'unknown'}`" + (" + uncommitted changes in curate/" if changed
                                                                      else "")


def opus_code(code: str) -> str:
    """The lid.176 label OpusFilter is configured with (it compares labels literally)."""
    return get_language(code).lid176


def real_pairs() -> list[tuple[str, str, str, str]]:
    """(src code, trg code, source, target) of ParaCrawl, TICO-19 and FLORES-200 English-X pairs."""
    pairs = []
    for xx in PARACRAWL_LANGUAGES:
        reader = TsvReader(PARACRAWL / f"en-{xx}", "en", xx, columns=PARACRAWL_V3_COLUMNS)
        pairs += [(doc.metadata["src"], doc.metadata["trg"], doc.text, doc.metadata["tgt_line"])
                  for doc in reader.run()]
    for folder, suffix, code in (("eng-swa", "swa", "swh_Latn"), ("eng-zho", "zho", "zho_Hans")):
        base = SHARED / "bitext" / "tico19" / folder / "tico19-test"
        src = Path(f"{base}.eng").read_text(encoding="utf-8").splitlines()
        pairs += [("eng_Latn", code, s, t) for s, t in zip(src, Path(f"{base}.{suffix}").read_text(
            encoding="utf-8").splitlines(), strict=True)]
    for split in ("dev", "devtest"):
        english = (SHARED / "flores200" / split / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()
        for code in RECIPE_LANGUAGES[1:]:
            other = (SHARED / "flores200" / split / f"{code}.txt").read_text(encoding="utf-8").splitlines()
            pairs += [("eng_Latn", code, s, t) for s, t in zip(english, other, strict=True)]
    return [(src, trg, " ".join(s.split()), " ".join(t.split())) for src, trg, s, t in pairs]


def replicate(pairs: list, n: int) -> list:
    return (pairs * -(-n // len(pairs)))[:n]


def bench_lid(pairs: list, python: Path, work: Path, repeat: int) -> dict[str, tuple[float, int]]:
    """(best seconds, kept pairs) of each LID filter over the same pairs."""
    with open(work / "lid.jsonl", "w", encoding="utf-8") as f:
        for src, trg, s, t in pairs:
            f.write(json.dumps({"l1": opus_code(src), "l2": opus_code(trg), "src": s, "trg": t}, ensure_ascii=False)
                    + "\n")
    results = {}
    for name, cache_size in (("xplus LanguageIdFilter", DEFAULT_CACHE_SIZE),
                             (LID_CACHE_OFF, 0)):
        best, kept = float("inf"), 0
        for _ in range(repeat):
            lid = LanguageIdFilter(cache_size=cache_size)  # a new one each run: its prediction cache starts empty
            lid.lid  # noqa: B018 -- load the model before the clock starts, as OpusFilter's is
            docs = [make_pair(s, t, src, trg, "bench", "lid", i) for i, (src, trg, s, t) in enumerate(pairs)]
            start = time.perf_counter()
            kept = sum(result is True for begin in range(0, len(docs), lid.batch_size)
                       for result in lid.filter_batch(docs[begin:begin + lid.batch_size]))
            best = min(best, time.perf_counter() - start)
        results[name] = (best, kept)
    opus = run_opusfilter(python, OPUSFILTER_SCRIPT, "lid", str(work / "lid.jsonl"), str(bundled_lid176_path()),
                          str(repeat))
    return {**results, "OpusFilter FastTextFilter": (opus["seconds"], opus["kept"])}


def write_moses(pairs: list, folder: Path) -> list[tuple[str, str, str]]:
    """One Moses file pair per language pair, `<src>-<trg>.src` / `.trg`; returns (src, trg, stem)."""
    folder.mkdir(parents=True)
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for src, trg, s, t in pairs:
        grouped.setdefault((src, trg), []).append((s, t))
    stems = []
    for (src, trg), group in grouped.items():
        stem = f"{src}-{trg}"
        (folder / f"{stem}.src").write_text("".join(s + "\n" for s, _ in group), encoding="utf-8")
        (folder / f"{stem}.trg").write_text("".join(t + "\n" for _, t in group), encoding="utf-8")
        stems.append((src, trg, stem))
    return stems


def opusfilter_config(stems: list[tuple[str, str, str]], moses: Path, work: Path, jobs: int = 1) -> dict:
    """remove_duplicates, then length, ratio and fastText LID filters, per language pair, as OpusFilter YAML would;
    `jobs` > 1 splits each filter step's files into that many parts filtered by as many processes."""
    steps = []
    for src, trg, stem in stems:
        units = ["char" if get_language(code).segmentation == "char" else "word" for code in (src, trg)]
        steps.append({"type": "remove_duplicates", "parameters": {
            "inputs": [str(moses / f"{stem}.src"), str(moses / f"{stem}.trg")],
            "outputs": [f"dedup.{stem}.src", f"dedup.{stem}.trg"]}})
        steps.append({"type": "filter", "parameters": {
            "inputs": [f"dedup.{stem}.src", f"dedup.{stem}.trg"],
            "outputs": [f"kept.{stem}.src", f"kept.{stem}.trg"],
            "filters": [
                {"LengthFilter": {"min_length": 2, "max_length": 10**9, "unit": units}},
                {"LengthRatioFilter": {"threshold": 3.33, "unit": units}},
                {"FastTextFilter": {"languages": [opus_code(src), opus_code(trg)], "thresholds": [0, 0],
                                    "model_path": str(bundled_lid176_path())}},
            ]}})
    return {"common": {"output_directory": str(work / "out"), "default_n_jobs": jobs}, "steps": steps}


class _ReadersOnTasks(PipelineStep):
    """Moses readers, each read whole by the one task it is given: readers shard their files over tasks (a
    one-file reader gives all its work to task 0), and one block instead of one per file keeps every pair from
    passing through a generator per reader before it."""

    name = "📖 readers on tasks"
    type = "📖 - READER"

    def __init__(self, readers: list[tuple[MosesReader, int]]):
        super().__init__()
        self.readers = readers

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        if data:
            yield from data
        for reader, task in self.readers:
            if task == rank:
                yield from reader.run(None, 0, 1)


def spread(sizes: list[int], tasks: int) -> list[int]:
    """The task of each file: largest first, each to the task with the fewest bytes so far (balanced work)."""
    load, task_of = [0] * tasks, [0] * len(sizes)
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        task_of[i] = min(range(tasks), key=load.__getitem__)
        load[task_of[i]] += sizes[i]
    return task_of


def bench_pipeline(pairs: list, python: Path, work: Path, repeat: int) -> dict[str, tuple[float, int]]:
    moses = work / "moses"
    stems = write_moses(pairs, moses)

    sizes = [sum((moses / f"{stem}.{side}").stat().st_size for side in ("src", "trg")) for _, _, stem in stems]

    def blocks(out: Path, work_kind: str, tasks: int) -> list:
        readers = _ReadersOnTasks([
            (MosesReader(moses, src, trg, pairs=[(f"{stem}.src", f"{stem}.trg")], corpus=stem), task)
            for (src, trg, stem), task in zip(stems, spread(sizes, tasks), strict=True)])
        full, recipe = work_kind != "equivalent", work_kind == "recipe"

        def rejects(step: str):
            return rejects_writer(out, step) if full else None

        return [readers,
                *([Cleaner(exclusion_writer=rejects("clean"))] if full else []),
                LengthRatioFilter(exclusion_writer=rejects("length")),
                *([ConsistencyFilter(exclusion_writer=rejects("consistency")),
                   UntranslatedFilter(exclusion_writer=rejects("untranslated"))] if recipe else []),
                SimHashDedup(SimHashConfig(), exclusion_writer=rejects("dedup")),
                LanguageIdFilter(exclusion_writer=rejects("lid")),
                *([FloresDecontaminator(SHARED / "flores200", exclusion_writer=rejects("decontaminate"))]
                  if recipe else []),
                BitextJsonlWriter(out / "output"),
                *([InstructionTemplater(), ChatJsonlWriter(out / "chat-messages")] if recipe else [])]

    results = {}
    cold_start = warm_forkserver()
    for name, tasks, work_kind in ((EQUIVALENT_1, 1, "equivalent"),
                                   (EQUIVALENT_2, 2, "equivalent"),
                                   ("xplus steps 1-4 + cleaner + rejects written, 1 task", 1, "cleaner"),
                                   (RECIPE_1, 1, "recipe")):
        best, kept = float("inf"), 0
        for _ in range(repeat):
            shutil.rmtree(work / "xplus", ignore_errors=True)
            start = time.perf_counter()
            LocalPipelineExecutor(blocks(work / "xplus", work_kind, tasks), tasks=tasks, workers=tasks,
                                  logging_dir=str(work / "xplus/logs")).run()
            best = min(best, time.perf_counter() - start)
            kept = sum(len(f.read_text(encoding="utf-8").splitlines())
                       for f in (work / "xplus/output").glob("*.jsonl"))
        results[name] = (best, kept)
    for name, jobs in ((OPUSFILTER_BASELINE, 1), ("OpusFilter remove_duplicates + filter (default_n_jobs: 2)", 2)):
        config = json.dumps(opusfilter_config(stems, moses, work, jobs))
        opus = run_opusfilter(python, OPUSFILTER_SCRIPT, "pipeline", str(work), config, str(repeat))
        results[name] = (opus["seconds"], opus["kept"])
    return results, cold_start


def warm_forkserver() -> float:
    """Start the forkserver datatrove's multi-worker runs fork their workers from, with the modules they need
    already imported; returns how long that took (once per process: OpusFilter's jobs are forked from its
    running process, so they inherit its imports in the same way)."""
    start = time.perf_counter()
    context = multiprocess.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    process = context.Process(target=os.getpid)  # served once the forkserver has imported them
    process.start()
    process.join()
    return time.perf_counter() - start


def table(title: str, results: dict[str, tuple[float, int]], n: int, baseline: str) -> list[str]:
    rows = [f"### {title}", "", "| tool | seconds (best) | pairs/s | kept | speed vs OpusFilter |",
            "|---|---:|---:|---:|---:|"]
    base = results[baseline][0]
    rows += [f"| {name} | {s:.2f} | {n / s:,.0f} | {kept:,} | {base / s:.2f}x |" for name, (s, kept) in results.items()]
    return rows + [""]


def targets(lid: dict[str, tuple[float, int]], pipeline: dict[str, tuple[float, int]]) -> list[str]:
    """Issue 16's targets, each as measured in this run."""
    base = pipeline[OPUSFILTER_BASELINE][0]
    rows = [("equivalent work, 1 task vs OpusFilter 1 process", base / pipeline[EQUIVALENT_1][0], 2.0),
            ("recipe's default CPU work, 1 task vs OpusFilter's equivalent work", base / pipeline[RECIPE_1][0], 1.0),
            ("equivalent work, 2 tasks vs 1 task", pipeline[EQUIVALENT_1][0] / pipeline[EQUIVALENT_2][0], 1.8),
            ("LID in memory, prediction cache off, vs OpusFilter FastTextFilter",
             lid["OpusFilter FastTextFilter"][0] / lid[LID_CACHE_OFF][0], None)]
    lines = ["### Targets (issue 16), from this run", "", "| row | measured | target | met |", "|---|---:|---:|---|"]
    lines += [f"| {name} | {ratio:.2f}x | {f'>= {goal:.1f}x' if goal else '-'} | "
              f"{('yes' if ratio >= goal else 'no') if goal else '-'} |" for name, ratio, goal in rows]
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best time counts")
    parser.add_argument("--opusfilter-python", default=None, help="python of the OpusFilter venv")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "vs_opusfilter.md")
    args = parser.parse_args()
    python = opusfilter_python(args.opusfilter_python)
    pairs = replicate(real_pairs(), args.pairs)
    work = Path(tempfile.mkdtemp(prefix="xplus-vs-opusfilter-"))
    try:
        lid = bench_lid(pairs, python, work, args.repeat)
        pipeline, cold_start = bench_pipeline(pairs, python, work, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    unique = len(set(real_pairs()))
    lines = [
        f"# Steps 1-4 vs OpusFilter 3.3.1 ({len(pairs):,} real pairs, {unique:,} distinct, replicated)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}. Best of {args.repeat} runs each, both tools in "
        f"the same benchmark run. Command: `python bench/vs_opusfilter.py --pairs {args.pairs} --repeat {args.repeat}`"
        f" (OpusFilter in the venv of `bench/opusfilter_env.sh`), xplus at {source_version()}.",
        "",
        *table("(a) language ID, pairs in memory, lid.176.ftz", lid, len(pairs), "OpusFilter FastTextFilter"),
        "xplus's filter starts each run with an empty prediction cache; it predicts each distinct side text once "
        "(the pairs are replicated, and English sides repeat across language pairs), OpusFilter predicts every side; "
        "the cache-off row predicts every side too. In (b) duplicates are gone before LID, so there the cache only "
        "saves the English sides that repeat across language pairs (FLORES is multi-way parallel).",
        "",
        *targets(lid, pipeline),
        *table("(b) steps 1-4, Moses files in, kept pairs out", pipeline, len(pairs), OPUSFILTER_BASELINE),
        ROW_NOTES.format(cold_start=cold_start),
    ]
    lines += profile_section(args.out.parent / "profile_recipe.md")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
