"""Tables owned by the issuer: number counters and reservations, change claims, idempotency
records and drafts (the certificate tables themselves are in records.models)."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlmodel import Field, SQLModel

from storage.clock import utcnow


class CertificateCounter(SQLModel, table=True):
    """Last serial number used, per office and year (gap-free numbering)."""

    __tablename__ = "certificate_counter"

    office_code: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    last_serial: int = 0


class NumberReservation(SQLModel, table=True):
    """A serial taken from the counter but not yet on a stored certificate.

    Numbers are reserved in one short transaction, the certificate is rendered and signed
    outside any transaction, and the reservation is consumed in the transaction that stores
    the certificate. ``holder`` is the process signing under this number (processes.holder);
    NULL marks a number given back (signing failed, its holder died) that the next issuance
    takes before the counter moves on, so numbers stay gap-free."""

    __tablename__ = "number_reservation"

    office_code: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    serial: int = Field(primary_key=True)
    holder: str | None = Field(default=None, max_length=120)
    reserved_at: dt.datetime = Field(default_factory=utcnow)


class ChangeClaim(SQLModel, table=True):
    """A certificate being corrected, or a draft being issued, by one process: taken in a
    short transaction before signing and removed in the one that stores the result, so a
    second change made at the same time is refused before it takes a number."""

    __tablename__ = "change_claim"

    subject: str = Field(primary_key=True, max_length=80)  # "certificate:<id>" or "draft:<id>"
    holder: str = Field(max_length=120)
    claimed_at: dt.datetime = Field(default_factory=utcnow)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a request with an Idempotency-Key, per token."""

    __tablename__ = "issuer_idempotency"

    token_id: uuid.UUID = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=100)
    request_sha256: str = Field(max_length=64)
    certificate_id: uuid.UUID
    created_at: dt.datetime = Field(default_factory=utcnow)


class DraftState(StrEnum):
    OPEN = "open"
    ISSUED = "issued"
    DISCARDED = "discarded"


class CertificateDraft(SQLModel, table=True):
    """A certificate being prepared (草稿): no number, no signature, never public. Numbers
    are taken only when a draft is issued, so discarded drafts leave no gaps."""

    __tablename__ = "certificate_draft"

    id: uuid.UUID = Field(primary_key=True)
    office_code: str = Field(max_length=64, index=True)
    matter: str = Field(max_length=40)
    language: str = Field(default="zh", max_length=8)
    data_json: str
    state: str = Field(default=DraftState.OPEN, max_length=16, index=True)
    created_by: str = Field(max_length=120)
    created_by_holder: uuid.UUID | None = Field(default=None, index=True)  # the notary's token holder
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    certificate_id: uuid.UUID | None = Field(default=None, foreign_key="certificate.id")
