"""Row layouts of the chat records that step 6 produces, for the trainers people use.

- `messages` (default): `{"messages": [...], "src", "trg", "src_line", "tgt_line", "template", "direction",
  "corpus", "file", "line"}`: the layout `xplus.train` reads, and HF `datasets`/TRL read as is.
- `sharegpt`: LLaMA-Factory's ShareGPT layout, `{"conversations": [{"from": "human", ...}, {"from": "gpt",
  ...}], "system"?: ...}`; `llamafactory_dataset_info` writes the `dataset_info.json` entry that declares it.
- `alpaca`: `{"instruction", "input", "output", "system"?}`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datatrove.data import Document

from xplus.curate.record import unified

LAYOUTS = ("messages", "sharegpt", "alpaca")
SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}


def messages_row(doc: Document) -> dict[str, Any]:
    meta = doc.metadata
    return {"messages": meta["messages"], **unified(doc), "template": meta["template"],
            "direction": meta["direction"]}


def sharegpt_row(doc: Document) -> dict[str, Any]:
    turns = doc.metadata["messages"]
    row: dict[str, Any] = {"conversations": [{"from": SHAREGPT_ROLES[t["role"]], "value": t["content"]}
                                             for t in turns if t["role"] != "system"]}
    if system := next((t["content"] for t in turns if t["role"] == "system"), None):
        row["system"] = system
    return row


def alpaca_row(doc: Document) -> dict[str, Any]:
    turns = {t["role"]: t["content"] for t in doc.metadata["messages"]}
    row = {"instruction": turns["user"], "input": "", "output": turns["assistant"]}
    if "system" in turns:
        row["system"] = turns["system"]
    return row


ROW_LAYOUTS = {"messages": messages_row, "sharegpt": sharegpt_row, "alpaca": alpaca_row}


def llamafactory_dataset_info(folder: str | Path, dataset_name: str, layout: str, file_name: str) -> Path:
    """Write (or extend) LLaMA-Factory's `dataset_info.json` in `folder` for a file of `layout` rows."""
    if layout == "sharegpt":
        entry = {"file_name": file_name, "formatting": "sharegpt",
                 "columns": {"messages": "conversations", "system": "system"}}
    elif layout == "alpaca":
        entry = {"file_name": file_name, "columns": {"prompt": "instruction", "query": "input",
                                                      "response": "output", "system": "system"}}
    else:
        raise ValueError(f"LLaMA-Factory reads the sharegpt and alpaca layouts, not {layout!r}")
    path = Path(folder) / "dataset_info.json"
    info = json.loads(path.read_text()) if path.exists() else {}
    info[dataset_name] = entry
    path.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return path
