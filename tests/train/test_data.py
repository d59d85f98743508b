"""Chat records -> ids and labels (`xplus.train.data`): the loss mask is exactly the assistant tokens."""

from __future__ import annotations

import json

import pytest
import torch

from xplus.curate.prompts import render_chat
from xplus.pipelines.toy_models import toy_causal_lm, toy_tokenizer
from xplus.train.data import IGNORE_INDEX, build_examples, collate, data_hash, encode_chat, load_records

CHAT = [{"role": "system", "content": "You translate."},
        {"role": "user", "content": "Translate from English to Swahili:\nabout how long?"},
        {"role": "assistant", "content": "je, kwa muda gani?"}]
END_OF_TURN = {"qwen3": "<|im_end|>", "llama": "<|eot_id|>"}


@pytest.fixture(scope="module", params=["qwen3", "llama"])
def tokenizer(request, pairs):
    tok = toy_tokenizer([t for pair in pairs for t in pair], request.param)
    tok.kind = request.param
    return tok


def targets(tokenizer, encoded):
    return tokenizer.decode([t for t, label in zip(encoded.input_ids, encoded.labels, strict=True)
                             if label != IGNORE_INDEX])


def test_labels_are_exactly_the_assistant_turn_and_its_end_marker(tokenizer):
    encoded = encode_chat(tokenizer, CHAT)
    assert encoded.input_ids == tokenizer(render_chat(tokenizer, CHAT), add_special_tokens=False)["input_ids"]
    assert targets(tokenizer, encoded) == "je, kwa muda gani?" + END_OF_TURN[tokenizer.kind]
    first = next(i for i, label in enumerate(encoded.labels) if label != IGNORE_INDEX)
    trained = [label for label in encoded.labels[first:] if label != IGNORE_INDEX]
    assert trained == encoded.input_ids[first:first + len(trained)]  # one contiguous span, labels == ids
    # the untrained prefix is exactly the generation prompt the evaluator renders (Qwen3: with the empty
    # <think></think> block), so training and evaluation prompts cannot drift
    prompt = render_chat(tokenizer, CHAT[:-1], add_generation_prompt=True)
    assert tokenizer.decode(encoded.input_ids[:first]) == prompt
    if tokenizer.kind == "qwen3":
        assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_every_assistant_turn_of_a_multi_turn_chat_is_trained(tokenizer):
    chat = [{"role": "user", "content": "one"}, {"role": "assistant", "content": "moja"},
            {"role": "user", "content": "two"}, {"role": "assistant", "content": "mbili"}]
    eot = END_OF_TURN[tokenizer.kind]
    assert targets(tokenizer, encode_chat(tokenizer, chat)) == f"moja{eot}mbili{eot}"


def test_truncation_and_dropping_are_counted(tokenizer):
    long_answer = [*CHAT[:2], {"role": "assistant", "content": "neno " * 200}]
    records = [{"messages": CHAT}, {"messages": long_answer}]
    prompt_len = len(encode_chat(tokenizer, CHAT[:2] + [{"role": "assistant", "content": ""}]).input_ids)
    examples, report = build_examples(tokenizer, records, max_length=prompt_len + 20)
    assert (report.records, report.examples, report.truncated, report.dropped_no_target) == (2, 2, 1, 0)
    assert max(len(e.input_ids) for e in examples) == prompt_len + 20
    _, report = build_examples(tokenizer, records, max_length=prompt_len - 2)  # no assistant token fits
    assert (report.examples, report.truncated, report.dropped_no_target) == (0, 2, 2)


def test_packed_chats_do_not_attend_to_each_other(tokenizer):
    """Packing restarts positions; the model's logits per chat equal those of the chat alone."""
    records = [{"messages": [{"role": "user", "content": f"sentence {i}"}, {"role": "assistant", "content": a}]}
               for i, a in enumerate(["moja", "mbili mbili", "tatu tatu tatu"])]
    single, _ = build_examples(tokenizer, records, max_length=512)
    packed, report = build_examples(tokenizer, records, max_length=512, packing=True)
    assert report.sequences == 1 and report.examples == 3
    assert packed[0].input_ids == [t for e in single for t in e.input_ids]
    model = toy_causal_lm(tokenizer.kind, len(tokenizer), num_layers=2).eval()
    batch = collate(packed, tokenizer.pad_token_id)
    assert "attention_mask" not in batch
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone = torch.cat([model(**{k: v for k, v in collate([e], 0).items() if k != "labels"}).logits[0]
                           for e in single])
    torch.testing.assert_close(logits, alone, atol=1e-5, rtol=1e-4)


def test_records_from_jsonl_parquet_and_folders(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"messages": CHAT, "src": "eng_Latn"}, {"messages": CHAT[1:], "src": "eng_Latn"}]
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "00000.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a" / "00001.parquet")
    assert [r["messages"] for r in load_records(str(tmp_path / "a" / "00000.jsonl"))] == [CHAT, CHAT[1:]]
    both = load_records(str(tmp_path / "a"))
    assert len(both) == 4 and both[2]["messages"] == CHAT
    assert data_hash(both[:2]) == data_hash(load_records(str(tmp_path / "a"), max_samples=2))
    assert data_hash(both[:2]) != data_hash(both[1:3])
    (tmp_path / "bad.jsonl").write_text(json.dumps({"messages": CHAT[:2]}) + "\n")
    with pytest.raises(ValueError, match="record 0 has no `messages` with an assistant turn"):
        load_records(str(tmp_path / "bad.jsonl"))


def test_real_curation_output_encodes(tokenizer, tmp_path):
    """The chat-messages JSONL that `xplus curate run demo` writes is read as is."""
    from xplus.curate.prompts import benchmax_prompt, chat_messages

    row = {"messages": chat_messages(benchmax_prompt("Hello.", "eng_Latn", "zho_Hans"), "你好。"), "template": 0}
    (tmp_path / "00000.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n")
    examples, report = build_examples(tokenizer, load_records(str(tmp_path)), max_length=4096)
    assert report.examples == 1
    assert targets(tokenizer, examples[0]) == "你好。" + END_OF_TURN[tokenizer.kind]


def test_generation_markers_of_our_training_template_are_our_mask(tokenizer):
    """The `{% generation %}` span of `prompts.training_chat_template` (what TRL's assistant_only_loss masks by)
    covers exactly the tokens `encode_chat` labels, in single- and multi-turn chats, with and without a system
    turn; templates it cannot vouch for are refused."""
    from xplus.curate.prompts import training_chat_template

    if tokenizer.kind != "qwen3":
        with pytest.raises(ValueError, match="generation"):
            training_chat_template(tokenizer)
        return
    template = training_chat_template(tokenizer)
    multi = [CHAT[1], CHAT[2], {"role": "user", "content": "And: thank you"},
             {"role": "assistant", "content": "asante"}]
    for messages in (CHAT, CHAT[1:], multi):
        ours = encode_chat(tokenizer, messages)
        marked = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=True, return_dict=True,
                                               return_assistant_tokens_mask=True)
        assert marked["input_ids"] == ours.input_ids
        assert [t if m else IGNORE_INDEX for t, m in zip(marked["input_ids"], marked["assistant_masks"],
                                                          strict=True)] == ours.labels
