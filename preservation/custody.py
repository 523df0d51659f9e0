"""Custody of preserved files: released only to the person who submitted them, or on a
recorded order (a court's, an arbitration body's), each release in the audit log before the
file is handed out; deleted when their retention period ends, keeping the fingerprint, the
timestamp and the certificate.

A preservation certificate that is revoked does not end the custody: the file is still held
until its retention period ends (a revocation may itself be disputed, and the file is what a
court would then ask for)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from issuer.auth import Principal
from records import audit
from signing import text_safety
from storage.clock import utcnow
from storage.sessions import write_session

from .context import PreservationContext
from .errors import EvidenceNotFound, FileNotKept, FilePurged, InvalidOrder
from .models import PreservedEvidence
from .sealed_files import open_file

ORDER_MAX = 200
PURGE_CHUNK = 200  # rows emptied a transaction: a long purge never holds the database for long


def release_to_submitter(ctx: PreservationContext, principal: Principal,
                         evidence_id: uuid.UUID) -> tuple[PreservedEvidence, bytes]:
    """The file, for the person who submitted it (the same token holder, of this office).
    Anyone else, colleagues and office administrators included, is told there is no such
    evidence (404): the office releases a file to others only on a recorded order."""
    row = _load(ctx.engine, evidence_id)
    if (row is None or row.office_code != principal.office_code or principal.office_code != ctx.office_code
            or row.submitter_holder is None or row.submitter_holder != principal.holder_id):
        raise EvidenceNotFound()
    content = _opened(ctx, row)
    audit.record(ctx.engine, principal.actor, "preservation.release", str(row.id),
                 {"to": "submitter", "sha256": row.sha256, "size": row.size}, office=row.office_code)
    return row, content


def release_on_order(ctx: PreservationContext, evidence_id: uuid.UUID, order_reference: str,
                     actor: str) -> tuple[PreservedEvidence, bytes]:
    """The file, released by the office on an order (``order_reference``: its number and who
    made it, e.g. "(2026)沪0101民初123号 上海市黄浦区人民法院"), recorded with the order in the
    audit log before it is handed out."""
    order = _checked_order(order_reference)
    row = _load(ctx.engine, evidence_id)
    if row is None or row.office_code != ctx.office_code:
        raise EvidenceNotFound()
    content = _opened(ctx, row)
    audit.record(ctx.engine, actor, "preservation.release", str(row.id),
                 {"to": "order", "order": order, "sha256": row.sha256, "size": row.size}, office=row.office_code)
    return row, content


def purge_expired(engine: Engine, office_code: str, today: dt.date, actor: str) -> list[uuid.UUID]:
    """Delete the sealed files of ``office_code`` whose retention ended before ``today`` (a
    file is kept through its last day); their fingerprint, timestamp and certificate stay.
    Each deletion is in the audit log, in the same transaction. Returns the evidence ids."""
    purged: list[uuid.UUID] = []
    expired = (col(PreservedEvidence.office_code) == office_code, col(PreservedEvidence.retention_until) < today,
               col(PreservedEvidence.file_sealed).is_not(None))
    while True:
        with write_session(engine) as s:
            # Ids and what the audit log names, never the files themselves.
            rows = s.exec(select(col(PreservedEvidence.id), col(PreservedEvidence.retention_until),
                                 col(PreservedEvidence.sha256))
                          .where(*expired).limit(PURGE_CHUNK)
                          .with_for_update(skip_locked=True)).all()  # two purges at once: each its own rows
            if not rows:
                return purged
            ids = [r[0] for r in rows]
            s.execute(update(PreservedEvidence).where(col(PreservedEvidence.id).in_(ids), *expired)
                      .values(file_sealed=None, purged_at=utcnow()))
            audit.append_many(s, [(actor, "preservation.purge", str(evidence_id),
                                   {"retention_until": until.isoformat(), "sha256": sha256})
                                  for evidence_id, until, sha256 in rows], office=office_code)
            s.commit()
            purged += ids


def _load(engine: Engine, evidence_id: uuid.UUID) -> PreservedEvidence | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(PreservedEvidence, evidence_id)


def _opened(ctx: PreservationContext, row: PreservedEvidence) -> bytes:
    if row.file_sealed is None:
        raise FilePurged() if row.purged_at is not None else FileNotKept()
    return open_file(ctx.file_key, row.id, row.file_sealed, row.sha256)


def _checked_order(reference: str) -> str:
    """The order reference as recorded: non-empty, at most ORDER_MAX characters, and only
    characters the text policy lets into a record (no control, invisible or bidi ones)."""
    order = reference.strip() if isinstance(reference, str) else ""
    if not order:
        raise InvalidOrder("name the order that asks for the file (its number and who made it)",
                           "请填写要求调取该文件的法律文书（文号及出具机关）")
    if len(order) > ORDER_MAX:
        raise InvalidOrder(f"the order reference is longer than {ORDER_MAX} characters",
                           f"法律文书信息超过 {ORDER_MAX} 个字符")
    found = text_safety.problems(order)
    if found:
        en, zh = text_safety.describe(found)
        raise InvalidOrder(f"order reference: {en}", f"法律文书信息{zh}")
    return order
