"""The certificate tables, shared by issuing and verifying: certificates and their signed
PDFs, their status, and who they belong to."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.clock import utcnow


@dataclass(frozen=True)
class Owner:
    """Who a certificate or draft belongs to: a person's name (shown, audited) and, for one
    issued through the API, the holder id shared by that person's tokens. Ownership is by
    holder, never by name: two notaries may share a name."""

    name: str
    holder: uuid.UUID | None = None


class CertificateStatus(StrEnum):
    ISSUED = "issued"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"  # corrected (更正): a new certificate replaces it


class Certificate(SQLModel, table=True):
    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("office_code", "year", "serial", name="uq_certificate_number"),)

    id: uuid.UUID = Field(primary_key=True)
    number: str = Field(max_length=64, unique=True, index=True)
    office_code: str = Field(max_length=64)
    office_name: str = Field(max_length=80)
    year: int
    serial: int
    matter: str = Field(max_length=40, index=True)
    applicant_name: str = Field(max_length=40)
    notary: str = Field(max_length=40)
    # Who issued it: the credential holder's name (API) or the operator (CLI). A notary
    # reads and changes only the certificates they issued (issuer/auth.py).
    issued_by: str | None = Field(default=None, max_length=120)
    issued_by_holder: uuid.UUID | None = Field(default=None, index=True)  # the token holder (Owner.holder)
    data_json: str
    status: str = Field(default=CertificateStatus.ISSUED, max_length=16)
    revocation_reason: int | None = None
    revocation_note: str | None = Field(default=None, max_length=200)
    revoked_at: dt.datetime | None = None
    fee_exempt: bool = False
    fee_note: str | None = Field(default=None, max_length=200)
    accepting_office: str | None = Field(default=None, max_length=80)  # 同城受理、异地出证
    language: str = Field(default="zh", max_length=8)
    # The PAdES level it was signed at (None: issued before it was recorded; read from the PDF).
    pades_level: str | None = Field(default=None, max_length=8)
    supersedes: uuid.UUID | None = Field(default=None, index=True)
    superseded_by: uuid.UUID | None = Field(default=None, index=True)
    document_sha256: str = Field(max_length=64, unique=True, index=True)
    signer_fingerprint: str = Field(max_length=64)
    check_code: str = Field(max_length=16)
    access_code_hash: str | None = Field(default=None, max_length=96)
    issued_at: dt.datetime = Field(default_factory=utcnow)


class CertificateDocument(SQLModel, table=True):
    """The signed PDF as issued, kept apart so listing certificates stays light."""

    __tablename__ = "certificate_document"

    certificate_id: uuid.UUID = Field(primary_key=True, foreign_key="certificate.id")
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
