"""What a submitter (or the office) may see of preserved evidence: its record and its
certificate, never the file (custody.py releases that). The sealed bytes are never read
here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from issuer.auth import Principal, Role
from records import audit
from records.models import Certificate

from .errors import EvidenceNotFound
from .models import PreservedEvidence


@dataclass(frozen=True)
class EvidenceView:
    """A preserved evidence's record (its ``file_sealed`` not loaded), whether the office
    still holds the file, and its certificate."""

    evidence: PreservedEvidence
    file_held: bool
    certificate: Certificate | None


def _query():
    held = col(PreservedEvidence.file_sealed).is_not(None).label("held")
    return (select(PreservedEvidence, held, Certificate)
            .outerjoin(Certificate, col(Certificate.id) == col(PreservedEvidence.certificate_id))
            .options(defer(PreservedEvidence.file_sealed)))  # type: ignore[arg-type]  # a column attribute


def list_own(engine: Engine, principal: Principal, limit: int, offset: int) -> tuple[list[EvidenceView], int]:
    """The evidence this person submitted (the token holder's), newest first, and how many."""
    if principal.holder_id is None:
        return [], 0
    mine = (PreservedEvidence.office_code == principal.office_code,
            PreservedEvidence.submitter_holder == principal.holder_id)
    return _page(engine, mine, limit, offset)


def list_office(engine: Engine, office_code: str, limit: int, offset: int) -> tuple[list[EvidenceView], int]:
    """Every evidence of the office, newest first (the command line's listing)."""
    return _page(engine, (PreservedEvidence.office_code == office_code,), limit, offset)


def read_one(engine: Engine, principal: Principal, evidence_id: uuid.UUID) -> EvidenceView:
    """One evidence's record: for the person who submitted it, and for the office
    administrators of its office (their reading is audited). Anyone else: EvidenceNotFound."""
    with Session(engine) as s:
        found = s.exec(_query().where(PreservedEvidence.id == evidence_id)).first()
    if found is None:
        raise EvidenceNotFound()
    view = EvidenceView(*found)
    row = view.evidence
    own = row.submitter_holder is not None and row.submitter_holder == principal.holder_id
    if row.office_code != principal.office_code or not (own or principal.role == Role.OFFICE_ADMIN):
        raise EvidenceNotFound()
    if not own:  # the submitter's name, the file's name and description: who read them is recorded
        audit.record(engine, principal.actor, "preservation.read", str(row.id), {}, office=row.office_code)
    return view


def _page(engine: Engine, where: tuple, limit: int, offset: int) -> tuple[list[EvidenceView], int]:
    with Session(engine) as s:
        total = s.exec(select(func.count()).select_from(PreservedEvidence).where(*where)).one()
        rows = s.exec(_query().where(*where).order_by(col(PreservedEvidence.received_at).desc())
                      .offset(offset).limit(limit)).all()
    return [EvidenceView(*r) for r in rows], total
