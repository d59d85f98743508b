"""Loss thresholds calibrated on FLORES: what loss a good translation of this direction has, for this model.

Losses are not comparable across directions (scoring into Telugu is harder than into French), so each
direction gets its own threshold: the `percentile` (90) of the same loss on FLORES dev, professional
translations of the same sentences in every language. A pair scoring worse than 90% of FLORES is dropped.

FLORES comes from `xplus.curate.flores.Flores`: a local release root in any FLORES layout, or the Hub
dataset `openlanguagedata/flores_plus` (gated: accept its terms and log in; pin `hub_revision`). Thresholds
are cached as JSON, one file per key: model, model revision, direction, `directions`, percentile and a
checksum of the FLORES lines used, so a new model, revision, percentile or FLORES release recomputes and
nothing else does. The table of thresholds (numbers, never FLORES text) is
written with the run by `Calibrator.write_table`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from datatrove.io import DataFolderLike, get_datafolder

from xplus.curate.flores import Flores, FloresNotFoundError, format_direction, parse_direction
from xplus.curate.loss.defaults import DIRECTIONS

if TYPE_CHECKING:  # the scorer (torch) is handed in, never built here
    from xplus.curate.loss.scorer import PairScorer

DEFAULT_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "xplus" / "loss_thresholds"


@dataclass(frozen=True)
class Threshold:
    """The loss threshold of one direction and where it comes from (`source`: a description for messages)."""

    src: str
    trg: str
    value: float
    source: str
    percentile: float | None = None
    pairs: int | None = None
    model: str | None = None
    revision: str | None = None
    directions: str | None = None
    checksum: str | None = None

    @property
    def direction(self) -> str:
        return format_direction(self.src, self.trg)


class Calibrator:
    """Per-direction loss thresholds: given ones first, then the cache, then FLORES scored by `scorer`.

    Args:
        scorer: the model the filter scores with (its name and revision key the cache)
        flores: where FLORES comes from
        percentile: the FLORES loss percentile that becomes the threshold (paper: 90)
        directions: "forward" or "both", as the filter scores
        given: thresholds by direction (`{"eng_Latn-swh_Latn": 3.9}`, as `loss_thresholds.json` writes them);
            these directions skip FLORES
        cache_dir: where computed thresholds are cached; None caches nothing
    """

    def __init__(
        self,
        scorer: PairScorer,
        flores: Flores,
        percentile: float = 90.0,
        directions: str = "forward",
        given: dict[str, float] | None = None,
        cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR,
    ):
        if not 0 < percentile <= 100:
            raise ValueError(f"percentile must be in (0, 100], got {percentile}")
        if directions not in DIRECTIONS:
            raise ValueError(f"directions must be one of {DIRECTIONS}, got {directions!r}")
        self.scorer, self.flores, self.percentile, self.directions = scorer, flores, percentile, directions
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.table: dict[tuple[str, str], Threshold] = {}
        for direction, value in (given or {}).items():
            src, trg = parse_direction(direction)
            self.table[src, trg] = Threshold(src, trg, float(value), "given threshold")
        self.cache_hits = 0

    def threshold(self, src: str, trg: str) -> Threshold:
        """The threshold of the direction from `src` to `trg` (canonical codes), computed at most once."""
        if (src, trg) not in self.table:
            self.table[src, trg] = self._calibrate(src, trg)
        return self.table[src, trg]

    def flores_pairs(self, src: str, trg: str) -> tuple[list[tuple[str, str, str, str]], str]:
        """FLORES pairs of a direction and the checksum of their text."""
        try:
            src_lines, trg_lines = self.flores.lines(src), self.flores.lines(trg)
        except FloresNotFoundError as err:
            direction = format_direction(src, trg)
            raise FloresNotFoundError(f"cannot calibrate the loss threshold of {direction}: {err}; or give "
                                      f"the threshold explicitly (thresholds={{'{direction}': ...}})") from err
        if len(src_lines) != len(trg_lines):
            raise ValueError(f"FLORES {src} has {len(src_lines)} lines but {trg} has {len(trg_lines)}: "
                             f"not the same {self.flores.split} split")
        digest = hashlib.sha256()
        for line in (*src_lines, "\0", *trg_lines):
            digest.update(line.encode() + b"\n")
        return [(s, t, src, trg) for s, t in zip(src_lines, trg_lines, strict=True)], digest.hexdigest()

    def cache_key(self, src: str, trg: str, checksum: str) -> dict[str, str | float]:
        return {"model": self.scorer.name, "revision": self.scorer.revision, "direction": format_direction(src, trg),
                "directions": self.directions, "percentile": self.percentile, "flores": checksum}

    def _calibrate(self, src: str, trg: str) -> Threshold:
        pairs, checksum = self.flores_pairs(src, trg)
        key = self.cache_key(src, trg, checksum)
        cache_file = self._cache_file(key)
        if cache_file is not None and cache_file.is_file():
            cached = json.loads(cache_file.read_text())
            if cached["key"] == key:
                self.cache_hits += 1
                return Threshold(**cached["threshold"])
        losses = self.scorer.losses(pairs, self.directions)
        threshold = Threshold(src, trg, float(np.percentile(losses, self.percentile)),
                              f"p{self.percentile:g} {self.flores.label}", self.percentile, len(pairs),
                              self.scorer.name, self.scorer.revision, self.directions, checksum)
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            partial = cache_file.with_suffix(f".{os.getpid()}.tmp")  # atomic: tasks may calibrate at once
            partial.write_text(json.dumps({"key": key, "threshold": asdict(threshold)}, indent=1))
            partial.replace(cache_file)
        return threshold

    def _cache_file(self, key: dict) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]}.json"

    def write_table(self, folder: DataFolderLike | os.PathLike, filename: str = "loss_thresholds.json") -> None:
        """Write the thresholds used so far (numbers and their provenance, no FLORES text) to `folder`."""
        rows = [asdict(t) | {"direction": t.direction} for _, t in sorted(self.table.items())]
        folder = os.fspath(folder) if isinstance(folder, os.PathLike) else folder
        with get_datafolder(folder).open(filename, "w") as f:
            f.write(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
