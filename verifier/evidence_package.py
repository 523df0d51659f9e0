"""Verify an evidence package (ASiC-E, ETSI EN 319 162-1) offline: only the package, a
trust bundle and chain node URLs; no database, no service.

The package is refused before any check when it is not a safe container
(verifier.asic_container). Then: the manifest lists every data object with its digest and
nothing else is there; the office's CAdES signature over the manifest holds and chains to
the bundle's notarial root, by the key that signed the certificate (or another the same
office registered on the ledger); the certificate verifies offline with its receipt; the
evidence (file, or its fingerprint file) is what the certificate states, and the RFC 3161
token stamps that fingerprint at the time the certificate states; transaction.json is the
receipt's anchor as the nodes read it; the signed verification report is intact and about
this certificate. An unreachable node leaves the report INDETERMINATE, never FAILED.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from pydantic import ValidationError

from anchoring.chain import ZERO32, decode_evidence
from anchoring.receipt import AnchorReceipt
from keys.store import certificate_fingerprint

from . import standalone
from .analysis import PdfAnalysis, analyse_pdf
from .anchor_transaction import AnchorTransaction, node_readings, receipt_mismatch
from .asic import (
    CERTIFICATE_NAME,
    EVIDENCE_DIR,
    HASH_NAME,
    MANIFEST_NAME,
    RECEIPT_NAME,
    REPORT_NAME,
    SIGNATURE_NAME,
    TIMESTAMP_NAME,
    TRANSACTION_NAME,
    ManifestError,
    parse_manifest,
)
from .asic_container import ContainerLimits, read_container
from .cades import verify_detached, verify_timestamp
from .certified_text import EvidenceClaims, evidence_claims, page_text
from .checks import office_binding_check
from .errors import VerifierError
from .offline import bundle_roots, verify_offline
from .package_report import PackageCheck, PackageCheckName, PackageReport, finish
from .report import CheckName, CheckStatus, Indication, Report
from .report_pdf import VERDICT
from .trust_bundle import TrustBundle

V, I, S, E = CheckStatus.VALID, CheckStatus.INVALID, CheckStatus.SKIPPED, CheckStatus.ERROR  # noqa: E741
N = PackageCheckName
MAX_PDF_BYTES = 20 * 1024 * 1024  # as for an upload
MAX_SMALL_BYTES = 64 * 1024  # receipt, transaction, fingerprint file
_HASH_LINE = re.compile(r"^([0-9a-f]{64})(?:  [^\r\n]+)?\n?$")
VERDICT_LABEL = "结论Verdict:"  # verifier/report_pdf.py's verdict line, spaces removed
KNOWN_OBJECTS = frozenset({CERTIFICATE_NAME, RECEIPT_NAME, TRANSACTION_NAME, TIMESTAMP_NAME, HASH_NAME, REPORT_NAME})


@dataclass
class _Certificate:
    """What the certificate check learned, for the checks after it."""

    receipt: AnchorReceipt | None = None
    analysis: PdfAnalysis | None = None
    report: Report | None = None
    revision: bytes | None = None  # the anchored revision of certificate.pdf

    @property
    def text_trusted(self) -> bool:
        """Its pages are the office's as signed: only then is their text read."""
        return self.report is not None and all(
            self.report.check(name).status is V for name in (CheckName.DOCUMENT_INTEGRITY, CheckName.SIGNER_TRUST))


def verify_package(data: bytes, bundle: TrustBundle, rpc_urls: list[str], *, quorum: int | None = None,
                   confirmations: int = 1, timeout: float = 10.0,
                   limits: ContainerLimits = ContainerLimits()) -> PackageReport:
    """The package's report. Raises a PackageRefused for a container that cannot be read
    safely, and ValueError for no node or a ``quorum`` outside 1..distinct nodes."""
    nodes = len(standalone.distinct_nodes(rpc_urls))
    if nodes == 0:
        raise ValueError("at least one chain node URL is needed")
    if quorum is not None and not 1 <= quorum <= nodes:
        raise ValueError(f"quorum must be between 1 and {nodes}, the number of distinct nodes")
    members = read_container(data, limits).members
    roots = bundle_roots(bundle)
    report = PackageReport(indication=Indication.INDETERMINATE, checks=[],
                           package_sha256=hashlib.sha256(data).hexdigest())
    checks = [PackageCheck.of(N.CONTAINER, V, "CONTAINER_WELL_FORMED", entries=len(members) + 1),
              _manifest_check(members)]
    cert_check, cert = _certificate_check(members, bundle, rpc_urls, roots, quorum, confirmations, timeout)
    checks += [cert_check, _signature_check(members, cert, roots, rpc_urls, bundle, quorum, timeout, report)]
    if cert.receipt is not None:
        report.certificate_id, report.certificate_sha256 = cert.receipt.certificate_id, cert.receipt.document_sha256
    if cert.report is not None:
        report.certificate_report = cert.report
        report.anchor_block_number, report.anchor_block_time = cert.report.anchor_block_number, \
            cert.report.anchor_block_time
    checks += _evidence_checks(members, cert, roots, report)
    checks += [_transaction_check(members, cert, bundle, rpc_urls, quorum, timeout, report),
               _report_check(members, cert, roots)]
    return finish(report, checks)


def _manifest_check(members: dict[str, bytes]) -> PackageCheck:
    """Every data object listed with a matching SHA-256, every listed one present, nothing
    else but the manifest and its signature, and no object a package does not hold."""
    raw = members.get(MANIFEST_NAME)
    if raw is None:
        return PackageCheck.of(N.MANIFEST, I, "MANIFEST_MISSING")
    try:
        manifest = parse_manifest(raw)
    except ManifestError as exc:
        return PackageCheck.of(N.MANIFEST, I, "MANIFEST_MALFORMED", why=str(exc))
    if manifest.signature_name != SIGNATURE_NAME:
        return PackageCheck.of(N.MANIFEST, I, "MANIFEST_SIGNATURE_REFERENCE", reference=manifest.signature_name)
    listed = {entry.name: entry for entry in manifest.entries}
    if any(name.startswith("META-INF/") for name in listed):
        return PackageCheck.of(N.MANIFEST, I, "MANIFEST_MALFORMED", why="a data object inside META-INF")
    missing = sorted(name for name in listed if name not in members)
    if missing:
        return PackageCheck.of(N.MANIFEST, I, "MANIFEST_OBJECT_MISSING", names=missing)
    unlisted = sorted(name for name in members if name not in listed and name not in (MANIFEST_NAME, SIGNATURE_NAME))
    if unlisted:
        return PackageCheck.of(N.MANIFEST, I, "MANIFEST_UNLISTED_OBJECT", names=unlisted)
    unexpected = sorted(name for name in listed if not _expected_object(name))
    if unexpected:
        return PackageCheck.of(N.MANIFEST, I, "MANIFEST_UNEXPECTED_OBJECT", names=unexpected)
    changed = sorted(name for name, entry in listed.items() if hashlib.sha256(members[name]).digest() != entry.sha256)
    if changed:
        return PackageCheck.of(N.MANIFEST, I, "MANIFEST_DIGEST_MISMATCH", names=changed)
    return PackageCheck.of(N.MANIFEST, V, "MANIFEST_MATCHES", objects=sorted(listed))


def _expected_object(name: str) -> bool:
    """A data object the office's packages hold (preservation.evidence_package): one of the
    known names, or a file directly under ``evidence/``. Anything else, even listed and
    signed, is refused: ``Evidence/x`` or ``EVIDENCE/x`` lands in the same folder as the
    evidence on a case-blind disk, a file at the top sits beside it, and the evidence check
    reads ``evidence/`` only, so such a file would travel with a PASSED report unchecked."""
    if name in KNOWN_OBJECTS:
        return True
    return name.startswith(EVIDENCE_DIR) and "/" not in name[len(EVIDENCE_DIR):]


def _certificate_check(members: dict[str, bytes], bundle: TrustBundle, rpc_urls: list[str],
                       roots: list[asn1_x509.Certificate], quorum: int | None, confirmations: int,
                       timeout: float) -> tuple[PackageCheck, _Certificate]:
    """The certificate PDF's offline report with the package's receipt (verifier.offline)."""
    cert = _Certificate()
    pdf, raw_receipt = members.get(CERTIFICATE_NAME), members.get(RECEIPT_NAME)
    if pdf is None:
        return PackageCheck.of(N.CERTIFICATE, I, "CERTIFICATE_MISSING"), cert
    try:
        cert.analysis = analyse_pdf(pdf, [c.dump() for c in roots], MAX_PDF_BYTES)
    except VerifierError as exc:
        return PackageCheck.of(N.CERTIFICATE, I, "CERTIFICATE_UNREADABLE", why=exc.code), cert
    if raw_receipt is None:
        return PackageCheck.of(N.CERTIFICATE, I, "RECEIPT_MISSING"), cert
    try:
        if len(raw_receipt) > MAX_SMALL_BYTES:
            raise ValueError("too large")
        cert.receipt = AnchorReceipt.model_validate_json(raw_receipt)
    except (ValidationError, ValueError) as exc:
        return PackageCheck.of(N.CERTIFICATE, I, "RECEIPT_MALFORMED", why=str(exc).splitlines()[0]), cert
    cert.report = verify_offline(pdf, cert.receipt, rpc_urls, bundle, confirmations=confirmations, quorum=quorum,
                                 max_bytes=MAX_PDF_BYTES, timeout=timeout, analysis=cert.analysis)
    cert.revision = next((pdf[:end] for end in standalone.revision_ends(pdf)
                          if hashlib.sha256(pdf[:end]).hexdigest() == cert.receipt.document_sha256), None)
    first_problem = next((c.code for c in cert.report.checks if c.status not in (V, S)), None)
    code, status = {Indication.PASSED: ("CERTIFICATE_PASSED", V), Indication.FAILED: ("CERTIFICATE_FAILED", I)}.get(
        cert.report.indication, ("CERTIFICATE_INDETERMINATE", E))
    details = {"certificate_id": str(cert.receipt.certificate_id)}
    if first_problem:
        details["first_problem"] = first_problem
    return PackageCheck.of(N.CERTIFICATE, status, code, **details), cert


def _signature_check(members: dict[str, bytes], cert: _Certificate, roots: list[asn1_x509.Certificate],
                     rpc_urls: list[str], bundle: TrustBundle, quorum: int | None, timeout: float,
                     report: PackageReport) -> PackageCheck:
    """The CAdES signature over the manifest: intact, trusted, and the certificate's office's."""
    manifest, signature = members.get(MANIFEST_NAME), members.get(SIGNATURE_NAME)
    if signature is None:
        return PackageCheck.of(N.PACKAGE_SIGNATURE, I, "PACKAGE_SIGNATURE_MISSING")
    if manifest is None:
        return PackageCheck.of(N.PACKAGE_SIGNATURE, S, "NOT_CHECKED")
    facts = verify_detached(manifest, signature, roots)
    if facts.problem is not None or not facts.intact or facts.signer_cert is None:
        return PackageCheck.of(N.PACKAGE_SIGNATURE, I, "PACKAGE_SIGNATURE_BROKEN", why=facts.problem)
    report.package_signer = facts.signer_cert.subject.native.get("common_name")
    report.package_signed_at = facts.signing_time
    if facts.revoked:
        return PackageCheck.of(N.PACKAGE_SIGNATURE, I, "PACKAGE_SIGNER_REVOKED")
    if not facts.trusted:
        return PackageCheck.of(N.PACKAGE_SIGNATURE, I, "PACKAGE_SIGNER_UNTRUSTED", signer=report.package_signer)
    pdf_signer = cert.analysis.signer_cert if cert.analysis is not None else None
    if pdf_signer is None:
        return PackageCheck.of(N.PACKAGE_SIGNATURE, S, "NOT_CHECKED")
    fingerprint = certificate_fingerprint(facts.signer_cert).hex()
    if facts.signer_cert.dump() == pdf_signer.dump():
        return PackageCheck.of(N.PACKAGE_SIGNATURE, V, "PACKAGE_SIGNED_BY_OFFICE", fingerprint=fingerprint)
    return _other_key_of_the_office(facts.signer_cert, facts.signing_time, pdf_signer, rpc_urls, bundle, quorum,
                                    timeout)


def _other_key_of_the_office(signer: asn1_x509.Certificate, signed_at: dt.datetime | None,
                             pdf_signer: asn1_x509.Certificate, rpc_urls: list[str], bundle: TrustBundle,
                             quorum: int | None, timeout: float) -> PackageCheck:
    """A package made after the office rotated its key is signed with the new key: the
    ledger must say both keys are the same office's, the new one valid when it signed."""
    pinned = standalone.PinnedLedger.from_json(bundle.model_dump())
    offices = []
    for cert, when in ((signer, signed_at), (pdf_signer, None)):
        fingerprint = certificate_fingerprint(cert)
        problem, raw, _, _ = standalone.quorum_evidence(rpc_urls, pinned, (fingerprint, ZERO32, ZERO32), quorum,
                                                        timeout)
        if raw is None:
            return PackageCheck.of(N.PACKAGE_SIGNATURE, E, problem or "LEDGER_UNAVAILABLE")
        evidence = decode_evidence(raw)
        binding, _ = office_binding_check(evidence, fingerprint, when)
        if cert is signer and binding.status is not V:
            return PackageCheck.of(N.PACKAGE_SIGNATURE, I, "PACKAGE_SIGNER_OTHER_OFFICE", ledger=binding.code)
        offices.append(evidence.signing_key.office if evidence.signing_key is not None else None)
    if offices[0] is None or offices[0] != offices[1]:
        return PackageCheck.of(N.PACKAGE_SIGNATURE, I, "PACKAGE_SIGNER_OTHER_OFFICE")
    return PackageCheck.of(N.PACKAGE_SIGNATURE, V, "PACKAGE_SIGNED_BY_OFFICE_KEY",
                           fingerprint=certificate_fingerprint(signer).hex())


def _evidence_checks(members: dict[str, bytes], cert: _Certificate, roots: list[asn1_x509.Certificate],
                     report: PackageReport) -> list[PackageCheck]:
    """The evidence and its timestamp against what the certificate's signed text states."""
    files = sorted(name for name in members if name.startswith(EVIDENCE_DIR))
    carried = bool(files) or HASH_NAME in members or TIMESTAMP_NAME in members
    if not cert.text_trusted or cert.revision is None:
        return [PackageCheck.of(N.EVIDENCE, S, "NOT_CHECKED"), PackageCheck.of(N.EVIDENCE_TIMESTAMP, S, "NOT_CHECKED")]
    claims = evidence_claims(cert.revision)
    if claims.kind == "other":
        if carried:
            return [PackageCheck.of(N.EVIDENCE, I, "EVIDENCE_NOT_CERTIFIED"),
                    PackageCheck.of(N.EVIDENCE_TIMESTAMP, S, "NOT_CHECKED")]
        return [PackageCheck.of(N.EVIDENCE, S, "NOT_A_PRESERVATION_CERTIFICATE"),
                PackageCheck.of(N.EVIDENCE_TIMESTAMP, S, "NOT_A_PRESERVATION_CERTIFICATE")]
    if claims.kind != "preservation" or claims.sha256 is None:
        code, status = ("EVIDENCE_STATEMENT_AMBIGUOUS", I) if claims.kind == "ambiguous" else \
            ("EVIDENCE_STATEMENT_UNREADABLE", E)
        return [PackageCheck.of(N.EVIDENCE, status, code), PackageCheck.of(N.EVIDENCE_TIMESTAMP, S, "NOT_CHECKED")]
    report.evidence_sha256 = claims.sha256
    return [_evidence_check(members, files, claims.sha256, report), _timestamp_check(members, claims, roots, report)]


def _evidence_check(members: dict[str, bytes], files: list[str], stated: str, report: PackageReport) -> PackageCheck:
    if len(files) > 1:
        return PackageCheck.of(N.EVIDENCE, I, "EVIDENCE_TWO_FILES", names=files)
    found: list[tuple[str, str]] = [(name, hashlib.sha256(members[name]).hexdigest()) for name in files]
    if HASH_NAME in members:
        line = members[HASH_NAME]
        match = _HASH_LINE.match(line.decode("utf-8", "replace")) if len(line) <= MAX_SMALL_BYTES else None
        if match is None:
            return PackageCheck.of(N.EVIDENCE, I, "EVIDENCE_HASH_FILE_MALFORMED")
        found.append((HASH_NAME, match.group(1)))
    if not found:
        return PackageCheck.of(N.EVIDENCE, S, "EVIDENCE_MISSING", stated=stated)
    report.evidence_member = found[0][0]
    for name, digest in found:
        if digest != stated:
            return PackageCheck.of(N.EVIDENCE, I, "EVIDENCE_MISMATCH", member=name, stated=stated, found=digest)
    kind = "file" if files else "fingerprint"
    size = {"size": len(members[files[0]])} if files else {}
    return PackageCheck.of(N.EVIDENCE, V, "EVIDENCE_MATCHES", sha256=stated, member=found[0][0], kind=kind, **size)


def _timestamp_check(members: dict[str, bytes], claims: EvidenceClaims, roots: list[asn1_x509.Certificate],
                     report: PackageReport) -> PackageCheck:
    token = members.get(TIMESTAMP_NAME)
    if token is None:
        return PackageCheck.of(N.EVIDENCE_TIMESTAMP, S, "EVIDENCE_TIMESTAMP_MISSING")
    assert claims.sha256 is not None and claims.timestamp_time is not None  # a "preservation" reading has both
    facts = verify_timestamp(token, bytes.fromhex(claims.sha256), roots)
    if facts.problem is not None or facts.gen_time is None:
        return PackageCheck.of(N.EVIDENCE_TIMESTAMP, I, "EVIDENCE_TIMESTAMP_INVALID", why=facts.problem)
    if facts.imprint_algorithm != "sha256" or facts.imprint != bytes.fromhex(claims.sha256):
        return PackageCheck.of(N.EVIDENCE_TIMESTAMP, I, "EVIDENCE_TIMESTAMP_OTHER_DATA",
                               stamped=(facts.imprint or b"").hex())
    if not (facts.intact and facts.trusted):
        return PackageCheck.of(N.EVIDENCE_TIMESTAMP, I, "EVIDENCE_TIMESTAMP_INVALID")
    gen_time = facts.gen_time.astimezone(dt.timezone.utc)
    report.evidence_timestamp_time = gen_time
    # The certificate prints the time to the second.
    if gen_time.replace(microsecond=0) != claims.timestamp_time:
        return PackageCheck.of(N.EVIDENCE_TIMESTAMP, I, "EVIDENCE_TIMESTAMP_TIME_MISMATCH",
                               stamped=gen_time.isoformat(), stated=claims.timestamp_time.isoformat())
    return PackageCheck.of(N.EVIDENCE_TIMESTAMP, V, "EVIDENCE_TIMESTAMP_VALID", time=gen_time.isoformat())


def _transaction_check(members: dict[str, bytes], cert: _Certificate, bundle: TrustBundle, rpc_urls: list[str],
                       quorum: int | None, timeout: float, report: PackageReport) -> PackageCheck:
    """transaction.json is the receipt's anchor on the trusted ledger, as its nodes read it."""
    raw = members.get(TRANSACTION_NAME)
    if raw is None:
        return PackageCheck.of(N.TRANSACTION, S, "TRANSACTION_MISSING")
    try:
        if len(raw) > MAX_SMALL_BYTES:
            raise ValueError("too large")
        tx = AnchorTransaction.model_validate_json(raw)
    except (ValidationError, ValueError) as exc:
        return PackageCheck.of(N.TRANSACTION, I, "TRANSACTION_MALFORMED", why=str(exc).splitlines()[0])
    report.transaction_hash = tx.hash
    if cert.receipt is None:
        return PackageCheck.of(N.TRANSACTION, S, "NOT_CHECKED")
    wrong = receipt_mismatch(tx, cert.receipt, bundle)
    if wrong is not None:
        return PackageCheck.of(N.TRANSACTION, I, wrong, tx_hash=tx.hash)
    readings = node_readings(rpc_urls, bundle, tx.hash, timeout)
    needed = quorum or len(standalone.distinct_nodes(rpc_urls)) // 2 + 1
    answers = {r.facts() if r is not None else None for r in readings}
    if not readings:
        return PackageCheck.of(N.TRANSACTION, E, "LEDGER_UNAVAILABLE")
    if len(answers) > 1:
        return PackageCheck.of(N.TRANSACTION, E, "NODES_DISAGREE", nodes_answering=len(readings))
    if len(readings) < needed:
        return PackageCheck.of(N.TRANSACTION, E, "NO_QUORUM", nodes_agreeing=len(readings))
    (answer,) = answers
    if answer is None:
        return PackageCheck.of(N.TRANSACTION, I, "TRANSACTION_NOT_ON_CHAIN", tx_hash=tx.hash)
    if answer != tx.facts():
        return PackageCheck.of(N.TRANSACTION, I, "TRANSACTION_MISMATCH", tx_hash=tx.hash)
    return PackageCheck.of(N.TRANSACTION, V, "TRANSACTION_ON_CHAIN", tx_hash=tx.hash, block_number=tx.block_number,
                           block_time=tx.block_time, nodes_agreeing=len(readings))


def _report_check(members: dict[str, bytes], cert: _Certificate, roots: list[asn1_x509.Certificate]) -> PackageCheck:
    """The signed verification report: intact, trusted, and naming this certificate's
    fingerprint. What it concluded then is shown; the verdict is this report's own."""
    pdf = members.get(REPORT_NAME)
    if pdf is None:
        return PackageCheck.of(N.VERIFICATION_REPORT, S, "VERIFICATION_REPORT_MISSING")
    try:
        analysis = analyse_pdf(pdf, [c.dump() for c in roots], MAX_PDF_BYTES)
    except VerifierError as exc:
        return PackageCheck.of(N.VERIFICATION_REPORT, I, "VERIFICATION_REPORT_BROKEN", why=exc.code)
    if analysis.integrity.status is not V or analysis.trust.status is not V:
        return PackageCheck.of(N.VERIFICATION_REPORT, I, "VERIFICATION_REPORT_BROKEN",
                               why=analysis.integrity.code if analysis.integrity.status is not V else analysis.trust.code)
    if cert.receipt is None:
        return PackageCheck.of(N.VERIFICATION_REPORT, S, "NOT_CHECKED")
    try:
        text = page_text(pdf)
    except Exception:  # noqa: BLE001 - pdfium's errors for a document it cannot lay out
        text = ""
    if cert.receipt.document_sha256 not in text:
        return PackageCheck.of(N.VERIFICATION_REPORT, I, "VERIFICATION_REPORT_OTHER_DOCUMENT")
    verdict = next((value.split()[-1] for value in VERDICT.values() if VERDICT_LABEL + "".join(value.split()) in text),
                   None)
    return PackageCheck.of(N.VERIFICATION_REPORT, V, "VERIFICATION_REPORT_SIGNED", verdict=verdict,
                           signer=analysis.signer_name,
                           signed_at=analysis.best_time.isoformat() if analysis.best_time else None)
