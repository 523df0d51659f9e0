"""Tables owned by the verifier: registry API keys and the log of their verifications, kept
reports of uploads, and the document checks of stored certificates."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel import Field, SQLModel

from storage.clock import utcnow


class ApiKey(SQLModel, table=True):
    """A key issued to a registry or court system for the batch API. Only its hash is kept."""

    __tablename__ = "verifier_api_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=120)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    items_per_minute: int = 6000
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None  # written at most once a minute


class VerificationLog(SQLModel, table=True):
    """Who verified what, when, with which result (全程留痕), for the offices' records."""

    __tablename__ = "verifier_log"

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: uuid.UUID = Field(index=True, foreign_key="verifier_api_key.id")
    target: str = Field(max_length=80)  # certificate id or document SHA-256
    certificate_id: uuid.UUID | None = Field(default=None, index=True)
    indication: str = Field(max_length=16)
    at: dt.datetime = Field(default_factory=utcnow, index=True)


class VerificationResult(SQLModel, table=True):
    """The report of an uploaded PDF, kept for a day under a random id so that its result
    page has an address: it can be reloaded, switched to English and downloaded as a signed
    report PDF without uploading again. Holds no personal data (see CertificateSummary)."""

    __tablename__ = "verifier_result"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    report_json: str
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)


class DocumentCheck(SQLModel, table=True):
    """The document part of the report for one stored certificate (integrity, signer trust,
    timestamp), as found by a full check of its stored PDF: lookups by id, fingerprint and
    number reuse it instead of parsing the PDF again (verifier.document_facts). ``basis``
    names the trust roots and revocation lists it was found under: another basis, or a
    passed ``valid_until``, means checking again."""

    __tablename__ = "verifier_document_check"

    certificate_id: uuid.UUID = Field(primary_key=True, foreign_key="certificate.id")
    basis: str = Field(max_length=64)
    checked_at: dt.datetime = Field(default_factory=utcnow)
    valid_until: dt.datetime  # checked again from then on
    signer_name: str | None = Field(default=None, max_length=200)
    signer_fingerprint: str | None = Field(default=None, max_length=64)
    claimed_time: dt.datetime | None = None
    timestamp_time: dt.datetime | None = None
    checks_json: str


class ForgeryLead(SQLModel, table=True):
    """A verification that suggests a forgery: a document altered, signed by an unknown key
    or not anchored, or a QR/number lookup of a certificate that does not exist. For the
    regulator's console. No uploaded file is kept, only its hash; no client address."""

    __tablename__ = "verifier_forgery_lead"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    route: str = Field(max_length=40)  # upload, qr, number, fingerprint, batch
    reason: str = Field(max_length=40)  # the failing check's code, or NOT_FOUND
    api_key_id: uuid.UUID | None = Field(default=None, index=True)
    claimed_number: str | None = Field(default=None, max_length=64)
    claimed_office: str | None = Field(default=None, max_length=80)
    certificate_id: uuid.UUID | None = None
    document_sha256: str | None = Field(default=None, max_length=64)
