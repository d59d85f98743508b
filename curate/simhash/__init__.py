"""Step 3b of the recipe: SimHash near-duplicate removal over source + target.

`SimHashDedup` runs on one node; `SimHashSignature -> SimHashBuckets -> SimHashCluster -> SimHashFilter` is the
same computation split into datatrove stages (the shape of datatrove's MinHash dedup). Both share
`SimHashConfig` and the three seams of the algorithm, `fingerprint` (features and fingerprints), `search`
(near pairs) and `decisions` (keep / drop), and give the same decisions.
"""

from xplus.curate.simhash.decisions import Decision
from xplus.curate.simhash.fast import SimHashDedup
from xplus.curate.simhash.fingerprint import STEP, Fingerprints, SimHashConfig, fingerprint_batch, table_masks
from xplus.curate.simhash.stages import SimHashBuckets, SimHashCluster, SimHashFilter, SimHashSignature

__all__ = [
    "STEP",
    "Decision",
    "Fingerprints",
    "SimHashBuckets",
    "SimHashCluster",
    "SimHashConfig",
    "SimHashDedup",
    "SimHashFilter",
    "SimHashSignature",
    "fingerprint_batch",
    "table_masks",
]
