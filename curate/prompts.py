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
- `training_chat_template` gives trainers that mask by `{% generation %}` markers (TRL's `assistant_only_loss`)
  the model's template with those markers, around exactly the tokens `xplus.train.data` trains on.
"""

from __future__ import annotations

import hashlib
import re
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


#: Qwen3's chat template (as Qwen3 ships it, tools included) with `{% generation %}` markers around what the
#: assistant is trained to write: its answer and `<|im_end|>`. The empty `<think>\n\n</think>\n\n` block of a
#: no-thinking turn is prompt, as in `xplus.train.data` and at inference, where the generation prompt ends with it;
#: real reasoning is inside the markers. The markers change no rendered character.
QWEN3_TRAINING_CHAT_TEMPLATE = """\
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n\\n' }}{%- endif %}
    {{- "# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with \
function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}{{- "\\n" }}{{- tool | tojson }}{%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within \
<tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n\
</tool_call><|im_end|>\\n" }}
{%- elif messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.\
startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- set content = message.content if message.content is string else '' %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- set think = loop.index0 > ns.last_query_index and (loop.last or reasoning_content) %}
        {{- '<|im_start|>' + message.role + '\\n' }}
        {%- if think and not reasoning_content.strip('\\n') %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}
        {%- generation %}
        {%- if think and reasoning_content.strip('\\n') %}
            {{- '<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' }}
        {%- endif %}
        {{- content.lstrip('\\n') if think else content }}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}{{- '\\n' }}{%- endif %}
                {%- if tool_call.function %}{%- set tool_call = tool_call.function %}{%- endif %}
                {{- '<tool_call>\\n{"name": "' + tool_call.name + '", "arguments": ' }}
                {{- tool_call.arguments if tool_call.arguments is string else tool_call.arguments | tojson }}
                {{- '}\\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>' }}
        {%- endgeneration %}
        {{- '\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}
        {{- '\\n<tool_response>\\n' + content + '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\\n' }}{%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}
{%- endif %}"""

_PROBES = ([{"role": "user", "content": "Translate: hello"}, {"role": "assistant", "content": "habari"}],
           [{"role": "system", "content": "Be exact."}, {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
            {"role": "assistant", "content": "d"}])


def has_generation_markers(chat_template: str | None) -> bool:
    return bool(chat_template) and re.search(r"\{%-?\s*generation\s*-?%\}", chat_template) is not None


def training_chat_template(tokenizer: Any) -> str:
    """The tokenizer's chat template with `{% generation %}` markers, for trainers that mask by them (TRL's
    `SFTTrainer(assistant_only_loss=True)`, `apply_chat_template(return_assistant_tokens_mask=True)`).

    A template that has markers is returned as is. A Qwen3 (ChatML with `<think>`) template gets
    `QWEN3_TRAINING_CHAT_TEMPLATE`, but only if that renders the probe chats exactly as the tokenizer's own
    template does (with and without a generation prompt); anything else is refused rather than changed.
    """
    template = tokenizer.chat_template
    if has_generation_markers(template):
        return template
    if not template or "<|im_start|>" not in template or "<think>" not in template:
        raise ValueError("no training chat template for this tokenizer's chat template: add {% generation %} "
                         "markers around the assistant's answer and end-of-turn token")
    for messages in _PROBES:
        for prompt in (False, True):
            ours = tokenizer.apply_chat_template(messages, chat_template=QWEN3_TRAINING_CHAT_TEMPLATE,
                                                 tokenize=False, add_generation_prompt=prompt, enable_thinking=False)
            if ours != render_chat(tokenizer, messages, add_generation_prompt=prompt):
                raise ValueError("the tokenizer's chat template renders chats unlike Qwen3's: add {% generation %} "
                                 "markers to it yourself")
    return QWEN3_TRAINING_CHAT_TEMPLATE
