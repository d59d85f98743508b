"""Batched translation loss of a seq2seq model: mean token NLL of the target given the source.

For a pair (x, y) in direction src->trg the loss is `-(1/|y|) sum_t log P(y_t | y_<t, x)`, with the model fed
the way NLLB was trained and decodes: the tokenizer's `src_lang` set to the source code (encoder input
`src_code x </s>`), the target built by `text_target=` with `tgt_lang` set (labels `trg_code y </s>`) and the
decoder started from `decoder_start_token_id` (`</s>`), so it reads `</s> trg_code y` and predicts the labels.

What |y| counts: the target's text tokens and its `</s>`; not the language code, not padding. The language code
is forced at decoding (`forced_bos_token_id`), so its probability says nothing about this pair; `</s>` is
predicted, and a target that stops mid-sentence is exactly a pair whose `</s>` is unlikely. In general every
label that is a special token of the tokenizer other than `</s>` is left out, which covers NLLB's legacy
suffix layout (`y </s> trg_code`) and M2M100's `__sw__` codes as well.

Speed, because this is the expensive step of the recipe (a 600M-parameter forward pass per pair):

- pairs are sorted by length inside windows of `window` pairs, then cut into dynamic batches whose padded
  size (pairs x (longest source + longest target)) stays under `max_tokens`: little padding, full batches;
- bf16 weights on CUDA, `torch.inference_mode`, SDPA attention;
- the vocabulary projection is chunked: the model returns decoder hidden states, and only the positions
  that count are projected, `ce_chunk` at a time, with the log-sum-exp in fp32. Full fp32 logits of a batch
  (16k target tokens x 256k vocabulary = 16 GiB) never exist;
- batches go to the device from pinned memory without blocking, and losses stay on the device until the
  window is done, so the host prepares the next batch while the device computes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from xplus.curate.languages import get_language
from xplus.curate.loss.defaults import DEFAULT_MODEL, DIRECTIONS

#: a pair to score: (source text, target text, source code, target code), codes in any form the registry reads
Pair = tuple[str, str, str, str]

#: codes the NLLB tokenizer spells differently from the registry (see `xplus.curate.languages`)
_NLLB_CODE_ALIASES = {"sat_Olck": "sat_Beng"}


def worker_device(rank: int) -> str:
    """The device of datatrove task `rank`: one task per GPU (`cuda:{rank % count}` under the local executor;
    a SLURM task sees only its own GPU, so it gets `cuda:0`), else the CPU."""
    if torch.cuda.is_available():
        return f"cuda:{rank % torch.cuda.device_count()}"
    return "cpu"


def model_revision(name: str, revision: str | None, model) -> str:
    """What identifies the weights for the threshold cache: the Hub commit (the one asked for, else the one
    loaded), or for a local folder a digest of its files' names, sizes and modification times."""
    path = Path(name)
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            stat = file.stat()
            digest.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
        return f"local-{digest.hexdigest()[:16]}"
    return revision or getattr(model.config, "_commit_hash", None) or "unknown"


def plan_batches(lengths: Sequence[tuple[int, int]], max_tokens: int) -> list[list[int]]:
    """Indices of `lengths` ((source tokens, target tokens) per pair) cut into batches.

    The pairs are sorted by total length, longest first (a batch too big for the device fails on the first
    batch, not hours later), then cut so that pairs x (longest source + longest target) stays within
    `max_tokens`; a single pair longer than the budget gets a batch of its own.
    """
    batches: list[list[int]] = []
    batch: list[int] = []
    longest_src = longest_tgt = 0
    for i in sorted(range(len(lengths)), key=lambda i: -sum(lengths[i])):
        src_len, tgt_len = lengths[i]
        grown_src, grown_tgt = max(longest_src, src_len), max(longest_tgt, tgt_len)
        if batch and (len(batch) + 1) * (grown_src + grown_tgt) > max_tokens:
            batches.append(batch)
            batch, grown_src, grown_tgt = [], src_len, tgt_len
        batch.append(i)
        longest_src, longest_tgt = grown_src, grown_tgt
    if batch:
        batches.append(batch)
    return batches


class PairScorer:
    """Scores pairs with a seq2seq translation model (NLLB/M2M100-style tokenizer with language codes).

    Args:
        model: an `AutoModelForSeq2SeqLM` model (already on its device)
        tokenizer: its tokenizer; must know the language codes of the pairs it scores
        name, revision: what the model is, for the threshold cache and the thresholds table
        max_tokens: padded tokens (source + target) per batch
        window: pairs sorted together by length before batching
        ce_chunk: target positions projected onto the vocabulary at a time
        max_length: longer sides are truncated to this many tokens (specials included)
    """

    def __init__(
        self,
        model,
        tokenizer,
        name: str,
        revision: str,
        max_tokens: int = 16_384,
        window: int = 10_000,
        ce_chunk: int = 2048,
        max_length: int = 512,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name, self.revision = name, revision
        self.max_tokens, self.window, self.ce_chunk, self.max_length = max_tokens, window, ce_chunk, max_length
        self.device = next(model.parameters()).device
        self.pad_id = tokenizer.pad_token_id
        self.start_id = model.config.decoder_start_token_id
        # every special token but </s> is left out of |y| (language codes, padding, <s>, <unk> added as special)
        self._uncounted = torch.tensor(sorted(set(tokenizer.all_special_ids) - {tokenizer.eos_token_id}),
                                       device=self.device)

    @classmethod
    def from_pretrained(
        cls, name: str = DEFAULT_MODEL, revision: str | None = None, device: str = "cpu", **kwargs
    ) -> PairScorer:
        """Load model and tokenizer from the Hub (`name` with an optional `revision`) or a local folder:
        bf16 on CUDA, fp32 on the CPU, SDPA attention."""
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        model = AutoModelForSeq2SeqLM.from_pretrained(name, revision=revision, dtype=dtype, attn_implementation="sdpa")
        tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
        return cls(model.to(device), tokenizer, name, model_revision(name, revision, model), **kwargs)

    # --- tokenization ---------------------------------------------------------------------------------------

    def lang_code(self, code: str) -> str:
        """The tokenizer's token for a language: its FLORES-200 (NLLB) code, else M2M100's ISO 639-1 code."""
        lang = get_language(code)
        nllb = _NLLB_CODE_ALIASES.get(lang.flores200, lang.flores200)
        candidates = [(nllb, nllb), (f"__{lang.iso639_1}__", lang.iso639_1)] if lang.iso639_1 else [(nllb, nllb)]
        for token, name in candidates:
            if self.tokenizer.convert_tokens_to_ids(token) != self.tokenizer.unk_token_id:
                return name
        raise ValueError(f"the tokenizer of {self.name} has no language code for {lang.flores200} ({lang.name}); "
                         f"tried {', '.join(token for token, _ in candidates)}")

    def encode(self, pairs: Sequence[Pair]) -> list[tuple[list[int], list[int]]]:
        """(encoder input ids, label ids) per pair, built by the tokenizer itself, one direction at a time."""
        by_direction: dict[tuple[str, str], list[int]] = {}
        for i, (_, _, src, trg) in enumerate(pairs):
            by_direction.setdefault((src, trg), []).append(i)
        encoded: list[tuple[list[int], list[int]]] = [([], [])] * len(pairs)
        for (src, trg), indices in by_direction.items():
            self.tokenizer.src_lang, self.tokenizer.tgt_lang = self.lang_code(src), self.lang_code(trg)
            out = self.tokenizer([pairs[i][0] for i in indices], text_target=[pairs[i][1] for i in indices],
                                 truncation=True, max_length=self.max_length)
            for i, ids, labels in zip(indices, out["input_ids"], out["labels"], strict=True):
                encoded[i] = (ids, labels)
        return encoded

    # --- scoring --------------------------------------------------------------------------------------------

    def losses(self, pairs: Sequence[Pair], directions: str = "forward") -> np.ndarray:
        """Mean token NLL of each pair's target given its source (float64, in the order of `pairs`).

        `directions="both"` averages it with the loss of the source given the target.
        """
        if directions not in DIRECTIONS:
            raise ValueError(f"directions must be one of {DIRECTIONS}, got {directions!r}")
        forward = self._encoded_losses(self.encode(pairs))
        if directions == "forward":
            return forward
        backward = self._encoded_losses(self.encode([(tgt, src, trg, s) for src, tgt, s, trg in pairs]))
        return (forward + backward) / 2

    def _encoded_losses(self, encoded: list[tuple[list[int], list[int]]]) -> np.ndarray:
        """Losses of encoded pairs, a window at a time: sorted, batched, scored, one device sync per window."""
        out = np.empty(len(encoded), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(encoded), self.window):
                window = encoded[start:start + self.window]
                batches = plan_batches([(len(ids), len(labels)) for ids, labels in window], self.max_tokens)
                on_device = [self.batch_losses(*self._tensors([window[i] for i in batch])) for batch in batches]
                order = [start + i for batch in batches for i in batch]
                out[order] = torch.cat(on_device).double().cpu().numpy()
        return out

    def _tensors(self, batch: list[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded (input ids, labels), pinned and sent to the device without blocking."""
        tensors = []
        for side in (0, 1):
            seqs = [pair[side] for pair in batch]
            padded = torch.full((len(seqs), max(map(len, seqs))), self.pad_id, dtype=torch.long)
            for row, seq in enumerate(seqs):
                padded[row, :len(seq)] = torch.tensor(seq)
            if self.device.type == "cuda":
                padded = padded.pin_memory()
            tensors.append(padded.to(self.device, non_blocking=True))
        return tensors[0], tensors[1]

    def counted(self, labels: torch.Tensor) -> torch.Tensor:
        """Which label positions count in |y| (see the module doc)."""
        return ~torch.isin(labels, self._uncounted)

    def batch_losses(self, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean NLL per row of a padded batch, from decoder hidden states and a chunked vocabulary projection."""
        decoder_input_ids = torch.cat([torch.full_like(labels[:, :1], self.start_id), labels[:, :-1]], dim=1)
        hidden = self.model.base_model(
            input_ids=input_ids,
            attention_mask=input_ids != self.pad_id,
            decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=labels != self.pad_id,
            use_cache=False,
        ).last_hidden_state
        counted = self.counted(labels)
        rows, cols = counted.nonzero(as_tuple=True)
        states, targets = hidden[rows, cols], labels[rows, cols]
        lm_head = self.model.get_output_embeddings()
        nll = torch.empty(len(targets), dtype=torch.float32, device=hidden.device)
        for start in range(0, len(targets), self.ce_chunk):
            logits = lm_head(states[start:start + self.ce_chunk]).float()
            gold = logits.gather(1, targets[start:start + self.ce_chunk, None]).squeeze(1)
            nll[start:start + self.ce_chunk] = torch.logsumexp(logits, dim=-1) - gold
        sums = torch.zeros(len(labels), dtype=torch.float32, device=hidden.device).index_add_(0, rows, nll)
        return sums / counted.sum(dim=1)


def reference_losses(scorer: PairScorer, pairs: Sequence[Pair]) -> np.ndarray:
    """The definition, plainly: one pair at a time, full logits from the model's own forward pass, fp32
    log-softmax. What the batched scorer is checked against, and the baseline of `bench/loss_speed.py`."""
    out = []
    with torch.inference_mode():
        for ids, labels in scorer.encode(pairs):
            input_ids = torch.tensor([ids], device=scorer.device)
            label_ids = torch.tensor([labels], device=scorer.device)
            logits = scorer.model(input_ids=input_ids, labels=label_ids).logits.float()
            logprobs = torch.log_softmax(logits, dim=-1).gather(2, label_ids[..., None])[0, :, 0]
            out.append(-logprobs[scorer.counted(label_ids)[0]].mean().item())
    return np.array(out)

