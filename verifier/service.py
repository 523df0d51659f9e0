"""Run every check on a PDF (uploaded, or the stored copy behind a QR code) and build the report."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from anchoring.chain import ZERO32, LedgerEvidence, RegistryClient
from anchoring.mirror import LedgerMirror, MirrorState
from anchoring.receipt import AnchorReceipt
from anchoring.status import anchor_status
from keys.crl import crl_version
from keys.store import OfficeSigner, certificate_fingerprint
from records.lookups import find_by_digest
from records.matters import MATTERS
from records.models import Certificate, CertificateDocument
from records.numbers import mask_number

from .analysis import PdfAnalysis, analyse_pdf
from .document_facts import Basis, DocumentFacts, facts_of_analysis, keep_facts, kept_facts
from .checks import anchor_check, fetch_evidence, ledger_status_check, local_status_check, office_binding_check
from .errors import EmptyUpload, UnknownCertificate
from .intake import check_size
from .microcache import MicroCache
from .report import CertificateSummary, Check, CheckName, CheckStatus, Indication, Report, finish
from .sandbox import ParserPool
from .stored import StoredCertificate, load_one

log = logging.getLogger("notary.verifier")


@dataclass(frozen=True)
class VerifierContext:
    engine: Engine
    trust_roots: list[asn1_x509.Certificate]
    registry: RegistryClient | None
    confirmations: int = 1
    max_upload_bytes: int = 20 * 1024 * 1024
    sandbox: ParserPool | None = None  # None: parse in this process (the CLI's own files)
    cache: MicroCache | None = None  # document analyses by SHA-256
    font_path: Path | None = None  # for the PDF report
    report_signer: OfficeSigner | None = None
    crls: Callable[[], list[bytes]] | None = None  # current revocation lists (DER), read per verification

    mirror: LedgerMirror | None = None  # lookups of stored certificates read the ledger here

    @cached_property
    def trust_roots_der(self) -> list[bytes]:
        return [c.dump() for c in self.trust_roots]

    @cached_property
    def basis(self) -> Basis:
        return Basis(self.trust_roots_der, self.crls)


def analyse(ctx: VerifierContext, data: bytes) -> PdfAnalysis:
    """The document part of the report, from the cache, the sandbox, or in-process."""
    if not data:
        raise EmptyUpload("the uploaded file is empty", "上传的文件是空的")
    check_size(data, ctx.max_upload_bytes)
    crls = ctx.crls() if ctx.crls is not None else []
    # A new CRL is a new question: cached answers are keyed by it too.
    key = (hashlib.sha256(data).hexdigest(), crl_version(crls))
    if ctx.cache is not None and (hit := ctx.cache.get(key)) is not None:
        return hit
    args = (data, ctx.trust_roots_der, ctx.max_upload_bytes, crls)
    result = ctx.sandbox.run(analyse_pdf, *args) if ctx.sandbox is not None else analyse_pdf(*args)
    if ctx.cache is not None:
        ctx.cache.put(key, result)
    return result


def summary(cert: Certificate) -> CertificateSummary:
    matter = MATTERS.get(cert.matter)
    return CertificateSummary(
        id=cert.id, number_masked=mask_number(cert.number), matter=cert.matter,
        matter_zh=matter.title_zh if matter else cert.matter, matter_en=matter.title_en if matter else cert.matter,
        office=cert.office_name,
        issue_date=cert.issued_at.date(), status=cert.status,
    )


def verify_pdf(ctx: VerifierContext, data: bytes, *, as_report: bool = False) -> Report:
    """Full verification of PDF bytes as a certificate, or (``as_report``) as a verification
    report this service signed. Neither ever passes for the other: a genuine report is
    FAILED as a certificate (NOT_A_CERTIFICATE), anything else FAILED as a report. Bad
    input raises a VerifierError (a 4xx)."""
    pdf = analyse(ctx, data)
    checks: list[Check] = [pdf.integrity, pdf.trust, pdf.timestamp]
    report = Report(
        indication=Indication.INDETERMINATE, checks=[], document_sha256=pdf.candidate_digests[0],
        signer=pdf.signer_name, claimed_signing_time=pdf.claimed_time, best_signing_time=pdf.timestamp_time,
    )
    signer_cert = pdf.signer_cert
    fingerprint = certificate_fingerprint(signer_cert) if signer_cert is not None else None
    by_service = ctx.report_signer is not None and fingerprint == ctx.report_signer.fingerprint
    if by_service or as_report:
        return _service_report(report, checks, by_service=by_service, as_report=as_report)
    try:
        with Session(ctx.engine) as s:
            cert = find_by_digest(s, pdf.candidate_digests)
            anchor = anchor_status(s, cert.id) if cert else None
    except SQLAlchemyError:
        log.exception("database unavailable during verification")
        evidence = fetch_evidence(ctx.registry, fingerprint, None)
        office_check, report.office = office_binding_check(evidence, fingerprint, pdf.best_time)
        checks += [office_check, Check.of(CheckName.ANCHOR_INCLUSION, CheckStatus.ERROR, "STATUS_UNKNOWN"),
                   Check.of(CheckName.STATUS, CheckStatus.ERROR, "STATUS_UNKNOWN")]
        return finish(report, checks)

    receipt = anchor.receipt if anchor else None
    # One ledger read for the office binding, the anchor and the revocation status.
    evidence = fetch_evidence(ctx.registry, fingerprint, receipt)
    if evidence is not None:
        report.ledger_block, report.ledger_source = evidence.head_block, "node"
    return finish(report, checks + _ledger_checks(ctx, report, cert, receipt, evidence, fingerprint, pdf.best_time))


def verify_stored(ctx: VerifierContext, stored: StoredCertificate) -> Report:
    """Verify a certificate this service holds (looked up by id, fingerprint or number)
    from the database and the ledger mirror: the document checks of its stored PDF are
    made once and kept (verifier.document_facts), the ledger's word comes from the mirror
    as of the block the report names. Without a mirror (no follower configured), the node
    is read, as for an upload."""
    cert = stored.cert
    facts = document_facts(ctx, stored)
    report = Report(indication=Indication.INDETERMINATE, checks=[], document_sha256=cert.document_sha256,
                    signer=facts.signer_name, claimed_signing_time=facts.claimed_time,
                    best_signing_time=facts.timestamp_time)
    receipt = stored.anchor.receipt if stored.anchor else None
    if ctx.mirror is None:
        evidence = fetch_evidence(ctx.registry, facts.signer_fingerprint, receipt)
        if evidence is not None:
            report.ledger_block, report.ledger_source = evidence.head_block, "node"
        return finish(report, facts.checks + _ledger_checks(ctx, report, cert, receipt, evidence,
                                                            facts.signer_fingerprint, facts.best_time))
    state = ctx.mirror.state()
    evidence = None
    if state is not None and state.current:
        evidence = ctx.mirror.evidence(state, facts.signer_fingerprint or ZERO32,
                                       bytes.fromhex(receipt.root) if receipt else ZERO32,
                                       bytes.fromhex(receipt.leaf_hash) if receipt else ZERO32)
    report.ledger_source = "mirror"
    report.ledger_block = state.block_number if state is not None else None
    checks = _ledger_checks(ctx, report, cert, receipt, evidence, facts.signer_fingerprint, facts.best_time)
    return finish(report, facts.checks + [_mirror_word(c, state, receipt) for c in checks])


def verify_record(ctx: VerifierContext, cert: Certificate) -> Report:
    """``verify_stored`` for a certificate record already in hand (found by its number)."""
    return verify_certificate(ctx, cert.id)


def _mirror_word(check: Check, state: MirrorState | None, receipt: AnchorReceipt | None) -> Check:
    """Say what the mirror could not: it is stale (never "unavailable": the node was not
    asked), it does not know the signing key yet, or it has not yet reached the block of an
    anchor the worker saw confirmed."""
    if check.code == "LEDGER_UNAVAILABLE":
        details = state.as_details() if state is not None else {"why": "the ledger mirror has not started"}
        return Check.of(check.name, CheckStatus.ERROR, "LEDGER_STALE", **details)
    if check.code == "OFFICE_KEY_UNKNOWN" and state is not None:
        # This service signed it, and signs only with a key the node has registered: a key
        # the mirror does not know yet (just rotated) is not yet read, not a forgery.
        return Check.of(check.name, CheckStatus.ERROR, "LEDGER_STALE",
                        **{**state.as_details(), "why": "the ledger mirror does not know the signing key yet"})
    if (check.code == "ANCHOR_NOT_ON_CHAIN" and state is not None and receipt is not None
            and receipt.block_number > state.block_number):
        return Check.of(check.name, CheckStatus.SKIPPED, "ANCHOR_CONFIRMING", **check.details,
                        mirror_block=state.block_number)
    return check


def document_facts(ctx: VerifierContext, stored: StoredCertificate) -> DocumentFacts:
    """The document checks of a stored certificate: kept ones if still good, else made now."""
    basis = ctx.basis.current()
    facts = kept_facts(stored.kept_check, basis)
    if facts is None:
        _, pdf = stored_certificate(ctx, stored.cert.id)
        facts = facts_of_analysis(analyse(ctx, pdf))
        keep_facts(ctx.engine, stored.cert.id, basis, facts)
    return facts


def _ledger_checks(ctx: VerifierContext, report: Report, cert: Certificate | None, receipt: AnchorReceipt | None,
                   evidence: LedgerEvidence | None, fingerprint: bytes | None,
                   best_time: dt.datetime | None) -> list[Check]:
    """office_binding, anchor_inclusion and status, from one reading of the ledger."""
    office_check, report.office = office_binding_check(evidence, fingerprint, best_time)
    checks = [office_check]
    if cert is None:
        return checks + [Check.of(CheckName.ANCHOR_INCLUSION, CheckStatus.INVALID, "ANCHOR_NOT_FOUND"),
                         Check.of(CheckName.STATUS, CheckStatus.SKIPPED, "NOT_CHECKED")]
    report.certificate = summary(cert)
    report.successor_id = cert.superseded_by
    local = local_status_check(cert.status, str(cert.superseded_by) if cert.superseded_by else None,
                               cert.revoked_at, cert.revocation_reason)
    if receipt is None:
        # Not on the ledger yet: only the local record can say whether it was revoked.
        return checks + [Check.of(CheckName.ANCHOR_INCLUSION, CheckStatus.SKIPPED, "ANCHOR_PENDING"),
                         local or Check.of(CheckName.STATUS, CheckStatus.VALID, "NOT_REVOKED")]
    facts_anchor = anchor_check(evidence, receipt, ctx.confirmations, trust_receipt_source=True)
    report.anchor_block_number = facts_anchor.block_number
    report.anchor_block_time = facts_anchor.block_time
    status_check, _successor = ledger_status_check(evidence, local)
    return checks + [facts_anchor.check, status_check]


def stored_certificate(ctx: VerifierContext, certificate_id: uuid.UUID) -> tuple[Certificate, bytes]:
    with Session(ctx.engine) as s:
        cert = s.get(Certificate, certificate_id)
        doc = s.get(CertificateDocument, certificate_id) if cert else None
    if cert is None or doc is None:
        raise UnknownCertificate("no certificate with this id", "查无此公证书")
    return cert, doc.pdf


def stored_record(ctx: VerifierContext, certificate_id: uuid.UUID) -> Certificate:
    """The certificate's record, without its PDF."""
    with Session(ctx.engine) as s:
        cert = s.get(Certificate, certificate_id)
    if cert is None:
        raise UnknownCertificate("no certificate with this id", "查无此公证书")
    return cert


def verify_certificate(ctx: VerifierContext, certificate_id: uuid.UUID) -> Report:
    """Verify the PDF this service issued under ``certificate_id`` (the QR code's target)."""
    stored = load_one(ctx.engine, certificate_id=certificate_id)
    if stored is None:
        raise UnknownCertificate("no certificate with this id", "查无此公证书")
    return verify_stored(ctx, stored)


def verify_digest(ctx: VerifierContext, sha256: str) -> Report:
    """Verify by document fingerprint: the PDF stays with its holder (hashed in the browser).
    A fingerprint this registry never issued is FAILED: nothing genuine has it."""
    stored = load_one(ctx.engine, digest=sha256.lower())
    if stored is None:
        return not_issued_report(sha256.lower())
    return verify_stored(ctx, stored)


def _service_report(report: Report, checks: list[Check], *, by_service: bool, as_report: bool) -> Report:
    """The answer for a document signed with the service's report key, or checked as a
    report. A report is genuine when its signature is intact, chains to the notarial root
    and is the service's; what it says about a certificate is written in it, as of its date.
    Asked as a certificate, a report always FAILS: it is not one, however genuine."""
    if by_service:
        report.document_kind = "verification_report"
    if not as_report:
        return finish(report, checks + [Check.of(CheckName.REPORT_ISSUER, CheckStatus.INVALID, "NOT_A_CERTIFICATE")])
    if not by_service:
        return finish(report, checks + [Check.of(CheckName.REPORT_ISSUER, CheckStatus.INVALID, "NOT_A_SERVICE_REPORT")])
    intact = all(c.status is CheckStatus.VALID for c in checks if c.name in (CheckName.DOCUMENT_INTEGRITY,
                                                                             CheckName.SIGNER_TRUST))
    issuer = (Check.of(CheckName.REPORT_ISSUER, CheckStatus.VALID, "REPORT_SIGNED_BY_SERVICE") if intact
              else Check.of(CheckName.REPORT_ISSUER, CheckStatus.SKIPPED, "NOT_CHECKED"))
    return finish(report, checks + [issuer])


def not_issued_report(sha256: str | None = None) -> Report:
    """The answer for a fingerprint or id this registry never issued: FAILED, as nothing
    genuine has it. Unknown ids and unknown fingerprints get this same answer."""
    checks = [Check.of(name, CheckStatus.SKIPPED, "DOCUMENT_NOT_PROVIDED")
              for name in (CheckName.DOCUMENT_INTEGRITY, CheckName.SIGNER_TRUST, CheckName.TIMESTAMP,
                           CheckName.OFFICE_BINDING)]
    checks += [Check.of(CheckName.ANCHOR_INCLUSION, CheckStatus.INVALID, "ANCHOR_NOT_FOUND"),
               Check.of(CheckName.STATUS, CheckStatus.SKIPPED, "NOT_CHECKED")]
    return finish(Report(indication=Indication.FAILED, checks=[], document_sha256=sha256), checks)
