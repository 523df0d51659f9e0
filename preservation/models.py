"""The preserved evidence: what was received, when, from whom, and the file (sealed) if it
was submitted."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel

from storage.clock import utcnow


class PreservedEvidence(SQLModel, table=True):
    __tablename__ = "preserved_evidence"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    certificate_id: uuid.UUID | None = Field(default=None, unique=True)  # the 保全证书, once issued
    office_code: str = Field(max_length=64, index=True)
    submitter_token_id: uuid.UUID
    submitter_holder: uuid.UUID | None = Field(default=None, index=True)
    submitter_name: str = Field(max_length=120)
    sha256: str = Field(max_length=64, index=True)
    size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    file_name: str | None = Field(default=None, max_length=200)
    description: str = Field(max_length=500)
    received_at: dt.datetime = Field(default_factory=utcnow)
    timestamp_token: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # RFC 3161 TimeStampToken (DER)
    timestamp_time: dt.datetime
    file_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    retention_until: dt.date
    purged_at: dt.datetime | None = None
