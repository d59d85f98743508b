"""xplus.evaluate: FLORES translation with the BenchMAX protocol and its scores (spBLEU, chrF++, xCOMET).

- `flores`: FLORES-101/200 sources (release folders, this repo's sample, Hub ids at a revision) and directions.
- `generate`: BenchMAX prompt in the chat template, batched greedy generation, output cleaning, per-direction cache.
- `metrics`: sacrebleu scores with signatures (spBLEU `flores200` by default, chrF++).
- `comet/`: xCOMET in its own unbabel-comet environment (setup, subprocess runner, client).
- `runs`: the run folder (settings, translations, scores); `translate`: the `translate` command.
- `report`: per-direction and Table-1 tables (Markdown, CSV, JSON) and heatmaps.
- `compare`: runs side by side with paired bootstrap significance.
"""
