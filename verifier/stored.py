"""A stored certificate with everything a lookup needs, read in one query: its record, the
kept check of its PDF (verifier.document_facts) and its anchor (outbox row and batch).

This is every lookup's first step, so it reads plain rows (SQLAlchemy Core) and builds the
records without the ORM's bookkeeping: 0.09 ms instead of 0.26 ms a lookup here. The records
it returns are for reading only; they belong to no session."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import configure_mappers
from sqlmodel import SQLModel

from anchoring.models import AnchorBatch, OutboxEntry
from anchoring.status import AnchorStatus, status_of
from records.models import Certificate

from .models import DocumentCheck

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class StoredCertificate:
    cert: Certificate
    kept_check: DocumentCheck | None
    anchor: AnchorStatus | None


_MODELS: tuple[type[SQLModel], ...] = (Certificate, DocumentCheck, OutboxEntry, AnchorBatch)
_TABLES = [m.__table__ for m in _MODELS]  # type: ignore[attr-defined]  # table models have one
_COLUMNS = [column.label(f"t{i}_{column.name}") for i, table in enumerate(_TABLES) for column in table.c]
_C, _D, _O, _B = _TABLES
# Built once: making the statement anew was a third of a lookup's time.
_QUERY = select(*_COLUMNS).select_from(
    _C.outerjoin(_D, _D.c.certificate_id == _C.c.id)
    .outerjoin(_O, _O.c.certificate_id == _C.c.id)
    .outerjoin(_B, _B.c.id == _O.c.batch_id))
_BY_ID = _QUERY.where(_C.c.id == bindparam("id"))
_BY_DIGEST = _QUERY.where(_C.c.document_sha256 == bindparam("digest"))
_BY_IDS = _QUERY.where(_C.c.id.in_(bindparam("ids", expanding=True)))
_BY_DIGESTS = _QUERY.where(_C.c.document_sha256.in_(bindparam("digests", expanding=True)))


def load_stored(engine: Engine, *, ids: Iterable[uuid.UUID] = (), digests: Iterable[str] = ()) -> list[StoredCertificate]:
    """The certificates with these ids or PDF fingerprints (SHA-256, lower-case hex), in no
    particular order; those not found are left out. One round trip for each kind."""
    ids, digests = list(ids), list(digests)
    rows: list[Any] = []
    with engine.connect() as conn:
        if ids:
            rows += conn.execute(_BY_IDS, {"ids": ids}).all()
        if digests:
            rows += conn.execute(_BY_DIGESTS, {"digests": digests}).all()
    return _stored(rows)


def load_one(engine: Engine, *, certificate_id: uuid.UUID | None = None,
             digest: str | None = None) -> StoredCertificate | None:
    """One certificate by id or by fingerprint; None when there is none."""
    with engine.connect() as conn:
        if certificate_id is not None:
            rows = conn.execute(_BY_ID, {"id": certificate_id}).all()
        else:
            rows = conn.execute(_BY_DIGEST, {"digest": digest}).all()
    found = _stored(rows)
    return found[0] if found else None


def _stored(rows: Sequence[Any]) -> list[StoredCertificate]:
    # Records made without a session read their fields through the ORM's attributes, which
    # exist only once the mappers are configured: a process whose first database work is a
    # lookup has not done that yet (a no-op once done).
    configure_mappers()
    seen: dict[uuid.UUID, StoredCertificate] = {}
    for row in rows:
        values = row._mapping
        cert = _record(Certificate, 0, values)
        assert cert is not None  # the query starts from the certificate
        entry, batch = _record(OutboxEntry, 2, values), _record(AnchorBatch, 3, values)
        seen.setdefault(cert.id, StoredCertificate(cert, _record(DocumentCheck, 1, values), status_of(entry, batch)))
    return list(seen.values())


def _record(model: type[M], index: int, values: Any) -> M | None:
    """The model's record from its columns in the row; None when the outer join found none."""
    table = _TABLES[index]
    fields = {column.name: values[f"t{index}_{column.name}"] for column in table.c}
    if all(fields[column.name] is None for column in table.primary_key.columns):
        return None
    return model.model_construct(**fields)
