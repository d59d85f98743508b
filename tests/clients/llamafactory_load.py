"""Run inside LLaMA-Factory's own venv (.ci/llamafactory_env.sh), not xplus's: load datasets declared in a run's
`output/dataset_info.json` with LLaMA-Factory's loader (`get_dataset`: its dataset_info parser, converter and
`qwen3` template, thinking off, as for SFT) and write each one's tokenized rows as JSON.

Usage: python llamafactory_load.py MODEL_DIR OUT_JSON WORK_DIR DATASET_DIR:DATASET_NAME...
"""

import json
import sys

from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
from llamafactory.hparams import get_train_args
from llamafactory.model import load_tokenizer


def load(model_dir: str, dataset_dir: str, dataset: str, work: str) -> list[dict]:
    model_args, data_args, training_args, _, _ = get_train_args({
        "stage": "sft", "do_train": True, "finetuning_type": "full", "model_name_or_path": model_dir,
        "dataset_dir": dataset_dir, "dataset": dataset, "template": "qwen3", "enable_thinking": False,
        "cutoff_len": 2048, "overwrite_cache": True, "output_dir": work, "report_to": "none", "use_cpu": True,
    })
    tokenizer_module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    module = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)
    return [{"input_ids": r["input_ids"], "labels": r["labels"]} for r in module["train_dataset"]]


def main(model_dir: str, out: str, work: str, *datasets: str) -> None:
    results = {}
    for spec in datasets:
        dataset_dir, name = spec.rsplit(":", 1)
        results[spec] = load(model_dir, dataset_dir, name, work)
        print(f"llamafactory get_dataset({name!r}, dataset_dir={dataset_dir!r}): {len(results[spec])} rows")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
