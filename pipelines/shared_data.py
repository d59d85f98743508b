"""Where the real sample data is (`shared/data`: FLORES-200 dev/devtest, bitext samples), by one rule that the
tests, the benchmarks and the toy end-to-end run all follow.

The data is not part of the package (FLORES may not be re-hosted); a checkout finds it next to itself.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the environment variable that points at the data folder
ENV = "XPLUS_SHARED_DATA"
#: the folder holding the package folders (`curate/`, `pipelines/` ...) in a source checkout
REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """`$XPLUS_SHARED_DATA` when it is set, else `../shared/data` from the repository root (whether it exists or
    not: callers say what is missing)."""
    return Path(os.environ.get(ENV) or REPO_ROOT.parent / "shared" / "data")
