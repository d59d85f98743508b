"""Step 6 of the curation recipe: turn each pair into instruction-tuning chats.

Each pair yields one chat per direction (both by default: en->sw and sw->en from one pair). A chat is the
bitext record *in the direction of the chat* (its `text` is the sentence to translate, `tgt_line` the
answer; for the reverse direction `src`/`trg` and every per-side measurement (`length_*`, `lid_*`) are
swapped, and `loss`, measured src->trg only, is null; `file`/`line` locate the pair and stay) plus `messages` (a
user turn with the instruction, an assistant turn with the translation; no system prompt unless given) and the
`template` index. The
template comes from `xplus.curate.prompts` (BenchMAX's prompt is template 0) and is picked by a seeded hash
of the pair and direction, so a rerun, on any number of tasks, gives identical data.

Nothing is dropped here; the step counts pairs in (`total`, `forwarded`), chats out (`records_out`) and how
often each template was used (`template_<i>`), and the accounting checks `records_out` against the writers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.batching import batched
from datatrove.utils.typeshelper import StatHints

from xplus.curate.prompts import TEMPLATES, chat_messages, format_prompt, pick_template
from xplus.curate.record import SRC, TGT_LINE, TRG, languages, reversed_metadata, sides

STEP = "template"
MESSAGES, TEMPLATE, DIRECTION = "messages", "template", "direction"
FORWARD, REVERSE = "forward", "reverse"
#: pairs templated between two reads of the clock and two updates of the counts
TEMPLATE_BATCH = 1000
DIRECTIONS = {"both": (FORWARD, REVERSE), FORWARD: (FORWARD,), REVERSE: (REVERSE,)}


class InstructionTemplater(PipelineStep):
    """Pairs in, chat records out (one per direction).

    Args:
        directions: `both` (default), `forward` (the record's src->trg) or `reverse`
        seed: changes which template each pair gets, deterministically
        templates: instruction templates with `{src}`, `{tgt}`, `{text}` (default: `prompts.TEMPLATES`)
        system_prompt: a system turn for every chat (default: none, as in the paper's data)
    """

    name = "💬 Instruction templates"
    type = "💬 - TEMPLATE"

    def __init__(
        self,
        directions: str = "both",
        seed: int = 0,
        templates: Sequence[str] | None = None,
        system_prompt: str | None = None,
    ):
        super().__init__()
        if directions not in DIRECTIONS:
            raise ValueError(f"directions must be one of {sorted(DIRECTIONS)}, got {directions!r}")
        self.directions = DIRECTIONS[directions]
        self.seed = seed
        self.templates = tuple(templates or TEMPLATES)
        for i, template in enumerate(self.templates):
            try:
                template.format(src="", tgt="", text="")
            except (KeyError, IndexError) as err:
                raise ValueError(f"template {i} uses a field other than {{src}}, {{tgt}}, {{text}}: {err}") from err
        self.system_prompt = system_prompt

    def chat(self, doc: Document, direction: str) -> Document:
        src_line, tgt_line = sides(doc)
        src, trg = languages(doc)
        metadata = dict(doc.metadata)
        if direction == REVERSE:
            src_line, tgt_line, src, trg = tgt_line, src_line, trg, src
            metadata = reversed_metadata(metadata)
        index = pick_template(src_line, tgt_line, src, trg, self.seed, len(self.templates))
        prompt = format_prompt(self.templates[index], src_line, src, trg)
        metadata.update({SRC: src, TRG: trg, TGT_LINE: tgt_line, TEMPLATE: index, DIRECTION: direction,
                         MESSAGES: chat_messages(prompt, tgt_line, self.system_prompt)})
        return Document(text=src_line, id=f"{doc.id}#{direction}", metadata=metadata)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """Chats of `TEMPLATE_BATCH` pairs at a time, counted and timed once per batch (the same totals as per
        pair, without datatrove's per-call bookkeeping on every record)."""
        for batch in batched(data, TEMPLATE_BATCH):
            with self.track_time("batch"):
                records = [self.chat(doc, direction) for doc in batch for direction in self.directions]
            self.stat_update(StatHints.total, StatHints.forwarded, value=len(batch))
            self.stat_update("records_out", value=len(records))
            for index, count in sorted(Counter(record.metadata[TEMPLATE] for record in records).items()):
                self.stat_update(f"template_{index}", value=count)
            yield from records
