"""Translation prompts and chat rendering: the one place training, evaluation and curation take prompts from.

- `BENCHMAX_PROMPT` is BenchMAX's translation prompt (one user turn, no system prompt), with BenchMAX's
  English language names from the registry ("Simplified Chinese", "Cyrillic Serbian"). The evaluator uses
  it verbatim, and it is template 0 of the training templates, so what the model is trained on and what it
  is scored on cannot drift apart.
- `TEMPLATES` are the instruction templates of curation step 6: clear, diverse English instructions. Each
  has `{src}`, `{tgt}` (language names) and `{text}`.
- `pick_template` chooses a template from a seeded hash of the pair and direction, so reruns give the same
  data whatever the order, the number of tasks or the machine.
- `render_chat` applies a model's chat template with thinking disabled (Qwen3's default template thinks).
"""

from __future__ import annotations

import hashlib
from typing import Any

from xplus.curate.languages import get_language

BENCHMAX_PROMPT = "Translate the following text from {src} to {tgt}.\n\n{src} source:\n{text}\n\n{tgt} translation:"

TEMPLATES: tuple[str, ...] = (
    BENCHMAX_PROMPT,
    "Translate the following {src} text into {tgt}.\n\n{text}",
    "Translate from {src} to {tgt}:\n{text}",
    "Please translate this sentence from {src} into {tgt}.\n\n{text}",
    "What is the {tgt} translation of the following {src} sentence?\n\n{text}",
    "{text}\n\nTranslate the text above from {src} to {tgt}.",
    "Render the following {src} text in {tgt}, keeping its meaning and tone.\n\n{text}",
    "You are a professional translator. Translate the {src} text below into fluent {tgt}.\n\n{text}",
    "{src}: {text}\n{tgt}:",
    "Give a faithful {tgt} translation of this {src} passage:\n\n{text}",
    "How would you say the following in {tgt}?\n\n{text}",
    "Convert this {src} sentence into {tgt}. Reply with the translation only.\n\n{text}",
    "Source language: {src}\nTarget language: {tgt}\nText: {text}\nTranslation:",
    "I need this translated from {src} to {tgt}, please:\n\"{text}\"",
    "Translate into {tgt}:\n\n{text}",
    "Can you translate the following {src} text to {tgt} for me?\n\n{text}",
    "Here is a sentence in {src}. Write it in {tgt}.\n\n{text}",
    "Produce an accurate {tgt} version of the following {src} text.\n\n{text}",
    "{text}\n\nWhat does this {src} text say in {tgt}? Answer with the translation.",
    "Translate the sentence below ({src} to {tgt}).\n\n{text}",
    "As a {src}-{tgt} translator, translate this:\n\n{text}",
    "Write the following {src} sentence in {tgt}, preserving names, numbers and formatting.\n\n{text}",
)


def language_name(code: str) -> str:
    """The English name BenchMAX uses for a language (any code form)."""
    return get_language(code).benchmax_name


def format_prompt(template: str, text: str, src: str, tgt: str) -> str:
    """Fill a template with the text and the BenchMAX names of the source and target languages."""
    return template.format(src=language_name(src), tgt=language_name(tgt), text=text)


def benchmax_prompt(text: str, src: str, tgt: str) -> str:
    return format_prompt(BENCHMAX_PROMPT, text, src, tgt)


def pick_template(src_line: str, tgt_line: str, src: str, tgt: str, seed: int = 0,
                  n_templates: int = len(TEMPLATES)) -> int:
    """Deterministic template index for a pair and direction (BLAKE2b of seed, languages and both sides)."""
    key = "\x1f".join((str(seed), src, tgt, src_line, tgt_line)).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % n_templates


def chat_messages(prompt: str, answer: str | None = None, system: str | None = None) -> list[dict[str, str]]:
    """A chat in the `messages` layout: optional system turn, the user prompt, optional assistant answer."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages


def render_chat(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    """Apply the tokenizer's chat template as text, with thinking disabled where the template supports it.

    Qwen3's template reads `enable_thinking`; templates that do not know the variable ignore it.
    """
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt,
                                         enable_thinking=False)
