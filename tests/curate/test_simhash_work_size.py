"""What the multi-stage SimHash keeps on disk: stage 1 writes one fingerprint file per task (17 bytes a pair) and
nothing per table; stage 2 finds the near pairs from those files alone (`test_simhash` checks the decisions equal
the single-node block's)."""

from __future__ import annotations

import numpy as np

from xplus.curate.record import make_pair
from xplus.curate.simhash import SimHashBuckets, SimHashConfig, SimHashSignature
from xplus.curate.simhash.stages import FINGERPRINT, PAIR


def test_signatures_are_the_fingerprints_only(bitext, tmp_path):
    base = bitext / "tico19" / "eng-swa" / "tico19-test"
    english = (base.with_suffix(".eng")).read_text(encoding="utf-8").splitlines()[:300]
    swahili = (base.with_suffix(".swa")).read_text(encoding="utf-8").splitlines()[:300]
    pairs = list(zip(english, swahili, strict=True))
    pairs += [(s + " .", t) for s, t in pairs[:20]]  # near copies, on the other task
    docs = [make_pair(s, t, "eng_Latn", "swh_Latn", "tico19", "f", i) for i, (s, t) in enumerate(pairs)]
    config = SimHashConfig()
    signatures, buckets = tmp_path / "sig", tmp_path / "buckets"
    halves = (docs[:300], docs[300:])
    for rank, part in enumerate(halves):
        list(SimHashSignature(str(signatures), config).run(iter(part), rank=rank, world_size=2))

    files = sorted(p.relative_to(signatures).as_posix() for p in signatures.rglob("*") if p.is_file())
    assert files == ["fingerprints/00000.npy", "fingerprints/00001.npy"]
    for rank, part in enumerate(halves):
        assert (signatures / f"fingerprints/{rank:05d}.npy").stat().st_size == FINGERPRINT.itemsize * len(part)

    list(SimHashBuckets(str(signatures), str(buckets), config).run(rank=0, world_size=1))
    found = np.concatenate([np.fromfile(f, PAIR) for f in sorted(buckets.glob("*.pairs"))])
    tasks = {(int(a) >> 32, int(b) >> 32) for a, b in found}
    assert (0, 1) in tasks or (1, 0) in tasks  # the near copies on task 1 pair with their originals on task 0
