"""Row layouts of the chat records that step 6 produces, for the trainers people use, and the `dataset_info.json`
that declares them to LLaMA-Factory.

- `messages` (default): `{"messages": [...], "src", "trg", "src_line", "tgt_line", "corpus", "file", "line", scores,
  "extra", "template", "direction"}`: the layout `xplus.train` reads, and HF `datasets`/TRL read as is.
- `sharegpt`: ShareGPT, `{"conversations": [{"from": "system"?, ...}, {"from": "human", ...}, {"from": "gpt",
  ...}]}`; a system prompt is the first turn (`from: system`), as LLaMA-Factory's ShareGPT reader expects.
- `alpaca`: `{"instruction", "input", "output", "system"}` (`system` is `""` when the chats have none).

Every row of a layout has the same keys. `write_dataset_info` writes LLaMA-Factory's `dataset_info.json` next to
the chat folders (`output/dataset_info.json`, one entry per layout: `xplus_messages`, `xplus_sharegpt`,
`xplus_alpaca`, each naming its folder), so `dataset_dir: <run>/output` and `dataset: xplus_sharegpt` load them.
Each entry maps only columns that every row of that layout has.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datatrove.data import Document

from xplus.curate.record import unified

LAYOUTS = ("messages", "sharegpt", "alpaca")
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}
DATASET_INFO = "dataset_info.json"


def messages_row(doc: Document, fields: Sequence[str] | None = None) -> dict[str, Any]:
    meta = doc.metadata
    return {"messages": meta["messages"], **unified(doc, fields), "template": meta["template"],
            "direction": meta["direction"]}


def sharegpt_row(doc: Document, fields: Sequence[str] | None = None) -> dict[str, Any]:
    return {"conversations": [{"from": SHAREGPT_ROLES[t["role"]], "value": t["content"]}
                              for t in doc.metadata["messages"]]}


def alpaca_row(doc: Document, fields: Sequence[str] | None = None) -> dict[str, Any]:
    turns = {t["role"]: t["content"] for t in doc.metadata["messages"]}
    return {"instruction": turns["user"], "input": "", "output": turns["assistant"], "system": turns.get("system", "")}


ROW_LAYOUTS = {"messages": messages_row, "sharegpt": sharegpt_row, "alpaca": alpaca_row}


def llamafactory_entry(layout: str, file_name: str) -> dict[str, Any]:
    """LLaMA-Factory's `dataset_info.json` entry for a file or folder of `layout` rows."""
    if layout == "messages":
        return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "messages"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant", "system_tag": "system"}}
    if layout == "sharegpt":
        return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "conversations"}}
    if layout == "alpaca":
        return {"file_name": file_name, "formatting": "alpaca",
                "columns": {"prompt": "instruction", "query": "input", "response": "output", "system": "system"}}
    raise ValueError(f"layout must be one of {list(LAYOUTS)}, got {layout!r}")


def write_dataset_info(folder: str | Path, layout: str, dataset_name: str | None = None,
                       file_name: str | None = None) -> Path:
    """Add (or replace) the entry of `layout` in `folder/dataset_info.json` (default name `xplus_<layout>`, data in
    `folder/chat-<layout>`). Tasks of one run may call this at once: the update holds a lock and replaces the file
    atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DATASET_INFO
    entry = llamafactory_entry(layout, file_name or f"chat-{layout}")
    lock = os.open(folder, os.O_RDONLY)  # the folder itself is the lock: no lock file left behind
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        info[dataset_name or f"xplus_{layout}"] = entry
        tmp = path.with_name(f".{DATASET_INFO}.{os.getpid()}")
        tmp.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    finally:
        os.close(lock)
    return path
