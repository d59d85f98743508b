"""The notes under `bench/vs_opusfilter.py`'s tables: what each row runs, and the recipe's profile tables."""

from __future__ import annotations

from pathlib import Path

ROW_NOTES = """What each row of (b) runs (every row reads the same Moses files, one file pair per language pair, and
writes the kept pairs; the clock covers the whole run, worker start and model loading included):

- xplus, 1 task: one datatrove `LocalPipelineExecutor` task in this process, `MosesReader`s -> `LengthRatioFilter`
  -> `SimHashDedup` -> `LanguageIdFilter` -> `BitextJsonlWriter`; no cleaner, no rejects written (OpusFilter has
  neither);
- xplus, 2 tasks: the same blocks, 2 tasks on 2 worker processes; each file pair is read by one task (the largest
  first, each to the task with the fewest bytes so far) and SimHash runs per task, so the few near duplicates across
  language pairs on different tasks are kept (the recipe's multi-stage SimHash would drop them). Workers are forked
  from datatrove's forkserver with the xplus modules already imported: starting it costs {cold_start:.2f} s once per
  process, outside the clock, as OpusFilter's jobs are forked from its running process;
- xplus, cleaner + rejects: the 1-task row plus the `Cleaner` (ftfy, HTML, Unicode, whitespace) and every dropped
  pair written with its step and reason;
- xplus, recipe's default CPU work: the recipe's default steps in its order, 1 task: `Cleaner`, `LengthRatioFilter`,
  `ConsistencyFilter`, `UntranslatedFilter`, `SimHashDedup`, `LanguageIdFilter`, `FloresDecontaminator` (shared
  FLORES-200 dev+devtest: it drops the FLORES pairs of the input, about a third of it), `BitextJsonlWriter`,
  `InstructionTemplater` (both directions) and `ChatJsonlWriter`, every dropped pair written with its step and
  reason; it does more than OpusFilter's equivalent work, and is compared with it;
- OpusFilter, 1 process (the baseline): `OpusFilter(config).execute_steps()` in its venv, per language pair
  `remove_duplicates`, then `filter` with `LengthFilter`, `LengthRatioFilter` and `FastTextFilter`;
- OpusFilter, `default_n_jobs: 2`: the same, with each `filter` step's files split in 2 parts filtered by 2 forked
  processes and merged (`remove_duplicates` stays one process); the equal-resource comparison for the 2-task row.

Kept counts differ by design: xplus drops near duplicates (SimHash), and a pair for LID only when lid.176 is sure a
side is another language (p >= 0.4) and finds its expected one unlikely (p < 0.1;
`bench/results/quality_paracrawl.md`); OpusFilter drops exact duplicates and every pair with a side whose top label
is another language."""


def profile_section(profile: Path) -> list[str]:
    """bench/profile_recipe.py's tables (before and after the changes), when they are there."""
    if not profile.exists():
        return []
    return ["", "## Where the recipe's time goes (`bench/profile_recipe.py`, copied from "
            "`bench/results/profile_recipe.md`)", "",
            *[line.replace("## ", "### ", 1) if line.startswith("## ") else line
              for line in profile.read_text().splitlines()[1:]]]
