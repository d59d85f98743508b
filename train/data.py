"""Chat records -> token ids and labels, with the loss on assistant tokens only.

The records are curation step 6's chat output as is: rows with `messages` (optional system, user, assistant
turns), from JSONL or parquet files, a folder of them, or a Hub dataset id. Each chat is rendered with the
model's own chat template through `xplus.curate.prompts.render_chat` (thinking disabled: the one template
module evaluation uses too), so the prompt the model is trained on is the prompt it is scored on.

Assistant spans are found from the rendered text, not by guessing token patterns: each assistant turn is
rendered once more with its content replaced by a sentinel; the text before the sentinel is the turn's
prefix (for Qwen3 this includes the empty `<think>\\n\\n</think>\\n\\n` block, which the evaluator's
generation prompt also ends with, so it is never a target), the text after it the suffix. The turn's
end-of-turn marker (`<|im_end|>`, `<|eot_id|>`) is a target: the model must learn to stop. The text is
tokenized segment by segment (prompt, target, prompt ...), so labels align with tokens exactly.

Trainers that mask by the chat template's `{% generation %}` markers (TRL's `assistant_only_loss`) get the same
spans from `xplus.curate.prompts.training_chat_template` (tests/train/test_data.py, tests/clients/test_trl.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from xplus.curate.prompts import render_chat

IGNORE_INDEX = -100
_SENTINEL = "\u2063XPLUS_ASSISTANT_TURN\u2063"
_SUFFIXES = (".jsonl", ".json", ".parquet")


@dataclass
class DataReport:
    """What encoding did to the records: counted, never silent."""

    records: int = 0
    examples: int = 0
    truncated: int = 0
    dropped_no_target: int = 0
    tokens: int = 0
    target_tokens: int = 0
    sequences: int = 0  # after packing (= examples without it)
    data_hash: str = ""

    def summary(self, max_length: int) -> str:
        return (f"data: {self.records} records -> {self.examples} examples, {self.sequences} sequences; "
                f"{self.tokens} tokens ({self.target_tokens} trained); truncated to {max_length}: "
                f"{self.truncated}; dropped (no assistant token left): {self.dropped_no_target}")


@dataclass
class Encoded:
    """Token ids and labels (`IGNORE_INDEX` outside assistant spans) of one chat or packed sequence."""

    input_ids: list[int]
    labels: list[int]
    position_ids: list[int] = field(default_factory=list)


def load_records(source: str, split: str = "train", max_samples: int | None = None) -> list[dict[str, Any]]:
    """Rows with `messages` from a local JSONL/parquet file or folder (files in name order), or a Hub dataset."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES)
        if not files:
            raise FileNotFoundError(f"{source}: no {'/'.join(_SUFFIXES)} files")
    elif path.is_file():
        files = [path]
    else:
        files = []
    if files:
        rows = [row for f in files for row in _read_file(f)]
    else:
        import datasets  # a Hub dataset id

        rows = list(datasets.load_dataset(source, split=split))
    rows = rows[:max_samples] if max_samples is not None else rows
    for i, row in enumerate(rows):
        messages = row.get("messages")
        if not messages or not any(m.get("role") == "assistant" for m in messages):
            raise ValueError(f"{source}: record {i} has no `messages` with an assistant turn")
    return rows


def _read_file(path: Path) -> Iterable[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def data_hash(records: list[dict[str, Any]]) -> str:
    """SHA-256 of the records' `messages`, in order: names the exact training data in `xplus_training.json`."""
    digest = hashlib.sha256()
    for row in records:
        digest.update(json.dumps(row["messages"], ensure_ascii=False, sort_keys=True).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def chat_segments(tokenizer: Any, messages: list[dict[str, str]]) -> list[tuple[str, bool]]:
    """The rendered chat as consecutive (text, is_target) pieces; their concatenation is the full rendering."""
    full = render_chat(tokenizer, messages)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        masked = [*messages[:i], {**message, "content": _SENTINEL}, *messages[i + 1:]]
        prefix, _, suffix = render_chat(tokenizer, masked).partition(_SENTINEL)
        closing = render_chat(tokenizer, masked[: i + 1]).partition(_SENTINEL)[2].rstrip()
        end = len(full) - len(suffix)
        if not (full.startswith(prefix) and full.endswith(suffix) and len(prefix) <= end):
            raise ValueError("the chat template does not render assistant turns verbatim; cannot find their spans")
        if suffix.startswith(closing):
            end += len(closing)
        spans.append((len(prefix), end))
    segments, position = [], 0
    for start, end in spans:
        segments += [(full[position:start], False), (full[start:end], True)]
        position = end
    segments.append((full[position:], False))
    return [(text, target) for text, target in segments if text]


def encode_chat(tokenizer: Any, messages: list[dict[str, str]]) -> Encoded:
    """Token ids of the rendered chat, labels equal to the ids on assistant tokens and `IGNORE_INDEX` elsewhere."""
    ids: list[int] = []
    labels: list[int] = []
    for text, target in chat_segments(tokenizer, messages):
        piece = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids += piece
        labels += piece if target else [IGNORE_INDEX] * len(piece)
    return Encoded(ids, labels)


def build_examples(tokenizer: Any, records: list[dict[str, Any]], max_length: int,
                   packing: bool = False) -> tuple[list[Encoded], DataReport]:
    """Encode, truncate to `max_length` (counted), drop chats left without targets (counted), optionally pack."""
    report = DataReport(records=len(records), data_hash=data_hash(records))
    examples = []
    for row in records:
        encoded = encode_chat(tokenizer, row["messages"])
        if len(encoded.input_ids) > max_length:
            report.truncated += 1
            encoded = Encoded(encoded.input_ids[:max_length], encoded.labels[:max_length])
        if all(label == IGNORE_INDEX for label in encoded.labels[1:]):
            report.dropped_no_target += 1
            continue
        examples.append(encoded)
    report.examples = len(examples)
    report.tokens = sum(len(e.input_ids) for e in examples)
    report.target_tokens = sum(label != IGNORE_INDEX for e in examples for label in e.labels)
    if packing:
        examples = pack(examples, max_length)
    report.sequences = len(examples)
    return examples, report


def pack(examples: list[Encoded], max_length: int) -> list[Encoded]:
    """Greedy packing in order into sequences of at most `max_length` tokens, positions restarting per chat.

    Restarting `position_ids` (with no attention mask) makes transformers build a block-diagonal causal mask
    for sdpa, eager and flash attention alike, so packed chats never attend to each other.
    """
    packed: list[Encoded] = []
    current = Encoded([], [], [])
    for e in examples:
        if current.input_ids and len(current.input_ids) + len(e.input_ids) > max_length:
            packed.append(current)
            current = Encoded([], [], [])
        current.input_ids += e.input_ids
        current.labels += e.labels
        current.position_ids += list(range(len(e.input_ids)))
    if current.input_ids:
        packed.append(current)
    return packed


def collate(batch: list[Encoded], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest sequence. Packed batches carry `position_ids` (padding is its own segment)
    and no attention mask; unpacked ones an attention mask."""
    width = max(len(e.input_ids) for e in batch)
    out = {
        "input_ids": torch.tensor([e.input_ids + [pad_token_id] * (width - len(e.input_ids)) for e in batch]),
        "labels": torch.tensor([e.labels + [IGNORE_INDEX] * (width - len(e.labels)) for e in batch]),
    }
    if batch[0].position_ids:
        out["position_ids"] = torch.tensor([e.position_ids + list(range(width - len(e.position_ids)))
                                            for e in batch])
    else:
        out["attention_mask"] = torch.tensor([[1] * len(e.input_ids) + [0] * (width - len(e.input_ids))
                                              for e in batch])
    return out
