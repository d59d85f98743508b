"""xplus.evaluate: FLORES translation with the BenchMAX protocol and its scores (spBLEU, chrF++, xCOMET), and
retention of the base model's other skills (lm-evaluation-harness).

- `flores`: FLORES-101/200 sources (release folders, this repo's sample, Hub ids at a revision) and directions.
- `generate`: BenchMAX prompt in the chat template, batched greedy generation, output cleaning, per-direction cache.
- `metrics`: sacrebleu scores with signatures (spBLEU `flores200` by default, chrF++).
- `comet/`: xCOMET in its own unbabel-comet environment (setup, subprocess runner, client).
- `runs`: the run folder (settings, translations, scores); `translate`: the `translate` command.
- `report`: per-direction and Table-1 tables (Markdown, CSV, JSON) and heatmaps.
- `compare`: runs side by side with paired bootstrap significance.
- `retention*`: lm-evaluation-harness tasks on a base and tuned models, paired bootstrap deltas, tables, plots.

This folder is `xplus.evaluate`. Imported as a top-level `evaluate` (Python puts the working directory first on
`sys.path` for `python -c` and `python -m pytest`, so `import evaluate` run from the repository root finds this
folder before site-packages), it hands over to HuggingFace's `evaluate`, which is what such code means
(lm-evaluation-harness imports it): the lines below load that package from the rest of `sys.path` in place of
this one, or raise ImportError when it is not installed.
"""

if __name__ == "evaluate":
    import importlib.machinery
    import importlib.util
    import os
    import sys

    _repo = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    _others = [p for p in sys.path if os.path.realpath(p or os.curdir) != _repo]
    _spec = importlib.machinery.PathFinder.find_spec("evaluate", _others)
    if _spec is None or _spec.loader is None:
        raise ImportError("`import evaluate` found xplus's evaluate/ folder (the working directory is on sys.path) "
                          "and HuggingFace's `evaluate` is not installed: xplus's package is `xplus.evaluate`")
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["evaluate"] = _module
    _spec.loader.exec_module(_module)
