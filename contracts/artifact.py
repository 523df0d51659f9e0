"""The committed build of the registry contract (ABI + bytecode)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CONTRACT_NAME = "NotaryRegistry"
HERE = Path(__file__).resolve().parent
SOURCE = HERE / f"{CONTRACT_NAME}.sol"
ARTIFACT = HERE / "build" / f"{CONTRACT_NAME}.json"


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    abi: list
    bytecode: str  # creation code, 0x-prefixed
    deployed_bytecode: str  # runtime code, 0x-prefixed
    solc_version: str
    source_sha256: str


@lru_cache(maxsize=1)
def load_artifact(path: Path = ARTIFACT) -> ContractArtifact:
    data = json.loads(path.read_text())
    return ContractArtifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        solc_version=data["solcVersion"],
        source_sha256=data["sourceSha256"],
    )
