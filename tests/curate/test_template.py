"""Step 6: prompts, instruction templating, exports and FLORES decontamination."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from xplus.curate.decontaminate import FloresDecontaminator
from xplus.curate.export import alpaca_row, llamafactory_entry, messages_row, sharegpt_row, write_dataset_info
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
    assert share == {"conversations": [{"from": "system", "value": "sys"}, {"from": "human", "value": share[
        "conversations"][1]["value"]}, {"from": "gpt", "value": "Habari"}]}
    alpaca = alpaca_row(chat)
    assert alpaca["output"] == "Habari" and alpaca["input"] == "" and alpaca["system"] == "sys"
    plain = next(InstructionTemplater(directions="forward").run(iter([pair])))
    assert alpaca_row(plain)["system"] == "" and [t["from"] for t in sharegpt_row(plain)["conversations"]] == [
        "human", "gpt"]
    # the messages layout loads with HF datasets as a chat dataset, and the run declares it to LLaMA-Factory
    import datasets

    run = tmp_path / "run"
    run_pipeline([MosesReader(_write_pair(tmp_path), "en", "sw"), InstructionTemplater(),
                  ChatJsonlWriter(run / "output" / "chat-messages"),
                  ChatJsonlWriter(run / "output" / "chat-alpaca", layout="alpaca")], run / "logs")
    loaded = datasets.load_dataset("json", data_files=str(run / "output" / "chat-messages" / "*.jsonl"),
                                   split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert loaded.num_rows == 4 and loaded[0]["messages"][0]["role"] == "user"
    info = json.loads((run / "output" / "dataset_info.json").read_text())
    assert info == {"xplus_messages": llamafactory_entry("messages", "chat-messages"),
                    "xplus_alpaca": llamafactory_entry("alpaca", "chat-alpaca")}
    assert sorted(p.name for p in (run / "output").iterdir()) == ["chat-alpaca", "chat-messages", "dataset_info.json"]


def test_dataset_info_maps_only_columns_every_row_has(tmp_path):
    """LLaMA-Factory 0.9.5's converter reads `example[columns.system]`: an entry mapping a `system` column that
    the rows lack crashed it with KeyError: 'system'."""
    pair = make_pair("Hello", "Habari", "eng_Latn", "swh_Latn", "c", "f", 1)
    for system in (None, "Be exact."):
        chat = next(InstructionTemplater(directions="forward", system_prompt=system).run(iter([pair])))
        for layout, row in (("sharegpt", sharegpt_row), ("alpaca", alpaca_row)):
            columns = llamafactory_entry(layout, "x")["columns"]
            assert set(columns.values()) <= set(row(chat)), (layout, system)
    path = write_dataset_info(tmp_path, "sharegpt")
    write_dataset_info(tmp_path, "messages")
    assert sorted(json.loads(path.read_text())) == ["xplus_messages", "xplus_sharegpt"]
    with pytest.raises(ValueError, match="layout"):
        llamafactory_entry("openai", "x")


def test_reverse_chats_carry_their_own_sides_measurements():
    """`{**doc.metadata, ...}` swapped src/trg and the texts but kept the forward direction's per-side fields:
    demo rows with src=swh_Latn said lid_src='en'."""
    pair = make_pair("Good morning", "Habari za asubuhi", "eng_Latn", "swh_Latn", "c", "a.en", 7)
    pair.metadata.update(length_src=2, length_trg=3, lid_src="en", lid_src_prob=0.99, lid_trg="sw",
                         lid_trg_prob=0.87, lid_trg_expected_prob=0.5, loss=1.25)
    forward, reverse = InstructionTemplater().run(iter([pair]))
    assert forward.metadata["lid_src"] == "en" and forward.metadata["loss"] == 1.25
    meta = reverse.metadata
    assert (meta["src"], meta["trg"], reverse.text) == ("swh_Latn", "eng_Latn", "Habari za asubuhi")
    assert (meta["lid_src"], meta["lid_trg"], meta["lid_src_prob"], meta["lid_trg_prob"]) == ("sw", "en", 0.87, 0.99)
    assert (meta["length_src"], meta["length_trg"]) == (3, 2)
    assert meta["lid_src_expected_prob"] == 0.5 and meta["lid_trg_expected_prob"] is None
    assert meta["loss"] is None  # measured en->sw only
    assert (meta["file"], meta["line"]) == ("a.en", 7)  # where the pair came from, for both directions
    assert pair.metadata["lid_src"] == "en"  # the pair itself is untouched


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
