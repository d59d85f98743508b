"""Steps 2-4 of the recipe with their default settings, as blocks: the rules (cleaning, length, pair consistency,
untranslated spans, SimHash dedup, language ID with the bundled lid.176), in the order a recipe runs them.

One home for that list: the quality bench (`bench/quality_paracrawl.py`) measures it on the labelled ParaCrawl
pairs, and `tests/curate/test_rule_decisions.py` holds its decision on every pair of the shared data to the
recorded one. Each block here is what a recipe's `steps:` entry of the same name builds with `{}`, but without
a rejects writer: a dropped pair keeps its step, reason and detail in its metadata (`record.mark_rejected`).
"""

from __future__ import annotations

from datatrove.pipeline.base import PipelineStep

from xplus.curate.clean import Cleaner
from xplus.curate.consistency import ConsistencyFilter
from xplus.curate.length import LengthRatioFilter
from xplus.curate.lid import (
    DEFAULT_MAX_EXPECTED_PROBABILITY,
    DEFAULT_MIN_EVIDENCE_WORDS,
    DEFAULT_MIN_WRONG_PROBABILITY,
    LanguageIdFilter,
)
from xplus.curate.simhash import SimHashConfig, SimHashDedup
from xplus.curate.untranslated import UntranslatedFilter


def rule_steps(min_wrong_probability: float = DEFAULT_MIN_WRONG_PROBABILITY,
               max_expected_probability: float = DEFAULT_MAX_EXPECTED_PROBABILITY,
               min_evidence_words: int = DEFAULT_MIN_EVIDENCE_WORDS,
               drop_flagged: bool = False) -> list[PipelineStep]:
    """Fresh blocks of steps 2-4 with the defaults; the arguments are those the benches sweep (the LID rule's
    `LanguageIdFilter` arguments, and `drop_flagged`: drop what pair consistency and the untranslated step flag by
    default)."""
    lid = LanguageIdFilter(min_wrong_probability=min_wrong_probability,
                           max_expected_probability=max_expected_probability, min_evidence_words=min_evidence_words)
    decision = {"decision": "drop"} if drop_flagged else {}
    return [Cleaner(), LengthRatioFilter(), ConsistencyFilter(**decision), UntranslatedFilter(**decision),
            SimHashDedup(SimHashConfig()), lid]
