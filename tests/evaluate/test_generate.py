"""Generation: the output-cleaning rule, batching (left padding, length order) and the resumable cache."""

from __future__ import annotations

import json

import pytest
from transformers import AutoTokenizer

from tests.evaluate.tiny import tiny_qwen3
from xplus.curate.flores import Direction
from xplus.curate.prompts import benchmax_prompt
from xplus.evaluate.generate import HFGenerator, chat_prompt, clean_output, read_cache, translate_direction


@pytest.mark.parametrize(("raw", "expected"), [
    ("<think>\n\n</think>\n\nHabari ya asubuhi.", "Habari ya asubuhi."),  # Qwen3, thinking off
    ("<think>Let me think.\nThe word is...</think>\nBonjour.\nNote: formal register.", "Bonjour."),
    ("  Hola.  \n\nExplanation", "Hola."),
    ("<think>still thinking when the tokens ran out", ""),
    ("Guten Tag.<think>x</think> Wie geht's?", "Guten Tag. Wie geht's?"),
    ("\n\n", ""),
])
def test_clean_output_strips_think_blocks_then_keeps_the_first_line(raw, expected):
    assert clean_output(raw) == expected


def test_prompt_is_benchmax_in_the_chat_template_with_thinking_off(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = chat_prompt(tokenizer, "Hello.", "en", "zh")
    assert prompt == (f"<|im_start|>user\n{benchmax_prompt('Hello.', 'en', 'zh')}<|im_end|>\n"
                      "<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert "from English to Simplified Chinese" in prompt


def test_batched_generation_is_length_sorted_left_padded_and_matches_one_by_one(tiny_model_dir, flores_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = tiny_qwen3(len(tokenizer))
    lines = (flores_dir / "devtest" / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()[:5]
    lines[1] = "Short."  # lengths far apart, so the padding is long
    prompts = [chat_prompt(tokenizer, line, "en", "sw") for line in lines]
    batched = list(HFGenerator(model, tokenizer, batch_size=3, max_new_tokens=4)(prompts))
    assert tokenizer.padding_side == "left"
    lengths = [len(tokenizer(p)["input_ids"]) for p in prompts]
    order = [i for batch in batched for i, _ in batch]
    assert [len(batch) for batch in batched] == [3, 2]
    assert order == sorted(range(5), key=lambda i: -lengths[i])
    single = dict(pair for batch in HFGenerator(model, tokenizer, batch_size=1, max_new_tokens=4)(prompts)
                  for pair in batch)
    assert dict(pair for batch in batched for pair in batch) == single
    assert all(text for text in single.values())


class FakeGenerate:
    """Answers `<think>..</think>` + 'T<index>' + an explanation line; records how many prompts it saw."""

    def __init__(self, fail_after: int | None = None):
        self.seen, self.fail_after = 0, fail_after

    def __call__(self, prompts):
        for start in range(0, len(prompts), 2):
            if self.fail_after is not None and self.seen >= self.fail_after:
                raise KeyboardInterrupt
            batch = list(range(start, min(start + 2, len(prompts))))
            self.seen += len(batch)
            yield [(i, f"<think>hmm</think>\n\nT:{prompts[i].split('source:')[1].split()[0]}\nwhy") for i in batch]


def test_cache_resumes_an_interrupted_direction(tiny_model_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    direction = Direction("eng_Latn", "swh_Latn")
    sources, refs = [f"s{i} text" for i in range(7)], [f"r{i}" for i in range(7)]
    with pytest.raises(KeyboardInterrupt):
        translate_direction(FakeGenerate(fail_after=4), tokenizer, direction, sources, refs, tmp_path)
    path = tmp_path / "eng_Latn-swh_Latn.jsonl"
    assert sorted(read_cache(path)) == [0, 1, 2, 3]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"i": 4, "src": "s4 te')  # a torn write
    resumed = FakeGenerate()
    rows = translate_direction(resumed, tokenizer, direction, sources, refs, tmp_path)
    assert resumed.seen == 3
    assert [row["hyp"] for row in rows] == [f"T:s{i}" for i in range(7)]
    assert rows[5] == {"i": 5, "src": "s5 text", "ref": "r5", "raw": "<think>hmm</think>\n\nT:s5\nwhy", "hyp": "T:s5"}
    assert len(path.read_text(encoding="utf-8").splitlines()) == 7
    assert all(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    again = FakeGenerate()
    assert translate_direction(again, tokenizer, direction, sources, refs, tmp_path) == rows
    assert again.seen == 0
