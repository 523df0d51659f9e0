"""Drafts (草稿): a certificate prepared, checked and corrected before it is issued.

A draft belongs to one office and is visible only to the notary who started it and the
office's administrators (``owner``: the actor a notary's drafts are limited to, None for
an administrator); it has no number and no signature. Issuing a draft validates it, applies
the office's policies, takes the next number and signs, all in one transaction with the
draft's change of state, so a draft is issued at most once even when two clerks press
the button together.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from errors import NotaryError
from issuer.errors import DraftBeingIssued, DraftNotFound, DraftNotYours, InvalidTransition
from issuer.models import CertificateDraft, DraftState
from records import audit
from records.errors import InvalidMatterData
from records.matters import parse_matter, requestable_matter
from records.models import Owner
from storage.clock import utcnow
from storage.sessions import read_session, write_session

from .policy import apply_policies
from .render import check_translation
from . import claims
from .service import AuditEntry, IssuedCertificate, IssuerContext, issue_parsed


@dataclass(frozen=True)
class DraftProblems:
    """What still stops a draft from being issued (field errors or a policy), or nothing."""

    code: str | None
    message: str | None
    fields: list[dict]
    fee_note: str | None = None  # what the office's rules grant when it is issued (a fee exemption)

    @property
    def ready(self) -> bool:
        return self.code is None


def check_draft(draft: CertificateDraft) -> DraftProblems:
    """Validate the draft as issuing would, without issuing."""
    try:
        matter = parse_matter(draft.matter, json.loads(draft.data_json))
        outcome = apply_policies(matter, dt.date.today())
        if draft.language == "zh-en":  # issuing it would need the English page
            check_translation(matter)
    except InvalidMatterData as exc:
        return DraftProblems(exc.code, exc.message, exc.errors)
    except NotaryError as exc:
        return DraftProblems(exc.code, exc.message, [])
    return DraftProblems(None, None, [], outcome.fee_note)


def create_draft(engine: Engine, office_code: str, matter: str, data: dict, language: str, actor: str, *,
                 holder: uuid.UUID | None = None) -> CertificateDraft:
    """Start a draft; ``holder``: the token holder it belongs to (see ``owner`` below)."""
    requestable_matter(matter)  # an unknown matter, or one the service records itself, is refused at once (422)
    with write_session(engine) as s:
        draft = CertificateDraft(id=uuid.uuid4(), office_code=office_code, matter=matter, language=language,
                                 data_json=json.dumps(data, ensure_ascii=False), created_by=actor,
                                 created_by_holder=holder)
        s.add(draft)
        audit.append(s, actor, "draft.create", str(draft.id), {"matter": matter}, office=office_code)
        s.commit()
        s.refresh(draft)
        return draft


def get_draft(engine: Engine, draft_id: uuid.UUID, office_code: str, *, owner: uuid.UUID | None = None) -> CertificateDraft:
    with read_session(engine) as s:
        return _load(s, draft_id, office_code, owner=owner)


def list_drafts(engine: Engine, office_code: str, state: str | None, limit: int, offset: int, *,
                owner: uuid.UUID | None = None) -> tuple[list[CertificateDraft], int]:
    query = select(CertificateDraft).where(CertificateDraft.office_code == office_code)
    if owner is not None:
        query = query.where(CertificateDraft.created_by_holder == owner)
    if state:
        query = query.where(CertificateDraft.state == state)
    with read_session(engine) as s:
        total = s.exec(select(func.count()).select_from(query.subquery())).one()
        rows = s.exec(query.order_by(col(CertificateDraft.updated_at).desc()).offset(offset).limit(limit)).all()
    return list(rows), total


def update_draft(engine: Engine, draft_id: uuid.UUID, office_code: str, data: dict, language: str | None,
                 actor: str, *, owner: uuid.UUID | None = None,
                 name_notary: Callable[[object], object] | None = None) -> CertificateDraft:
    with write_session(engine) as s:
        draft = _load_open(s, draft_id, office_code, for_update=True, owner=owner)
        if claims.claimed(s, claims.draft_subject(draft_id)):  # being signed as it stands
            raise DraftBeingIssued()
        named = name_notary(data) if name_notary else data
        draft.data_json = json.dumps(named, ensure_ascii=False)
        if language is not None:
            draft.language = language
        draft.updated_at = utcnow()
        s.add(draft)
        audit.append(s, actor, "draft.update", str(draft.id), {}, office=office_code)
        s.commit()
        s.refresh(draft)
        return draft


def discard_draft(engine: Engine, draft_id: uuid.UUID, office_code: str, actor: str, *,
                  owner: uuid.UUID | None = None) -> CertificateDraft:
    with write_session(engine) as s:
        draft = _load_open(s, draft_id, office_code, owner=owner)
        draft.state, draft.updated_at = DraftState.DISCARDED, utcnow()
        s.add(draft)
        audit.append(s, actor, "draft.discard", str(draft.id), {}, office=office_code)
        s.commit()
        s.refresh(draft)
        return draft


def issue_draft(ctx: IssuerContext, draft_id: uuid.UUID, office_code: str, actor: str, *,
                owner: uuid.UUID | None = None, issued_by: Owner | None = None,
                name_notary: Callable[[object], object] | None = None) -> tuple[CertificateDraft, IssuedCertificate]:
    """Issue the draft as a certificate of ``ctx``'s office (validation and policies first).
    ``name_notary``: the issuer's rule for the notary named (Principal.name_as_notary)."""
    with write_session(ctx.engine) as s:
        # A write transaction from its first statement (BEGIN IMMEDIATE on SQLite, a row lock
        # on PostgreSQL): a second click waits here, then finds the draft claimed or issued.
        draft = _load_open(s, draft_id, office_code, for_update=True, owner=owner)
        data = json.loads(draft.data_json)
        requestable_matter(draft.matter)
        matter = parse_matter(draft.matter, name_notary(data) if name_notary else data)
        matter_key, language = draft.matter, draft.language
        subject = claims.draft_subject(draft_id)
        holder = claims.claim(s, subject)
        if holder is None:
            raise DraftBeingIssued()
        s.commit()

    def mark_issued(s: Session, issued: IssuedCertificate) -> list[AuditEntry]:
        row = _load_open(s, draft_id, office_code, for_update=True)
        if not claims.consume(s, subject, holder):  # taken over: this process was judged gone
            raise DraftBeingIssued()
        row.state, row.certificate_id, row.updated_at = DraftState.ISSUED, issued.id, utcnow()
        s.add(row)
        return [("draft.issue", str(row.id), {"certificate": str(issued.id)})]

    try:
        issued = issue_parsed(ctx, matter_key, matter, actor=actor, language=language, issued_by=issued_by,
                              on_store=mark_issued)
    except BaseException:
        claims.release(ctx.engine, subject, holder)
        raise
    with read_session(ctx.engine) as s:
        return _load(s, draft_id, office_code), issued


def _load(s: Session, draft_id: uuid.UUID, office_code: str, for_update: bool = False, *,
          owner: uuid.UUID | None = None) -> CertificateDraft:
    query = select(CertificateDraft).where(CertificateDraft.id == draft_id)
    if for_update:
        query = query.with_for_update()
    draft = s.exec(query).first()
    if draft is None or draft.office_code != office_code:
        # Another office's draft is reported exactly like a missing one.
        raise DraftNotFound("no draft with this id", "没有此草稿")
    if owner is not None and draft.created_by_holder != owner:
        raise DraftNotYours()
    return draft


def _load_open(s: Session, draft_id: uuid.UUID, office_code: str, for_update: bool = False, *,
               owner: uuid.UUID | None = None) -> CertificateDraft:
    draft = _load(s, draft_id, office_code, for_update, owner=owner)
    if draft.state != DraftState.OPEN:
        zh = "已出证" if draft.state == DraftState.ISSUED else "已作废"
        raise InvalidTransition(f"the draft is already {draft.state}", f"该草稿{zh}")
    return draft
