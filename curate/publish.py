"""Publish a finished run to the HF Hub as a dataset: parquet shards, one config per language pair, a card.

`build_dataset_folder` lays the run out the way the Hub and `datasets` expect:

    README.md                          the dataset card (YAML metadata + the recipe, funnel, thresholds, sources)
    data/<config>/train-0000i-of-0000n.parquet

One config per language pair (`en-sw`; FLORES-200 codes where a language has no ISO 639-1 code or shares it
with another language of the run: `en-zho_Hans` and `en-zho_Hant`), named with both languages in a fixed order
so that both translation directions of the chats land in one config, and a default config `all` with every
pair, so `load_dataset(repo)` works without a name. The card lists languages as the Hub knows them (ISO 639-1,
else 639-3: `ace_Arab` is `ace`) and one of the Hub's size categories. Nothing published names a local path:
the recipe text and the `file` column keep only `<local>/<last part>` of an absolute path. The chats (step 6
output, `messages` layout) are published when the run made them, else the curated pairs.
`push` uploads the folder in ONE commit (the Hub limits commits per hour; datatrove's writers would commit
once per task). The token comes from `HF_TOKEN` or the local HF login and is never printed. FLORES text is
never published: the card carries the thresholds table only, and decontaminated runs hold no FLORES pair.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl

from xplus.curate.accounting import run_funnel
from xplus.curate.languages import get_language
from xplus.curate.report import read_jsonl_rows

ROWS_PER_SHARD = 500_000
CITATION = """@article{llamax2,
  title   = {LLaMAX2: Your Translation-Enhanced Model also Performs Well in Reasoning},
  journal = {arXiv preprint arXiv:2510.09189},
  year    = {2025},
  url     = {https://arxiv.org/abs/2510.09189}
}"""


#: the Hub's dataset size categories (`datasets/utils/resources/size_categories.json`), by upper bound
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"),
                   (10**11, "10B<n<100B"), (10**12, "100B<n<1T"))
DEFAULT_CONFIG = "all"
#: an absolute local path (POSIX, home-relative, Windows drive or file:// URL) in published text
LOCAL_PATH = re.compile(r"""(?:file://|(?<![\w.:/@-])/|~/|\b[A-Za-z]:[\\/])[^\s'"`,;|)\]}]+""")


def short_codes(codes: set[str]) -> dict[str, str]:
    """Config name part of each FLORES-200 code: its ISO 639-1 code, or the FLORES code where there is none or
    where two languages of the run share one (`zho_Hans` and `zho_Hant` both being `zh`)."""
    iso = {code: get_language(code).iso639_1 for code in codes}
    taken = Counter(v for v in iso.values() if v)
    return {code: short if short and taken[short] == 1 else get_language(code).flores200
            for code, short in iso.items()}


def config_name(src: str, trg: str, short: dict[str, str] | None = None) -> str:
    """`en-sw` for both directions of a pair; English first, otherwise alphabetical."""
    short = short or short_codes({src, trg})
    a, b = short[src], short[trg]
    if b == "en" or (a != "en" and b < a):
        a, b = b, a
    return f"{a}-{b}"


def hub_language(code: str) -> str:
    """The code the Hub's card metadata accepts (ISO 639-1, else ISO 639-3): `ace_Arab` -> `ace`."""
    lang = get_language(code)
    return lang.iso639_1 or lang.iso639_3


def size_category(n: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if n < limit), "n>1T")


def scrub_local_paths(text: str) -> str:
    """Published text keeps no local absolute path: each becomes `<local>/<its last part>`."""
    return LOCAL_PATH.sub(lambda m: f"<local>/{m.group(0).rstrip('/').rsplit('/', 1)[-1].rsplit(chr(92), 1)[-1]}",
                          text)


def _read_output(run_dir: Path) -> tuple[pl.DataFrame, str]:
    for folder, kind in ((run_dir / "output" / "chat-messages", "chats"), (run_dir / "output" / "jsonl", "pairs")):
        rows = read_jsonl_rows(folder)
        if len(rows):
            return rows, kind
    raise FileNotFoundError(f"{run_dir}/output holds no curated data (output/chat-messages or output/jsonl)")


def build_dataset_folder(run_dir: str | Path, out_dir: str | Path, license: str = "other",
                         pretty_name: str | None = None) -> Path:
    """Write the Hub layout of a finished run into `out_dir` (replaced if it exists)."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    funnel = run_funnel(run_dir).check()
    rows, kind = _read_output(run_dir)
    rows = rows.with_columns(pl.col("file").cast(pl.String).map_elements(scrub_local_paths, return_dtype=pl.String))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    configs: dict[str, int] = {}
    short = short_codes(set(rows["src"]) | set(rows["trg"]))
    names = [config_name(s, t, short) for s, t in zip(rows["src"], rows["trg"], strict=True)]
    for (name,), group in sorted(rows.with_columns(config=pl.Series(names)).group_by("config"), key=lambda g: g[0]):
        group = group.drop("config")
        shards = max(1, -(-len(group) // ROWS_PER_SHARD))
        folder = out_dir / "data" / name
        folder.mkdir(parents=True)
        for i in range(shards):
            group.slice(i * ROWS_PER_SHARD, ROWS_PER_SHARD).write_parquet(
                folder / f"train-{i:05d}-of-{shards:05d}.parquet")
        configs[name] = len(group)
    languages = sorted({hub_language(code) for code in short})
    card = dataset_card(run_dir, kind, configs, languages, funnel.table(), license,
                        pretty_name or f"xplus {run_dir.name}", sources=sorted(rows["corpus"].unique().to_list()))
    card.save(out_dir / "README.md")
    return out_dir


def card_data(configs: dict[str, int], languages: list[str], license: str, pretty_name: str):
    """The card's Hub metadata: a default config `all` holding every pair, then one config per pair."""
    from huggingface_hub import DatasetCardData

    return DatasetCardData(
        language=languages, license=license, pretty_name=pretty_name,
        size_categories=size_category(sum(configs.values())),
        task_categories=["translation", "text-generation"], multilinguality="multilingual",
        tags=["xplus", "parallel-corpus", "instruction-tuning"],
        configs=[{"config_name": DEFAULT_CONFIG, "default": True,
                  "data_files": [{"split": "train", "path": "data/*/*.parquet"}]}]
        + [{"config_name": name, "data_files": [{"split": "train", "path": f"data/{name}/*.parquet"}]}
           for name in configs],
    )


def thresholds_table(run_dir: Path) -> str:
    """The run's loss thresholds as a Markdown table ("" when the loss filter did not run)."""
    thresholds = run_dir / "loss_thresholds.json"
    if not thresholds.exists():
        return ""
    table = json.loads(thresholds.read_text())
    return "\n".join(["| direction | loss threshold |", "|---|---:|"]
                     + [f"| {d} | {t:.4f} |" for d, t in sorted(table.items())])


def dataset_card(run_dir: Path, kind: str, configs: dict[str, int], languages: list[str], funnel: str,
                 license: str, pretty_name: str, sources: list[str]):
    """The card: Hub metadata (`card_data`) and the run's recipe, funnel, thresholds and sources, with local paths
    scrubbed."""
    from huggingface_hub import DatasetCard

    threshold_rows = thresholds_table(run_dir)
    recipe = run_dir / "recipe.yaml"
    counts = "\n".join(f"| {name} | {n:,} |" for name, n in configs.items())
    body = f"""
# {pretty_name}

Translation instruction data curated with [xplus](https://arxiv.org/abs/2510.09189) (the Qwen3-XPlus recipe):
unify, clean, length/ratio filter, pair consistency, untranslated spans, SimHash near-duplicate removal,
fastText language ID, NLLB loss filter (when configured), FLORES decontamination (when configured) and
instruction templating. Each row is
{"a chat (`messages`: user instruction, assistant translation) with the pair it came from"
 if kind == "chats" else "a translation pair"} and its provenance (`corpus`, `file`, `line`).

## Configs

| config | rows |
|---|---:|
{counts}

```python
from datasets import load_dataset
ds = load_dataset("<this repo>")  # every pair (config `{DEFAULT_CONFIG}`)
ds = load_dataset("<this repo>", "{next(iter(configs))}")  # one pair, both directions
```

## Recipe

{"```yaml" + chr(10) + recipe.read_text() + "```" if recipe.exists() else "(not recorded)"}

## Funnel (pairs; every drop is accounted for)

{funnel}

## Loss thresholds (FLORES dev percentile per direction)

{threshold_rows or "The loss filter did not run: this data is not quality-filtered by a translation model."}

## Sources

{chr(10).join(f"- {s}" for s in sources)}

Check the licences of these sources before use; derived data inherits their terms.

## Citation

```bibtex
{CITATION}
```
"""
    metadata = card_data(configs, languages, license, pretty_name)
    return DatasetCard.from_template(metadata, template_str="---\n{{ card_data }}\n---\n" + scrub_local_paths(body))


def push(folder: str | Path, repo_id: str, private: bool = False, token: str | None = None,
         revision: str | None = None) -> str:
    """Create the dataset repo if needed and upload the folder in one commit; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="dataset", revision=revision,
                               commit_message=f"xplus: publish {Path(folder).name}")
    return str(commit)


def config_counts(folder: str | Path) -> dict[str, int]:
    """Rows per config of a built folder (for messages and tests)."""
    counts: dict[str, int] = defaultdict(int)
    for path in Path(folder, "data").glob("*/*.parquet"):
        counts[path.parent.name] += pl.scan_parquet(path).select(pl.len()).collect().item()
    return dict(counts)
