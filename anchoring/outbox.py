"""Enqueue a certificate leaf, inside the caller's (issuing) transaction."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from .leaf import certificate_leaf
from .models import LeafAction, OutboxEntry


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


SUPERSEDED = 255


def enqueue_revocation(session: Session, certificate_id: uuid.UUID, reason: int) -> LeafAction:
    """Record on the ledger, once anchored, that this certificate's leaf is revoked."""
    if not 0 < reason < SUPERSEDED:
        raise ValueError("revocation reason codes are 1..254")
    action = LeafAction(certificate_id=certificate_id, reason=reason)
    session.add(action)
    return action


def enqueue_supersession(session: Session, certificate_id: uuid.UUID, successor_id: uuid.UUID,
                         successor_digest: bytes) -> LeafAction:
    """Record that this certificate was corrected (更正) and replaced by ``successor_id``."""
    action = LeafAction(certificate_id=certificate_id, reason=SUPERSEDED,
                        successor_leaf=certificate_leaf(successor_id, successor_digest).hex())
    session.add(action)
    return action
