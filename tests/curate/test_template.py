"""Step 6: prompts, instruction templating, exports and FLORES decontamination."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from xplus.curate.decontaminate import FloresDecontaminator
from xplus.curate.export import alpaca_row, llamafactory_dataset_info, messages_row, sharegpt_row
from xplus.curate.prompts import BENCHMAX_PROMPT, TEMPLATES, benchmax_prompt, chat_messages, pick_template
from xplus.curate.readers.moses import MosesReader
from xplus.curate.record import make_pair, sides
from xplus.curate.template import InstructionTemplater
from xplus.curate.writers import BitextJsonlWriter, ChatJsonlWriter, rejects_writer

from ..conftest import run_pipeline


def test_benchmax_prompt_verbatim():
    assert benchmax_prompt("Habari", "sw", "zh") == (
        "Translate the following text from Swahili to Simplified Chinese.\n\nSwahili source:\nHabari\n\n"
        "Simplified Chinese translation:")
    assert benchmax_prompt("x", "eng_Latn", "srp_Cyrl").startswith("Translate the following text from English to "
                                                                   "Cyrillic Serbian.")
    assert TEMPLATES[0] == BENCHMAX_PROMPT and len(TEMPLATES) >= 20 and len(set(TEMPLATES)) == len(TEMPLATES)


def _tico_pairs(bitext, n=1000):
    folder = bitext / "tico19" / "eng-swa"
    return list(MosesReader(folder, "eng", "swa", limit=n).run())


def test_templating_is_deterministic_diverse_and_both_directions(bitext):
    pairs = _tico_pairs(bitext)
    block = InstructionTemplater()
    chats = list(block.run(iter(pairs)))
    assert len(chats) == 2 * len(pairs)
    forward, reverse = chats[0], chats[1]
    assert forward.metadata["messages"][1]["content"] == pairs[0].metadata["tgt_line"]
    assert (reverse.metadata["src"], reverse.metadata["trg"]) == ("swh_Latn", "eng_Latn")
    assert sides(reverse) == sides(pairs[0])[::-1]
    assert reverse.metadata["messages"][0]["content"].count(pairs[0].metadata["tgt_line"]) == 1
    assert [m["role"] for m in forward.metadata["messages"]] == ["user", "assistant"]
    # deterministic: a second run, in reverse order, gives each pair the same template
    again = {c.id: c.metadata["template"] for c in InstructionTemplater().run(iter(reversed(pairs)))}
    assert all(again[c.id] == c.metadata["template"] for c in chats)
    # diverse: every template is used, none dominates (histogram over 2,000 real chats)
    histogram = Counter(c.metadata["template"] for c in chats)
    assert set(histogram) == set(range(len(TEMPLATES)))
    assert max(histogram.values()) < 2.5 * len(chats) / len(TEMPLATES)
    assert block.stats["records_out"].total == len(chats)
    # a different seed changes the choice
    other = [c.metadata["template"] for c in InstructionTemplater(seed=1).run(iter(pairs))]
    assert other != [c.metadata["template"] for c in chats]


def test_template_options_and_errors():
    pair = make_pair("Hello", "Habari", "eng_Latn", "swh_Latn", "c", "f", 1)
    (only,) = InstructionTemplater(directions="forward", templates=["{src}>{tgt}: {text}"],
                                   system_prompt="Be exact.").run(iter([pair]))
    assert only.metadata["messages"] == chat_messages("English>Swahili: Hello", "Habari", "Be exact.")
    with pytest.raises(ValueError, match="directions"):
        InstructionTemplater(directions="sideways")
    with pytest.raises(ValueError, match="template 0"):
        InstructionTemplater(templates=["{source}"])
    assert pick_template("a", "b", "x", "y", n_templates=10**9) != pick_template("b", "a", "y", "x", n_templates=10**9)


def test_exports_load_in_their_layouts(tmp_path):
    pair = make_pair("Hello", "Habari", "eng_Latn", "swh_Latn", "c", "f", 1)
    chat = next(InstructionTemplater(directions="forward", system_prompt="sys").run(iter([pair])))
    messages = messages_row(chat)
    assert messages["src_line"] == "Hello" and messages["template"] == chat.metadata["template"]
    share = sharegpt_row(chat)
    assert [t["from"] for t in share["conversations"]] == ["human", "gpt"] and share["system"] == "sys"
    alpaca = alpaca_row(chat)
    assert alpaca["output"] == "Habari" and alpaca["input"] == "" and alpaca["system"] == "sys"
    info = json.loads(llamafactory_dataset_info(tmp_path, "xplus", "sharegpt", "chat.jsonl").read_text())
    assert info["xplus"]["formatting"] == "sharegpt"
    # the messages layout loads with HF datasets as a chat dataset
    import datasets

    run = tmp_path / "run"
    run_pipeline([MosesReader(_write_pair(tmp_path), "en", "sw"), InstructionTemplater(),
                  ChatJsonlWriter(run / "chat")], run / "logs")
    loaded = datasets.load_dataset("json", data_files=str(run / "chat" / "*.jsonl"), split="train",
                                   cache_dir=str(tmp_path / "hf-cache"))
    assert loaded.num_rows == 4 and loaded[0]["messages"][0]["role"] == "user"


def _write_pair(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    (folder / "a.en").write_text("Good morning to you\nHow are you today\n")
    (folder / "a.sw").write_text("Habari za asubuhi\nHabari yako leo\n")
    return folder


def test_decontamination_removes_flores_and_near_copies(shared_data, bitext, tmp_path):
    flores = shared_data / "flores200"
    dev_en = (flores / "dev" / "eng_Latn.txt").read_text().splitlines()
    test_zh = (flores / "devtest" / "zho_Hans.txt").read_text().splitlines()
    test_sw = (flores / "devtest" / "swh_Latn.txt").read_text().splitlines()
    clean = _tico_pairs(bitext, 300)
    planted = [
        make_pair(dev_en[10], "Sentensi yoyote", "eng_Latn", "swh_Latn", "planted", "p", 1),  # exact
        make_pair(dev_en[20].upper() + " !!", "x y z", "eng_Latn", "swh_Latn", "planted", "p", 2),  # case, punct
        make_pair("In short: " + " ".join(dev_en[30].split()[:-1]) + " indeed.", "x", "eng_Latn", "swh_Latn",
                  "planted", "p", 3),  # a near copy: prefix, last word changed
        make_pair("Hello there", "另外，" + test_zh[5][:-2] + "。", "eng_Latn", "zho_Hans", "planted", "p", 4),
        make_pair(test_sw[7][:-1] + "?", "y", "swh_Latn", "eng_Latn", "planted", "p", 5),
    ]
    block = FloresDecontaminator(flores)
    results = block.filter_batch(clean + planted)
    assert all(r is True for r in results[:len(clean)])
    assert results[len(clean):] == [(False, "decontamination")] * len(planted)
    assert "equals a FLORES sentence" in planted[0].metadata["reject_detail"]
    assert "12-word n-gram" in planted[2].metadata["reject_detail"]
    assert "24-character n-gram" in planted[3].metadata["reject_detail"]
    with pytest.raises(FileNotFoundError, match="no FLORES files"):
        FloresDecontaminator(tmp_path)


def test_decontamination_rejects_are_written(shared_data, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    line = (shared_data / "flores200" / "dev" / "eng_Latn.txt").read_text().splitlines()[0]
    (folder / "a.en").write_text(f"{line}\nA sentence of my own\n")
    (folder / "a.de").write_text("Irgendwas\nEin eigener Satz\n")
    run = tmp_path / "run"
    run_pipeline([MosesReader(folder, "en", "de"),
                  FloresDecontaminator(shared_data / "flores200",
                                       exclusion_writer=rejects_writer(run, "decontaminate")),
                  BitextJsonlWriter(run / "out")], run / "logs")
    rows = [json.loads(x) for x in (run / "rejects" / "decontaminate" / "00000.jsonl").read_text().splitlines()]
    assert [(r["line"], r["step"], r["reason"]) for r in rows] == [(1, "decontaminate", "decontamination")]
