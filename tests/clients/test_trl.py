"""TRL's `SFTTrainer(assistant_only_loss=True)` trains on our chat JSONL and labels exactly the tokens our trainer
(`xplus.train.data`) does.

Before: TRL refused our Qwen3 chat template ("missing {% generation %} markers"); without assistant_only_loss it
trains on every token. `prompts.training_chat_template` gives it the template with the markers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trl
from transformers import AutoTokenizer

from xplus.curate.prompts import QWEN3_TRAINING_CHAT_TEMPLATE, render_chat, training_chat_template
from xplus.train.data import IGNORE_INDEX, encode_chat

STEPS = 3


def _chats(demo_run: Path, n: int) -> list[dict]:
    (path,) = (demo_run / "output" / "chat-messages").glob("*.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["corpus"].startswith("tico")][:n]


def test_our_qwen3_training_template_renders_like_qwen3(demo_run):
    """Same text as Qwen3's own template (the one TRL ships as qwen3.jinja) on real chats, multi-turn, system,
    reasoning and tool calls: the markers change no character."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    real = (Path(trl.__file__).parent / "chat_templates" / "qwen3.jinja").read_text(encoding="utf-8")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), chat_template=real)
    assert training_chat_template(tokenizer) == QWEN3_TRAINING_CHAT_TEMPLATE
    call = {"type": "function", "function": {"name": "lookup", "arguments": {"q": "x"}}}
    chats = [row["messages"] for row in _chats(demo_run, 20)] + [
        [{"role": "system", "content": "Be exact."}, {"role": "user", "content": "a"},
         {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nb"}],
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "", "tool_calls": [call]},
         {"role": "tool", "content": "42"}, {"role": "assistant", "content": "done"}],
    ]
    for messages in chats:
        for kwargs in ({}, {"enable_thinking": False}):
            assert tokenizer.apply_chat_template(messages, tokenize=False, **kwargs) == tokenizer.apply_chat_template(
                messages, chat_template=QWEN3_TRAINING_CHAT_TEMPLATE, tokenize=False, **kwargs)
    other = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), chat_template="{{ messages }}")
    with pytest.raises(ValueError, match="generation"):
        training_chat_template(other)


def test_trl_assistant_only_loss_labels_our_mask(qwen3, demo_run, tmp_path, capsys):
    import datasets

    tokenizer = AutoTokenizer.from_pretrained(qwen3)
    tokenizer.chat_template = training_chat_template(tokenizer)
    rows = _chats(demo_run, 8)
    data = datasets.Dataset.from_list([{"messages": r["messages"]} for r in rows])
    config = trl.SFTConfig(output_dir=str(tmp_path / "out"), assistant_only_loss=True, max_steps=STEPS,
                           per_device_train_batch_size=4, learning_rate=1e-3, logging_steps=1, save_strategy="no",
                           report_to=[], use_cpu=True, max_length=1024, seed=0, disable_tqdm=True)
    trainer = trl.SFTTrainer(model=str(qwen3), args=config, train_dataset=data, processing_class=tokenizer)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(rows))])
    for i, row in enumerate(rows):
        ours = encode_chat(tokenizer, row["messages"])
        width = len(ours.input_ids)
        assert batch["input_ids"][i, :width].tolist() == ours.input_ids
        labels = batch["labels"][i].tolist()
        assert labels[:width] == ours.labels and set(labels[width:]) <= {IGNORE_INDEX}
        target = tokenizer.decode([t for t in ours.labels if t != IGNORE_INDEX])
        assert target == row["messages"][-1]["content"] + "<|im_end|>"
        assert render_chat(tokenizer, row["messages"]).endswith(target + "\n")
    result = trainer.train()
    assert trainer.state.global_step == STEPS and result.training_loss > 0
    losses = [round(entry["loss"], 4) for entry in trainer.state.log_history if "loss" in entry]
    with capsys.disabled():
        print(f"\nTRL {trl.__version__} SFTTrainer(assistant_only_loss=True) on {len(rows)} xplus chats "
              f"({sum(t != IGNORE_INDEX for t in batch['labels'].flatten().tolist())} labelled tokens, equal to "
              f"xplus.train.data's mask): {STEPS} steps, loss per step {losses}")
