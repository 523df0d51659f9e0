"""A stored certificate with everything a lookup needs, read in one query: its record, the
kept check of its PDF (verifier.document_facts) and its anchor (outbox row and batch)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from anchoring.models import AnchorBatch, OutboxEntry
from anchoring.status import AnchorStatus, status_of
from records.models import Certificate

from .models import DocumentCheck


@dataclass(frozen=True)
class StoredCertificate:
    cert: Certificate
    kept_check: DocumentCheck | None
    anchor: AnchorStatus | None


# Built once: making the statement anew was a third of a lookup's time.
_QUERY = (select(Certificate, DocumentCheck, OutboxEntry, AnchorBatch)
          .outerjoin(DocumentCheck, col(DocumentCheck.certificate_id) == Certificate.id)
          .outerjoin(OutboxEntry, col(OutboxEntry.certificate_id) == Certificate.id)
          .outerjoin(AnchorBatch, col(AnchorBatch.id) == OutboxEntry.batch_id))
_BY_ID = _QUERY.where(col(Certificate.id) == bindparam("id"))
_BY_DIGEST = _QUERY.where(col(Certificate.document_sha256) == bindparam("digest"))
_BY_IDS = _QUERY.where(col(Certificate.id).in_(bindparam("ids", expanding=True)))
_BY_DIGESTS = _QUERY.where(col(Certificate.document_sha256).in_(bindparam("digests", expanding=True)))


def load_stored(engine: Engine, *, ids: Iterable[uuid.UUID] = (), digests: Iterable[str] = ()) -> list[StoredCertificate]:
    """The certificates with these ids or PDF fingerprints (SHA-256, lower-case hex), in no
    particular order; those not found are left out. One round trip for each kind."""
    ids, digests = list(ids), list(digests)
    found: list[Any] = []
    with Session(engine, expire_on_commit=False) as s:
        if ids:
            found += s.execute(_BY_IDS, {"ids": ids}).all()
        if digests:
            found += s.execute(_BY_DIGESTS, {"digests": digests}).all()
        s.expunge_all()
    return _stored(found)


def load_one(engine: Engine, *, certificate_id: uuid.UUID | None = None,
             digest: str | None = None) -> StoredCertificate | None:
    """One certificate by id or by fingerprint; None when there is none."""
    with Session(engine, expire_on_commit=False) as s:
        if certificate_id is not None:
            rows = s.execute(_BY_ID, {"id": certificate_id}).all()
        else:
            rows = s.execute(_BY_DIGEST, {"digest": digest}).all()
        s.expunge_all()
    found = _stored(rows)
    return found[0] if found else None


def _stored(rows: Iterable[Any]) -> list[StoredCertificate]:
    seen: dict[uuid.UUID, StoredCertificate] = {}
    for cert, kept, entry, batch in rows:
        seen.setdefault(cert.id, StoredCertificate(cert, kept, status_of(entry, batch)))
    return list(seen.values())
