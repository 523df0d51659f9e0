"""The certificate leaf of DESIGN.md:
``SHA-256(0x00 || "ENOTARY-LEAF-V1" || certificate id (16 bytes) || document digest (32 bytes))``.

The 0x00 prefix is RFC 9162's leaf prefix, so the leaf *input* is the tag, the id and the
digest, and the leaf hash is what the tree and the contract see.
"""

from __future__ import annotations

import uuid

from .merkle import leaf_hash

LEAF_TAG = b"ENOTARY-LEAF-V1"


def leaf_input(certificate_id: uuid.UUID, document_sha256: bytes) -> bytes:
    if len(document_sha256) != 32:
        raise ValueError("document digest must be 32 bytes of SHA-256")
    return LEAF_TAG + certificate_id.bytes + document_sha256


def certificate_leaf(certificate_id: uuid.UUID, document_sha256: bytes) -> bytes:
    """The leaf hash anchored for one certificate."""
    return leaf_hash(leaf_input(certificate_id, document_sha256))
