"""Toy items for the paper's lm-eval tasks, in each dataset's real fields (not the real data): the retention
step of the end-to-end toy and the retention tests run lm-eval on them offline, in the layout
`xplus evaluate retention --data-dir` reads (`<root>/<task>/<split>.jsonl`).

Fields as on the Hub: XNLI premise/hypothesis/label (0 entailment, 1 neutral, 2 contradiction); MGSM
question/answer/answer_number/equation_solution (test rows have no worked answer); XStoryCloze
input_sentence_1-4/sentence_quiz1-2/answer_right_ending (1 or 2); XCOPA premise/choice1/choice2/question
(cause or effect)/label/idx/changed; XWinograd sentence (with `_`)/option1/option2/answer ("1" or "2").
"""

from __future__ import annotations

import json
from pathlib import Path

#: task family -> the splits lm-eval's task files read
SPLITS = {"xnli": ("train", "validation"), "mgsm": ("train", "test"), "xstorycloze": ("train", "eval"),
          "xcopa": ("validation", "test"), "xwinograd": ("test",)}
#: one task per family (the tests' set)
TASKS = ("xnli_de", "mgsm_direct_de", "xstorycloze_ru", "xcopa_sw", "xwinograd_fr")
NAMES = ["Anna", "Jonas", "Mara", "Pedro", "Lea", "Omar", "Sofia", "Timo"]


def xnli(i: int) -> dict:
    return {"premise": f"{NAMES[i % 8]} liest am Abend ein Buch über Sterne.",
            "hypothesis": ["Jemand liest.", "Das Buch ist neu.", "Niemand liest."][i % 3], "label": i % 3}


def mgsm(i: int, split: str) -> dict:
    a, b = 3 + i, 2 * i + 1
    return {"question": f"{NAMES[i % 8]} hat {a} Äpfel und kauft {b} dazu. Wie viele Äpfel hat {NAMES[i % 8]}?",
            "answer": f"Schritt für Schritt: {a} + {b} = {a + b}." if split == "train" else None,
            "answer_number": a + b, "equation_solution": f"{a} + {b} = {a + b}"}


def xstorycloze(i: int) -> dict:
    name = NAMES[i % 8]
    return {"story_id": f"s{i}", "input_sentence_1": f"{name} проснулся рано.", "input_sentence_2": "Шёл дождь.",
            "input_sentence_3": f"{name} взял зонт.", "input_sentence_4": "Он пошёл на работу.",
            "sentence_quiz1": "Он остался сухим.", "sentence_quiz2": "Он полетел на Луну.",
            "answer_right_ending": 1 + i % 2}


def xcopa(i: int) -> dict:
    return {"premise": f"{NAMES[i % 8]} alifungua mlango.", "choice1": "Mgeni aliingia.", "choice2": "Mvua ilinyesha.",
            "question": ["cause", "effect"][i % 2], "label": i % 2, "idx": i, "changed": False}


def xwinograd(i: int) -> dict:
    return {"sentence": f"Le trophée ne rentre pas dans la valise car _ est trop {['grand', 'petite'][i % 2]}.",
            "option1": "le trophée", "option2": "la valise", "answer": str(1 + i % 2)}


def family(task: str) -> str:
    return next(name for name in SPLITS if task.startswith(name))


def rows(task: str, split: str, n: int) -> list[dict]:
    if family(task) == "mgsm":
        return [mgsm(i, split) for i in range(n)]
    make = {"xnli": xnli, "xstorycloze": xstorycloze, "xcopa": xcopa, "xwinograd": xwinograd}[family(task)]
    return [make(i) for i in range(n)]


def write_task_data(root: Path, tasks: tuple[str, ...] = TASKS, n: int = 6) -> Path:
    """Write `n` rows per split of every task under `root`; returns `root`."""
    for task in tasks:
        for split in SPLITS[family(task)]:
            path = Path(root) / task / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows(task, split, n)),
                            encoding="utf-8")
    return Path(root)


def corpus(tasks: tuple[str, ...] = TASKS, n: int = 6) -> list[str]:
    """Every text field of the task data (what a tiny tokenizer is trained on)."""
    texts = []
    for task in tasks:
        for split in SPLITS[family(task)]:
            for row in rows(task, split, n):
                texts += [value for value in row.values() if isinstance(value, str)]
    return texts


def gold(task: str, doc: dict) -> int | str:
    """The right answer of one item, from its fields (not from lm-eval): a choice index, or MGSM's number."""
    if task.startswith("mgsm"):
        return str(doc["answer_number"])
    if task.startswith("xstorycloze"):
        return doc["answer_right_ending"] - 1
    if task.startswith("xwinograd"):
        return int(doc["answer"]) - 1
    return doc["label"]
