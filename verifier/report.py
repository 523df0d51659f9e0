"""The verification report, modelled on ETSI EN 319 102-1 and the EU DSS simple report:
an overall indication and one entry per check, each with a stable code and a message in
Chinese and English."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum

from pydantic import BaseModel, Field

from .messages import message

REPORT_VERSION = "ENOTARY-REPORT-V1"
CHECK_ORDER = ("document_integrity", "signer_trust", "timestamp", "office_binding", "anchor_inclusion", "status")
# A B-B signature has no timestamp: that check may be SKIPPED in a PASSED report.
OPTIONAL_CHECKS = frozenset({"timestamp"})


class Indication(str, Enum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    INDETERMINATE = "INDETERMINATE"


class CheckStatus(str, Enum):
    VALID = "VALID"
    INVALID = "INVALID"
    SKIPPED = "SKIPPED"
    ERROR = "ERROR"


class Check(BaseModel):
    name: str
    status: CheckStatus
    code: str
    message_zh: str
    message_en: str
    details: dict = Field(default_factory=dict)

    @classmethod
    def of(cls, name: str, status: CheckStatus, code: str, **details) -> Check:
        zh, en = message(code)
        return cls(name=name, status=status, code=code, message_zh=zh, message_en=en, details=details)


class CertificateSummary(BaseModel):
    """What a verifier may see without the access code: no personal data."""

    id: uuid.UUID
    number_masked: str
    matter: str
    matter_zh: str
    office: str
    issue_date: dt.date
    status: str


class Report(BaseModel):
    version: str = REPORT_VERSION
    indication: Indication
    checks: list[Check]
    document_sha256: str | None = None
    certificate: CertificateSummary | None = None
    signer: str | None = None
    office: str | None = None
    best_signing_time: dt.datetime | None = Field(None, description="from the RFC 3161 timestamp when there is one")
    claimed_signing_time: dt.datetime | None = Field(None, description="the signer's own claim; not proof")
    anchor_block_number: int | None = None
    anchor_block_time: dt.datetime | None = Field(None, description="the document existed no later than this")
    successor_id: uuid.UUID | None = None
    verified_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


def overall(checks: list[Check]) -> Indication:
    """INVALID anywhere fails; otherwise every required check must be VALID to pass."""
    if any(c.status is CheckStatus.INVALID for c in checks):
        return Indication.FAILED
    for c in checks:
        if c.status is CheckStatus.VALID:
            continue
        if c.status is CheckStatus.SKIPPED and c.name in OPTIONAL_CHECKS:
            continue
        return Indication.INDETERMINATE
    return Indication.PASSED


def ordered(checks: list[Check]) -> list[Check]:
    return sorted(checks, key=lambda c: CHECK_ORDER.index(c.name) if c.name in CHECK_ORDER else len(CHECK_ORDER))
