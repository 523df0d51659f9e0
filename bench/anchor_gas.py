"""Gas per certificate when anchoring in Merkle batches, against anchoring each certificate
alone, measured in the same run on the embedded anvil node.

    .venv/bin/python -m bench.anchor_gas
"""

from __future__ import annotations

import os

from anchoring.merkle import MerkleTree
from bench.common import emit, temp_runtime

BATCH_SIZES = (1, 10, 100, 1_000, 10_000)
ALONE = 20  # single-certificate anchors averaged for the baseline


def main() -> None:
    rt = temp_runtime()
    try:
        reg, account = rt.registry, rt.accounts.anchor
        alone = []
        for _ in range(ALONE):
            leaf = os.urandom(32)
            alone.append(reg.transact(account, "anchor", leaf, 1, os.urandom(32))["gasUsed"])
        baseline = sum(alone) / len(alone)
        print(f"{'batch':>7} {'tx gas':>9} {'gas/cert':>9} {'vs alone':>9}")
        print(f"{'alone':>7} {baseline:>9.0f} {baseline:>9.0f} {1.0:>9.2f}")
        per_cert = {}
        for size in BATCH_SIZES:
            tree = MerkleTree([os.urandom(32) for _ in range(size)])
            gas = reg.transact(account, "anchor", tree.root, size, os.urandom(32))["gasUsed"]
            per_cert[size] = gas / size
            print(f"{size:>7} {gas:>9} {gas / size:>9.1f} {baseline / (gas / size):>8.0f}x")
        emit({"benchmark": "anchor_gas", "gas_alone_per_cert": round(baseline),
              "gas_per_cert": {str(k): round(v, 2) for k, v in per_cert.items()},
              "target_gas_per_cert_at_1000": 50, "meets_target": per_cert[1000] <= 50})
    finally:
        rt.close()


if __name__ == "__main__":
    main()
