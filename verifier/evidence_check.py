"""Check a file against a preservation certificate (保全证书): is it the file the office
preserved, and since when has it existed? The fingerprint preserved is in the certificate's
own data (its matter, as issued); the certificate itself is verified as any other (signature,
office, anchor, status), so a revoked one, or one still waiting for its anchor, says so.

Without the certificate's access code the answer holds no personal data: whether the file
matches, when it was received and timestamped, and the certificate's public report."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import AsyncIterator

from pydantic import BaseModel, Field

from records.matters.evidence import EvidencePreservationInput
from records.models import Certificate

from .errors import EmptyUpload, NotAPreservationCertificate, UnknownCertificate
from .full_record import CertificateRecord, full_record
from .intake import upload_too_large
from .report import Report
from .service import VerifierContext, summary, verify_stored
from .stored import load_one

MATTER = EvidencePreservationInput.key


class EvidenceAnswer(BaseModel):
    """The answer to "is this the preserved file?"."""

    certificate_id: uuid.UUID
    matches: bool = Field(description="the file (or fingerprint) checked is the one the certificate preserves")
    sha256: str = Field(description="the SHA-256 checked")
    received_at: dt.datetime = Field(description="when the office received the preserved file or its fingerprint")
    timestamp_time: dt.datetime = Field(description="the RFC 3161 timestamp over the preserved fingerprint: the file "
                                        "existed no later than this")
    anchor_block_time: dt.datetime | None = Field(None, description="the certificate's anchor on the ledger, once "
                                                  "anchored: a second, independent 'no later than'")
    anchor_block_number: int | None = None
    file_kept: bool = Field(description="the office keeps the file itself (else only its fingerprint)")
    report: Report = Field(description="the preservation certificate's own verification: valid, revoked, pending")
    record: CertificateRecord | None = Field(None, description="the full record, with the access code only")


def preserved(cert: Certificate) -> EvidencePreservationInput:
    """What the certificate preserved, as issued (NotAPreservationCertificate otherwise)."""
    if cert.matter != MATTER:
        raise NotAPreservationCertificate()
    # A stored record is read as it was issued, even if the text rules tightened since.
    return EvidencePreservationInput.model_validate(json.loads(cert.data_json), context={"stored_record": True})


def check_evidence(ctx: VerifierContext, certificate_id: uuid.UUID, sha256: str, *,
                   with_record: bool = False) -> EvidenceAnswer:
    """Compare ``sha256`` (hex) with the fingerprint the certificate preserved, and verify
    the certificate. ``with_record``: the caller has opened the record with its access code."""
    stored = load_one(ctx.engine, certificate_id=certificate_id)
    if stored is None:
        raise UnknownCertificate("no certificate with this id", "查无此公证书")
    evidence = preserved(stored.cert)
    report = verify_stored(ctx, stored)
    return EvidenceAnswer(
        certificate_id=certificate_id, matches=sha256.lower() == evidence.evidence_sha256, sha256=sha256.lower(),
        received_at=evidence.received_at, timestamp_time=evidence.timestamp_time,
        anchor_block_time=report.anchor_block_time, anchor_block_number=report.anchor_block_number,
        file_kept=evidence.file_kept, report=report,
        record=full_record(stored.cert, summary(stored.cert)) if with_record else None)


async def hash_stream(chunks: AsyncIterator[bytes], max_bytes: int) -> str:
    """SHA-256 (hex) of a file read in chunks, never held whole; UploadTooLarge past
    ``max_bytes``, EmptyUpload for an empty file (what a form sends when none was chosen)."""
    digest, size = hashlib.sha256(), 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise upload_too_large(max_bytes)
        digest.update(chunk)
    if size == 0:
        raise EmptyUpload("the file is empty, or none was chosen", "文件为空，或未选择文件")
    return digest.hexdigest()

