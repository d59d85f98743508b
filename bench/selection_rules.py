"""The rules `selection_protocol.py` chooses settings for (each with its grid), and steps 2-4 with the defaults."""

from __future__ import annotations

from collections.abc import Callable

from lid_flores import LID_SWEEP

from xplus.curate.clean import Cleaner
from xplus.curate.consistency import ConsistencyFilter
from xplus.curate.lid import LanguageIdFilter
from xplus.curate.untranslated import UntranslatedFilter

CONSISTENCY_OFF = {"identical": False, "only_symbols": False, "only_numbers": False, "repeated": False,
                   "url_mismatch": False, "number_mismatch": False}
Setting = tuple[str, Callable[[], list]]


def _consistency(**kwargs) -> Callable[[], list]:
    return lambda: [ConsistencyFilter(**{**CONSISTENCY_OFF, **kwargs}, decision="drop")]


UNTRANSLATED_OFF = {"min_copied_words": 0, "min_run_words": 0, "copied_targets": False}


def _untranslated(**kwargs) -> Callable[[], list]:
    return lambda: [UntranslatedFilter(**{**UNTRANSLATED_OFF, **kwargs}, decision="drop")]


def _lid(wrong: float, expected: float, evidence: int) -> Callable[[], list]:
    return lambda: [LanguageIdFilter(min_wrong_probability=wrong, max_expected_probability=expected,
                                     min_evidence_words=evidence)]


def candidates() -> dict[str, list[Setting]]:
    """Rule name -> its settings (label, blocks factory), each applied alone after the cleaner."""
    return {
        "clean: mojibake": [("on", lambda: [Cleaner()])],
        "consistency: identical": [("on", _consistency(identical=True))],
        "consistency: near_identical": [(f"ratio {r}", _consistency(near_identical=r)) for r in (0.8, 0.85, 0.9, 0.95)],
        "consistency: only_symbols": [(f"min_letter_share {s}", _consistency(only_symbols=True, min_letter_share=s))
                                      for s in (0.1, 0.2, 0.3)],
        "consistency: only_numbers": [(f"max_digit_share {s}", _consistency(only_numbers=True, max_digit_share=s))
                                      for s in (0.5, 0.4, 0.3)],
        "consistency: repeated": [(f"max_repeats {r}", _consistency(repeated=True, max_repeats=r)) for r in (2, 3, 4)],
        "consistency: url_mismatch": [("on", _consistency(url_mismatch=True))],
        "consistency: number_mismatch": [(f"min_number {n}", _consistency(number_mismatch=True, min_number=n))
                                         for n in (10, 20, 30, 50, 100, 1000)],
        "untranslated: copied share": [(f"share {s}, words {w}", _untranslated(min_copied_share=s, min_copied_words=w))
                                       for s in (0.3, 0.5, 0.7, 0.8, 0.9, 1.0) for w in (1, 2, 3)],
        "untranslated: copied span": [(f"words {w}, p(source language) {p}",
                                       _untranslated(min_run_words=w, min_span_probability=p))
                                      for w in (1, 2, 3, 4, 6) for p in (0.0, 0.5, 0.7, 0.9)],
        "untranslated: copied target": [("on", _untranslated(copied_targets=True))],
        "LID": [(f"min_wrong {w}, max_expected {e}, evidence {m}", _lid(w, e, m)) for w, e in LID_SWEEP
                for m in (0, 2, 3)],
    }
