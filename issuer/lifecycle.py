"""Certificate lifecycle after issuance: revocation (撤销) and correction (更正).

Each change commits together with its ledger action, which the anchoring worker records
on the ledger once the certificate's leaf is anchored; the local status takes effect at
once, the ledger's as soon as the transaction confirms.

A certificate changes status at most once. Changes made at the same time (a revocation and
a correction, two corrections...) queue on the certificate: each takes a row lock on it
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the write session's ``BEGIN IMMEDIATE``
already serialises writers) and reads its status inside that transaction. A revocation
changes the status there and then. A correction, whose successor is signed outside any
transaction, claims the certificate instead (issuer.claims) before taking a number, and
stores the successor and the old certificate's new status in a second transaction that
checks the status again. The first change to commit wins; the others see the new status (or,
for a second correction, the claim) and are refused (``CertificateAlreadyClosed``, 409) with
nothing stored; a correction refused at the store gives its number back."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.outbox import enqueue_revocation, enqueue_supersession
from feed import events as feed_events
from feed.models import EventKind
from issuer.errors import CertificateAlreadyClosed, CertificateBeingChanged
from records import audit
from records.errors import CertificateNotFound, InvalidMatterData
from records.matters import parse_matter, requestable_matter
from records.models import Certificate, CertificateDocument, CertificateStatus, Owner
from records.revocation import RevocationReason
from signing import text_safety
from signing.pades import SignatureLevel, level_of
from storage.clock import utcnow
from storage.sessions import write_session

from .auth import Principal
from . import claims
from .service import AuditEntry, IssuedCertificate, IssuerContext, issue_parsed


def _lock_issued(s: Session, certificate_id: uuid.UUID, office_code: str | None,
                 by: Principal | None, *, correcting: bool = False) -> Certificate:
    """The certificate, locked for this (write) transaction and still 'issued', that ``by``
    may change (None: the CLI's operator). Must be the transaction's first statement: a
    concurrent change waits here until the first commits, then reads the new status (not a
    copy from before) and is refused."""
    # FOR UPDATE on PostgreSQL (SQLite has no row locks and compiles it away: there the
    # write session's BEGIN IMMEDIATE holds the database's write lock from this read on).
    # with_for_update also makes get() read the row afresh, never from the identity map.
    cert = s.get(Certificate, certificate_id, with_for_update=True)
    if cert is None or (office_code is not None and cert.office_code != office_code):
        # Another office's certificate is reported exactly like a missing one.
        raise CertificateNotFound("no certificate with this id", "没有此编号的公证书")
    if by is not None:
        by.check_change(cert)
    if cert.status != CertificateStatus.ISSUED:
        raise CertificateAlreadyClosed(cert.status)
    # A correction under way keeps other corrections out; a revocation goes ahead, and the
    # correction is refused when it stores (issuer.claims).
    if correcting and claims.claimed(s, claims.certificate_subject(cert.id)):
        raise CertificateBeingChanged()
    return cert


def revoke_certificate(engine: Engine, certificate_id: uuid.UUID, reason: RevocationReason, note: str | None = None,
                       *, office_code: str | None = None, by: Principal | None = None,
                       actor: str = "cli") -> Certificate:
    _check_note(note)
    with write_session(engine) as s:
        cert = _lock_issued(s, certificate_id, office_code, by)
        cert.status = CertificateStatus.REVOKED
        cert.revocation_reason, cert.revocation_note, cert.revoked_at = int(reason), note, utcnow()
        s.add(cert)
        enqueue_revocation(s, cert.id, int(reason))
        feed_events.append(s, EventKind.REVOKED, cert.office_code, cert.id, {
            "number": cert.number, "reason": int(reason), "reason_name": reason.name.lower(), "note": note or ""})
        audit.append(s, actor, "revoke", str(cert.id), {"reason": int(reason), "note": note or ""},
                     office=cert.office_code)
        s.commit()
        s.refresh(cert)
        return cert


def _check_note(note: str | None) -> None:
    """A revocation note is shown on the public verification page: the text policy holds
    (no control, direction-override or invisible characters)."""
    found = text_safety.problems(note) if note else []
    if found:
        en, zh = text_safety.describe(found)
        raise InvalidMatterData(f"note: {en}", [{"field": "note", "rule": "character", "message": en,
                                                 "message_zh": "说明" + zh}], "撤销说明" + zh)


def correct_certificate(ctx: IssuerContext, certificate_id: uuid.UUID, data: object, *,
                        office_code: str | None = None, by: Principal | None = None,
                        issue_date: dt.date | None = None, actor: str = "cli", issued_by: Owner | None = None,
                        language: str | None = None, level: str | None = None,
                        name_notary: Callable[[object], object] | None = None) -> IssuedCertificate:
    """Issue the corrected certificate and supersede the old one. The old certificate is
    checked and claimed before the successor takes a number, and the successor is stored
    in the same transaction as the old one's new status: a refused correction takes no
    number and stores nothing.

    The successor keeps the old certificate's matter, language pages and PAdES level unless
    ``language``/``level`` ask otherwise, and its text names the number it corrects.
    ``name_notary``: the corrector's rule for the notary named (Principal.name_as_notary),
    applied once the corrector is known to be allowed."""
    with write_session(ctx.engine) as s:
        old = _lock_issued(s, certificate_id, office_code, by, correcting=True)
        # A preservation certificate states what the office received: typed data cannot correct it.
        requestable_matter(old.matter)
        matter = parse_matter(old.matter, name_notary(data) if name_notary else data)
        level = level or _kept_level(ctx, s, old)
        subject = claims.certificate_subject(old.id)
        holder = claims.claim(s, subject)
        if holder is None:  # cannot happen: _lock_issued checked under the same lock
            raise CertificateBeingChanged()
        old_number, old_matter, old_language = old.number, old.matter, old.language
        s.commit()

    def supersede(s: Session, new: IssuedCertificate) -> list[AuditEntry]:
        # The status is read again under the row lock: the claim keeps other changes out,
        # but a claim taken over (this process judged gone) must not supersede twice.
        cert = s.get(Certificate, certificate_id, with_for_update=True)
        if cert is None or cert.status != CertificateStatus.ISSUED or not claims.consume(s, subject, holder):
            raise CertificateAlreadyClosed(cert.status if cert is not None else CertificateStatus.SUPERSEDED)
        cert.status, cert.superseded_by, cert.revoked_at = CertificateStatus.SUPERSEDED, new.id, utcnow()
        s.add(cert)
        enqueue_supersession(s, cert.id, new.id, bytes.fromhex(new.document_sha256))
        feed_events.append(s, EventKind.CORRECTED, cert.office_code, cert.id, {
            "number": cert.number, "successor_id": str(new.id), "successor_number": new.number})
        return []  # the successor's "correct" event names the certificate it supersedes

    try:
        return issue_parsed(ctx, old_matter, matter, issue_date=issue_date, supersedes=certificate_id, actor=actor,
                            issued_by=issued_by, language=language or old_language, level=level,
                            corrects_number=old_number, on_store=supersede)
    except BaseException:
        claims.release(ctx.engine, subject, holder)
        raise


def _kept_level(ctx: IssuerContext, s: Session, cert: Certificate) -> str:
    """The level ``cert`` was signed at (recorded, or read from the PDF of a certificate
    stored before it was), raised to the office's present default if that is higher."""
    if cert.pades_level:
        level = SignatureLevel(cert.pades_level)
    else:
        doc = s.get(CertificateDocument, cert.id)
        assert doc is not None  # stored with the certificate, in the same transaction, never deleted
        level = level_of(doc.pdf)
    return level if level.at_least(ctx.level) else ctx.level
