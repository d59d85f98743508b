"""Step 3a of the curation recipe: drop pairs with a side too short, or sides of very different lengths.

Each side is measured in its language's units (`xplus.curate.segment`: words for space-delimited languages,
characters for zh, ja, th, lo, km, my, bo ...), or in the tokens of a HF tokenizer when `tokenizer` is
given (the model you will train, so lengths mean what the model sees). The paper's rules are the defaults:

- a side with fewer than `min_units` (2) units is dropped (`too_short_source` / `too_short_target`);
- a pair whose `short / long` length ratio is below `min_ratio` (0.3) is dropped (`length_ratio`).

OpusFilter states the same rule the other way round (`LengthRatioFilter`: `long / short > 3.33` drops;
1 / 0.3 = 3.33...). Both are strict inequalities, so a pair exactly at the ratio is kept.

Mixed segmentation breaks the raw ratio: an English side counted in words against a Thai side counted in
characters has a median ratio of 1:5.5 on FLORES dev, so the literal rule would drop 99% of en-th FLORES
pairs (10% of en-ja, 3% of en-zh; `bench/results/length_ratio_flores.md`). A character-segmented side facing
a word-segmented one is therefore divided by its language's characters per English word, measured on
FLORES-200 dev (`CHAR_PER_WORD`), before the ratio is taken; with both sides in the same unit nothing is
scaled. `char_per_word={}` with `default_char_per_word=1` gives the literal rule.
"""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import BatchFilter
from xplus.curate.record import SRC, TGT_LINE, TRG, mark_rejected, sides
from xplus.curate.segment import CHAR, UNIT_COUNTERS, mode_of

STEP = "length"

#: median non-space characters per English word of FLORES-200 dev translations (bench/length_ratio_flores.py)
CHAR_PER_WORD = {"zho_Hans": 1.88, "zho_Hant": 1.88, "yue_Hant": 1.88, "jpn_Jpan": 2.60, "tha_Thai": 5.51}
#: other character-segmented languages (Lao, Khmer, Burmese, Tibetan ...: abugidas written without spaces
#: between words, like Thai) take Thai's value: an estimate by script family, not a measurement
DEFAULT_CHAR_PER_WORD = CHAR_PER_WORD["tha_Thai"]


class LengthRatioFilter(BatchFilter):
    """Minimum length per side and minimum short/long length ratio, per pair.

    Args:
        min_units: fewest units (words, characters or tokens) a side may have (paper: 2)
        min_ratio: smallest allowed `short / long` ratio of the two sides' lengths (paper: 0.3)
        char_per_word: characters per English word, by FLORES-200 code, of character-segmented languages
            (default `CHAR_PER_WORD`); used when such a side faces a word-segmented one
        default_char_per_word: the same for character-segmented languages not in `char_per_word`
        tokenizer: HF tokenizer name or path; lengths then count its tokens (no special tokens), in batches
        exclusion_writer: where dropped pairs go (step `length`)
        batch_size: pairs per batch (tokenizer batches)
    """

    name = "📏 Length / ratio"

    def __init__(
        self,
        min_units: int = 2,
        min_ratio: float = 0.3,
        char_per_word: dict[str, float] | None = None,
        default_char_per_word: float = DEFAULT_CHAR_PER_WORD,
        tokenizer: str | None = None,
        exclusion_writer: DiskWriter | None = None,
        batch_size: int = 1000,
    ):
        super().__init__(exclusion_writer, batch_size)
        if not 0 < min_ratio <= 1:
            raise ValueError(f"min_ratio must be in (0, 1], got {min_ratio}")
        self.char_per_word = dict(CHAR_PER_WORD if char_per_word is None else char_per_word)
        if any(v <= 0 for v in (*self.char_per_word.values(), default_char_per_word)):
            raise ValueError("characters per word must be positive")
        self.min_units = min_units
        self.min_ratio = min_ratio
        self.default_char_per_word = default_char_per_word
        self.tokenizer_name = tokenizer
        self._tokenizer = None

    @property
    def tokenizer(self):
        if self._tokenizer is None and self.tokenizer_name:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_name)
        return self._tokenizer

    def lengths(self, batch: list[Document]) -> list[tuple[float, float, int, int]]:
        """(comparable source length, comparable target length, source units, target units) per pair."""
        if self.tokenizer_name:
            encoded = self.tokenizer([t for doc in batch for t in sides(doc)], add_special_tokens=False)["input_ids"]
            counts = [len(ids) for ids in encoded]
            return [(s, t, s, t) for s, t in zip(counts[::2], counts[1::2], strict=True)]
        out = []
        plans: dict[tuple[str, str], tuple] = {}  # per language pair of the batch: how to count and scale it
        for doc in batch:
            meta = doc.metadata
            codes = (meta[SRC], meta[TRG])
            plan = plans.get(codes)
            if plan is None:
                plan = plans[codes] = self._plan(*codes)
            count_src, count_tgt, src_scale, tgt_scale = plan
            s, t = count_src(doc.text), count_tgt(meta[TGT_LINE])
            out.append((s, t, s, t) if src_scale is None else (s / src_scale, t / tgt_scale, s, t))
        return out

    def _plan(self, src_code: str, tgt_code: str) -> tuple:
        """(source counter, target counter, source divisor, target divisor) of a language pair; the divisors
        are None when both sides are counted in the same unit (nothing is scaled then)."""
        src_mode, tgt_mode = mode_of(src_code), mode_of(tgt_code)
        counters = (UNIT_COUNTERS[src_mode], UNIT_COUNTERS[tgt_mode])
        if src_mode == tgt_mode:
            return (*counters, None, None)
        return (*counters, self.scale(src_code, src_mode), self.scale(tgt_code, tgt_mode))

    def scale(self, code: str, mode: str) -> float:
        """Divisor that turns a side's units into English-word equivalents (1 for word-segmented sides)."""
        return self.char_per_word.get(code, self.default_char_per_word) if mode == CHAR else 1.0

    def decide(self, doc: Document, src_len: float, tgt_len: float, src_units: int, tgt_units: int):
        meta = doc.metadata
        meta["length_src"], meta["length_trg"] = src_units, tgt_units
        if src_units < self.min_units or tgt_units < self.min_units:
            side, units = ("source", src_units) if src_units < self.min_units else ("target", tgt_units)
            reason = f"too_short_{side}"
            mark_rejected(doc, STEP, reason, f"{units} unit(s) < {self.min_units}")
            return False, reason
        ratio = min(src_len, tgt_len) / max(src_len, tgt_len)
        if ratio < self.min_ratio:
            mark_rejected(doc, STEP, "length_ratio", f"short/long {ratio:.3f} < {self.min_ratio} "
                                                     f"({src_units} vs {tgt_units} units)")
            return False, "length_ratio"
        return True

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        decide = self.decide
        return [decide(doc, *lengths) for doc, lengths in zip(batch, self.lengths(batch), strict=True)]
