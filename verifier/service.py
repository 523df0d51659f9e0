"""Run every check on a PDF (uploaded, or the stored copy behind a QR code) and build the report."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from anchoring.chain import RegistryClient
from anchoring.status import anchor_status
from issuer.matters import MATTERS
from issuer.models import Certificate, CertificateDocument, CertificateStatus
from issuer.numbering import mask_number
from issuer.service import find_by_digest

from .checks import AnchorFacts, anchor_check, ledger_status_check, office_binding_check, signature_checks
from .errors import UnknownCertificate
from .intake import open_signed_pdf
from .report import CertificateSummary, Check, CheckStatus, Report, ordered, overall

log = logging.getLogger("notary.verifier")


@dataclass(frozen=True)
class VerifierContext:
    engine: Engine
    trust_roots: list[asn1_x509.Certificate]
    registry: RegistryClient | None
    confirmations: int = 1
    max_upload_bytes: int = 20 * 1024 * 1024


def summary(cert: Certificate) -> CertificateSummary:
    matter = MATTERS.get(cert.matter)
    return CertificateSummary(
        id=cert.id, number_masked=mask_number(cert.number), matter=cert.matter,
        matter_zh=matter.title_zh if matter else cert.matter, office=cert.office_name,
        issue_date=cert.issued_at.date(), status=cert.status,
    )


def verify_pdf(ctx: VerifierContext, data: bytes) -> Report:
    """Full verification of PDF bytes. Bad input raises a VerifierError (a 4xx)."""
    pdf = open_signed_pdf(data, ctx.max_upload_bytes)
    sig = next((s for s in pdf.signatures if s.sig_object_type == "/Sig"), pdf.signatures[0])
    facts = signature_checks(sig, ctx.trust_roots)
    checks: list[Check] = [facts.integrity, facts.trust, facts.timestamp]
    office_check, office_name = office_binding_check(ctx.registry, facts.signer_cert, facts.best_time)
    checks.append(office_check)

    report = Report(
        indication="INDETERMINATE", checks=[], document_sha256=pdf.candidate_digests()[0],
        signer=facts.signer_name, office=office_name, claimed_signing_time=facts.claimed_time,
        best_signing_time=facts.timestamp_time,
    )
    try:
        with Session(ctx.engine) as s:
            cert = find_by_digest(s, pdf.candidate_digests())
            anchor = anchor_status(s, cert.id) if cert else None
    except SQLAlchemyError:
        log.exception("database unavailable during verification")
        checks += [Check.of("anchor_inclusion", CheckStatus.ERROR, "STATUS_UNKNOWN"),
                   Check.of("status", CheckStatus.ERROR, "STATUS_UNKNOWN")]
        return _finish(report, checks)

    if cert is None:
        checks += [Check.of("anchor_inclusion", CheckStatus.INVALID, "ANCHOR_NOT_FOUND"),
                   Check.of("status", CheckStatus.SKIPPED, "NOT_CHECKED")]
        return _finish(report, checks)

    report.certificate = summary(cert)
    if anchor is None or anchor.receipt is None:
        facts_anchor = AnchorFacts(Check.of("anchor_inclusion", CheckStatus.SKIPPED, "ANCHOR_PENDING"))
        leaf_hash = None
    else:
        facts_anchor = anchor_check(ctx.registry, anchor.receipt, ctx.confirmations, trust_receipt_source=True)
        leaf_hash = anchor.receipt.leaf_hash
    checks.append(facts_anchor.check)
    report.anchor_block_number = facts_anchor.block_number
    report.anchor_block_time = facts_anchor.block_time

    if leaf_hash is None:
        # Not on the ledger yet: only the local record can say whether it was revoked.
        revoked = cert.status == CertificateStatus.REVOKED
        checks.append(Check.of("status", CheckStatus.INVALID if revoked else CheckStatus.VALID,
                               "REVOKED" if revoked else "NOT_REVOKED"))
    else:
        status_check, _successor = ledger_status_check(ctx.registry, leaf_hash, cert.status == CertificateStatus.REVOKED)
        checks.append(status_check)
    return _finish(report, checks)


def _finish(report: Report, checks: list[Check]) -> Report:
    report.checks = ordered(checks)
    report.indication = overall(report.checks)
    return report


def stored_certificate(ctx: VerifierContext, certificate_id: uuid.UUID) -> tuple[Certificate, bytes]:
    with Session(ctx.engine) as s:
        cert = s.get(Certificate, certificate_id)
        doc = s.get(CertificateDocument, certificate_id) if cert else None
    if cert is None or doc is None:
        raise UnknownCertificate("no certificate with this id", "查无此公证书")
    return cert, doc.pdf


def verify_certificate(ctx: VerifierContext, certificate_id: uuid.UUID) -> Report:
    """Verify the PDF this service issued under ``certificate_id`` (the QR code's target)."""
    _, pdf = stored_certificate(ctx, certificate_id)
    return verify_pdf(ctx, pdf)
