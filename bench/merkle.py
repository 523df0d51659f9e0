"""Merkle tree speed: build a 1,000,000-leaf RFC 9162 tree, then produce and verify proofs.

    .venv/bin/python -m bench.merkle
"""

from __future__ import annotations

import os
import random
import time

from anchoring.merkle import MerkleTree, verify_inclusion
from bench.common import emit, rate

LEAVES = 1_000_000


def main() -> None:
    leaves = [os.urandom(32) for _ in range(LEAVES)]
    t = time.perf_counter()
    tree = MerkleTree(leaves)
    build = time.perf_counter() - t
    rng = random.Random(1)

    def prove():
        tree.inclusion_proof(rng.randrange(LEAVES))

    proofs = [(i, tree.inclusion_proof(i)) for i in (rng.randrange(LEAVES) for _ in range(1000))]
    k = 0

    def verify():
        nonlocal k
        i, path = proofs[k % len(proofs)]
        k += 1
        assert verify_inclusion(leaves[i], i, LEAVES, path, tree.root)

    prove_rate, _ = rate(prove, 2.0)
    verify_rate, _ = rate(verify, 2.0)
    print(f"build {LEAVES:,} leaves: {build:.2f} s ({LEAVES / build:,.0f} leaves/s)")
    print(f"inclusion proofs: {prove_rate:,.0f}/s   verifications: {verify_rate:,.0f}/s")
    emit({"benchmark": "merkle", "leaves": LEAVES, "build_seconds": round(build, 3),
          "leaves_per_second": round(LEAVES / build), "proofs_per_second": round(prove_rate),
          "verifications_per_second": round(verify_rate)})


if __name__ == "__main__":
    main()
