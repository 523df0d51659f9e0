"""Receipts (proof bundles): everything needed to check one certificate's anchor against
any node of the chain, with no access to this service."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from .leaf import certificate_leaf
from .merkle import HASH_SIZE, verify_inclusion

RECEIPT_VERSION = "ENOTARY-RECEIPT-V1"


class AnchorReceipt(BaseModel):
    version: str = RECEIPT_VERSION
    certificate_id: uuid.UUID
    document_sha256: str = Field(pattern="^[0-9a-f]{64}$")
    leaf_hash: str = Field(pattern="^[0-9a-f]{64}$")
    leaf_index: int = Field(ge=0)
    tree_size: int = Field(ge=1)
    audit_path: list[str] = Field(max_length=64)
    root: str = Field(pattern="^[0-9a-f]{64}$")
    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    office: str

    def leaf_matches(self) -> bool:
        """The leaf hash is the one computed from the certificate id and document digest."""
        return certificate_leaf(self.certificate_id, bytes.fromhex(self.document_sha256)).hex() == self.leaf_hash

    def proof_valid(self) -> bool:
        try:
            path = [bytes.fromhex(h) for h in self.audit_path]
        except ValueError:
            return False
        if any(len(p) != HASH_SIZE for p in path):
            return False
        return self.leaf_matches() and verify_inclusion(
            bytes.fromhex(self.leaf_hash), self.leaf_index, self.tree_size, path, bytes.fromhex(self.root)
        )


def split_path(blob: bytes | None) -> list[str]:
    blob = blob or b""
    return [blob[i : i + HASH_SIZE].hex() for i in range(0, len(blob), HASH_SIZE)]
