"""Enqueue a certificate leaf, inside the caller's (issuing) transaction."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from .leaf import certificate_leaf
from .models import OutboxEntry


def enqueue(session: Session, certificate_id: uuid.UUID, document_sha256: bytes, office_code: str) -> OutboxEntry:
    """Add the leaf to the outbox. Does not commit: the issuer commits the certificate and
    its outbox row together, so neither can exist without the other."""
    entry = OutboxEntry(
        certificate_id=certificate_id,
        document_sha256=document_sha256.hex(),
        leaf_hash=certificate_leaf(certificate_id, document_sha256).hex(),
        office_code=office_code,
    )
    session.add(entry)
    return entry
