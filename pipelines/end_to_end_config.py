"""The toy end-to-end run's settings: one dataclass, every field with its default and its reason."""

from __future__ import annotations

from dataclasses import dataclass

EN, SW = "eng_Latn", "swh_Latn"
TICO = ("tico19", "eng-swa", "tico19-test")
#: the retention step's tasks: one per paper family, Swahili where lm-eval has it (XWinograd has no Swahili)
TOY_TASKS = ("xnli_sw", "mgsm_direct_sw", "xstorycloze_sw", "xcopa_sw", "xwinograd_en")


@dataclass(frozen=True)
class ToyConfig:
    """What `xplus end-to-end toy` runs. Sizes are the smallest that still show the mechanics on 2 CPU cores."""

    eval_pairs: int = 100  # held out for evaluation, never curated or trained on
    calib_pairs: int = 100  # held out for the loss filter's calibration ("FLORES dev")
    max_train_pairs: int | None = None  # cap on the lines given to curation
    directions: tuple[str, ...] = ("en-sw", "sw-en")
    scorer_steps: int = 200  # the toy loss scorer's optimizer steps (a step count: the same model everywhere)
    layers: int = 6  # tiny Qwen3: layers, hidden size, init std, tokenizer vocabulary
    hidden_size: int = 128
    init_std: float = 0.1
    vocab_size: int = 500
    stages: tuple[str, ...] = ("bottom:2", "top:3")  # layer-selective stages; full FT gets the same epochs
    epochs_per_stage: int = 1
    max_train_chats: int | None = 2000
    learning_rate: float = 1e-2  # far above the paper's 1e-5: random init, minutes of CPU
    batch_size: int = 16
    max_length: int = 160
    max_new_tokens: int = 64
    xcomet: bool = True  # with a tiny random checkpoint, when the comet environment exists
    retention: bool = True  # lm-eval on toy items of the paper's five task families
    retention_items: int = 20  # items per task (and per split)
    seed: int = 0
    threads: int = 1  # torch intra-op threads (tiny matrices run fastest on one)
