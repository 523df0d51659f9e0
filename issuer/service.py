"""Issue a certificate: validate, number, render, sign, store and enqueue in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from pyhanko.sign.timestamps import TimeStamper

from anchoring.outbox import enqueue
from keys.store import OfficeSigner

from . import audit
from .access import hash_access_code, new_access_code
from .matters import MatterInput, parse_matter
from .models import Certificate, CertificateDocument
from .numbering import format_number, next_serial
from .policy import apply_policies
from .pades import sign_pdf
from .qr import check_code, verify_url
from .render import CertificatePage, render_certificate


@dataclass(frozen=True)
class Office:
    name: str  # 上海市东方公证处
    code: str  # SH-DONGFANG
    abbrev: str  # 沪东


@dataclass(frozen=True)
class IssuerContext:
    """What issuing needs, wired once by the application shell."""

    engine: Engine
    office: Office
    signer: OfficeSigner
    public_base_url: str
    qr_key: bytes
    font_path: Path
    timestamper: TimeStamper | None = None  # None: PAdES B-B


@dataclass(frozen=True)
class IssuedCertificate:
    id: uuid.UUID
    number: str
    verify_url: str
    document_sha256: str
    pdf: bytes = field(repr=False)
    access_code: str = field(repr=False, default="")


def issue_certificate(ctx: IssuerContext, matter_key: str, data: object, *, issue_date: dt.date | None = None,
                      actor: str = "cli", language: str = "zh") -> IssuedCertificate:
    """Issue one certificate. The certificate, its PDF, its outbox row and its audit event
    commit together."""
    matter = parse_matter(matter_key, data)
    with Session(ctx.engine) as s:
        issued = issue_in_session(s, ctx, matter_key, matter, issue_date=issue_date, actor=actor, language=language)
        s.commit()
    return issued


def issue_in_session(s: Session, ctx: IssuerContext, matter_key: str, matter: MatterInput, *,
                     issue_date: dt.date | None = None, supersedes: uuid.UUID | None = None,
                     actor: str = "cli", language: str = "zh") -> IssuedCertificate:
    """Number, render, sign and store a certificate in the caller's transaction (not committed)."""
    issue_date = issue_date or dt.date.today()
    policy = apply_policies(matter, issue_date)  # before a number is taken
    certificate_id = uuid.uuid4()
    code = check_code(ctx.qr_key, certificate_id)
    url = verify_url(ctx.public_base_url, certificate_id, code)
    access_code = new_access_code()
    serial = next_serial(s, ctx.office.code, issue_date.year)
    number = format_number(issue_date.year, ctx.office.abbrev, serial)
    page = CertificatePage(certificate_id, number, ctx.office.name, issue_date, matter, url, code, access_code,
                           bilingual=language == "zh-en")
    pdf = sign_pdf(render_certificate(page, ctx.font_path), ctx.signer, ctx.office.name, ctx.timestamper)
    digest = hashlib.sha256(pdf).digest()
    s.add(Certificate(
        id=certificate_id, number=number, office_code=ctx.office.code, office_name=ctx.office.name,
        year=issue_date.year, serial=serial, matter=matter_key, applicant_name=matter.applicant_name,
        notary=matter.notary, data_json=matter.model_dump_json(), document_sha256=digest.hex(),
        signer_fingerprint=ctx.signer.fingerprint.hex(), check_code=code,
        access_code_hash=hash_access_code(certificate_id, access_code), supersedes=supersedes,
        fee_exempt=policy.fee_exempt, fee_note=policy.fee_note, accepting_office=matter.accepting_office,
        language=language,
    ))
    s.add(CertificateDocument(certificate_id=certificate_id, pdf=pdf))
    enqueue(s, certificate_id, digest, ctx.office.code)
    audit.append(s, actor, "correct" if supersedes else "issue", str(certificate_id),
                 {"number": number, "matter": matter_key, "sha256": digest.hex(),
                  **({"supersedes": str(supersedes)} if supersedes else {})})
    return IssuedCertificate(certificate_id, number, url, digest.hex(), pdf, access_code)


def normalise_number(number: str) -> str:
    """Accept full-width brackets and stray spaces as typed by hand."""
    return number.strip().replace("（", "(").replace("）", ")").replace(" ", "")


def find_by_number(session: Session, number: str) -> Certificate | None:
    return session.exec(select(Certificate).where(Certificate.number == normalise_number(number))).first()


def find_by_digest(session: Session, digests: list[str]) -> Certificate | None:
    """The certificate whose issued PDF has one of these SHA-256 digests."""
    if not digests:
        return None
    return session.exec(select(Certificate).where(Certificate.document_sha256.in_(digests))).first()
