"""Preserved files at rest: sealed with AES-GCM (keys.sealing) under a key of their own,
derived from the installation secret, and bound to the evidence's id, so that a sealed file
copied onto another record does not open. Opening also checks the file against the
fingerprint recorded at receipt: a copy that does not match is never handed out."""

from __future__ import annotations

import hashlib
import logging
import uuid

from cryptography.exceptions import InvalidTag

from keys import sealing

from .errors import EvidenceDamaged

log = logging.getLogger("notary.preservation")

PURPOSE = b"notary preserved evidence v1"


def file_key(installation_secret: bytes) -> bytes:
    """The key that seals preserved files (one purpose, one key: keys.sealing)."""
    return sealing.derive_key(installation_secret, PURPOSE)


def _bound_to(evidence_id: uuid.UUID) -> bytes:
    return b"preserved-evidence:" + evidence_id.bytes


def seal_file(key: bytes, evidence_id: uuid.UUID, content: bytes) -> bytes:
    """``content`` sealed for the evidence ``evidence_id``."""
    return sealing.seal(key, content, _bound_to(evidence_id))


def open_file(key: bytes, evidence_id: uuid.UUID, sealed: bytes, sha256: str) -> bytes:
    """The file sealed for ``evidence_id``, checked against its recorded SHA-256 (hex);
    EvidenceDamaged when it does not open or is not the file that was received."""
    try:
        content = sealing.unseal(key, sealed, _bound_to(evidence_id))
    except (InvalidTag, ValueError):
        log.error("preserved evidence %s does not open: altered, moved, or the installation secret changed",
                  evidence_id)
        raise EvidenceDamaged("the sealed file does not open", "保管的文件无法解密") from None
    if hashlib.sha256(content).hexdigest() != sha256:
        log.error("preserved evidence %s opened to bytes that are not the file received", evidence_id)
        raise EvidenceDamaged("the sealed file is not the file received", "保管的文件与收到时不一致")
    return content
