"""The verification report, modelled on ETSI EN 319 102-1 and the EU DSS simple report:
an overall indication and one entry per check, each with a stable code and a message in
Chinese and English."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum, StrEnum

from pydantic import BaseModel, Field

from observability.metrics import VERIFICATIONS
from records.revocation import REASON_CODES

from .messages import MESSAGES, message

REPORT_VERSION = "ENOTARY-REPORT-V1"
class CheckName(StrEnum):
    """The checks of a report, in the order they are reported."""

    DOCUMENT_INTEGRITY = "document_integrity"
    SIGNER_TRUST = "signer_trust"
    TIMESTAMP = "timestamp"
    OFFICE_BINDING = "office_binding"
    ANCHOR_INCLUSION = "anchor_inclusion"
    STATUS = "status"
    REPORT_ISSUER = "report_issuer"  # only for a verification report the service signed


CHECK_ORDER = tuple(CheckName)
# A B-B signature has no timestamp: that check may be SKIPPED in a PASSED report.
OPTIONAL_CHECKS = frozenset({CheckName.TIMESTAMP})


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
    name: CheckName
    status: CheckStatus
    code: str = Field(description="a stable code; its meaning in both languages is in message_zh and message_en",
                      json_schema_extra={"enum": [*sorted(MESSAGES)]})  # a list display: mypy sees JSON values
    message_zh: str
    message_en: str
    details: dict = Field(default_factory=dict)

    @classmethod
    def of(cls, name: CheckName, status: CheckStatus, code: str, **details) -> Check:
        zh, en = message(code)
        return cls(name=name, status=status, code=code, message_zh=zh, message_en=en, details=details)


class CertificateSummary(BaseModel):
    """What a verifier may see without the access code: no personal data."""

    id: uuid.UUID
    number_masked: str
    matter: str
    matter_zh: str
    matter_en: str = ""
    office: str
    issue_date: dt.date
    status: str


class Revocation(BaseModel):
    """When and why a certificate stopped being in force (public: no personal data; the
    clerk's free-text note is shown only with the access code)."""

    kind: str = Field(description="revoked, or superseded (corrected)")
    at: dt.datetime | None = Field(default=None, description="when, from this service's record")
    reason_code: int | None = Field(default=None, description="the ledger's reason code: " + REASON_CODES)
    reason_zh: str
    reason_en: str
    ledger_block: int | None = Field(default=None, description="the block that recorded it on the ledger, once it has")
    successor_id: uuid.UUID | None = None


class Report(BaseModel):
    version: str = REPORT_VERSION
    document_kind: str = Field(default="certificate",
                               description="certificate, or verification_report: a report this "
                                           "service signed (its checks are about the report itself)")
    indication: Indication
    checks: list[Check]
    document_sha256: str | None = None
    certificate: CertificateSummary | None = None
    signer: str | None = None
    office: str | None = None
    best_signing_time: dt.datetime | None = Field(default=None,
                                                  description="from the RFC 3161 timestamp when there is one")
    claimed_signing_time: dt.datetime | None = Field(default=None, description="the signer's own claim; not proof")
    anchor_block_number: int | None = None
    anchor_block_time: dt.datetime | None = Field(default=None, description="the document existed no later than this")
    successor_id: uuid.UUID | None = None
    revocation: Revocation | None = Field(default=None, description="set when the certificate was revoked or corrected")
    ledger_block: int | None = Field(default=None, description="the ledger block that the office, anchor and status "
                                     "checks read: the node's head, or the ledger mirror's block")
    ledger_source: str | None = Field(default=None, description="node (read for this report: uploads) or mirror "
                                      "(the ledger as this service mirrors it: lookups by id, fingerprint or number)")
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


def finish(report: Report, checks: list[Check]) -> Report:
    """Put the checks in order, decide the indication and say how the certificate was
    revoked or corrected, if it was (from the status check)."""
    report.checks = ordered(checks)
    report.indication = overall(report.checks)
    status = next((c for c in report.checks if c.name == CheckName.STATUS), None)
    report.revocation = revocation_from(status, report.successor_id)
    first_problem = next((c.code for c in report.checks if c.status is not CheckStatus.VALID
                          and c.status is not CheckStatus.SKIPPED), "OK")
    VERIFICATIONS.labels(report.indication.value, first_problem).inc()
    return report


def revocation_from(status: Check | None, successor_id: uuid.UUID | None = None) -> Revocation | None:
    """When and why, from a status check that found the certificate revoked or corrected."""
    if status is None or status.code not in ("REVOKED", "SUPERSEDED"):
        return None
    d = status.details
    return Revocation(kind="revoked" if status.code == "REVOKED" else "superseded", at=d.get("revoked_at"),
                      reason_code=d.get("reason"), reason_zh=d["reason_zh"], reason_en=d["reason_en"],
                      ledger_block=d.get("block_number"), successor_id=d.get("successor_id") or successor_id)
