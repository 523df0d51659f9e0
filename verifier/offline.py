"""Verify a PDF with its receipt against chain nodes only: no database, no service.

The ledger is the one pinned by the trust bundle, never the one the receipt names. Several
nodes may be given; they are read at one pinned block and must agree (see
:func:`verifier.standalone.quorum_evidence`, shared so both verifiers count a quorum the
same way). A node that cannot be reached counts as no answer, so too few answers make the
report INDETERMINATE, never FAILED; nodes that disagree make it INDETERMINATE
``NODES_DISAGREE``.
"""

from __future__ import annotations

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509

from anchoring.chain import ZERO32, decode_evidence
from anchoring.receipt import AnchorReceipt
from keys.store import certificate_fingerprint

from . import standalone
from .analysis import PdfAnalysis, analyse_pdf
from .checks import anchor_check, ledger_status_check, office_binding_check
from .report import Check, CheckName, CheckStatus, Indication, Report
from .report import finish as finish_report
from .trust_bundle import TrustBundle


def bundle_roots(bundle: TrustBundle) -> list[asn1_x509.Certificate]:
    _, _, der = asn1_pem.unarmor(bundle.notarial_root_pem.encode())
    return [asn1_x509.Certificate.load(der)]


def verify_offline(data: bytes, receipt: AnchorReceipt, rpc_urls: list[str], bundle: TrustBundle, *,
                   confirmations: int = 1, quorum: int | None = None, max_bytes: int = 20 * 1024 * 1024,
                   timeout: float = 10.0, analysis: PdfAnalysis | None = None) -> Report:
    """The full report from the file, its receipt and a quorum of nodes of the pinned
    ledger. ``quorum`` outside 1..distinct nodes raises ValueError. ``analysis``: the
    file's analysis against the bundle's root, when the caller already made it."""
    pdf = analysis or analyse_pdf(data, [c.dump() for c in bundle_roots(bundle)], max_bytes)
    checks: list[Check] = [pdf.integrity, pdf.trust, pdf.timestamp]
    report = Report(indication=Indication.INDETERMINATE, checks=[], document_sha256=pdf.candidate_digests[0],
                    signer=pdf.signer_name, claimed_signing_time=pdf.claimed_time,
                    best_signing_time=pdf.timestamp_time)

    def finish(*more: Check) -> Report:
        return finish_report(report, checks + list(more))

    if receipt.chain_id != bundle.chain_id or receipt.contract.lower() != bundle.registry.lower():
        return finish(Check.of(CheckName.OFFICE_BINDING, CheckStatus.SKIPPED, "NOT_CHECKED"),
                      Check.of(CheckName.ANCHOR_INCLUSION, CheckStatus.INVALID, "RECEIPT_WRONG_LEDGER",
                               receipt_chain_id=receipt.chain_id, receipt_contract=receipt.contract),
                      Check.of(CheckName.STATUS, CheckStatus.SKIPPED, "NOT_CHECKED"))
    signer_cert = pdf.signer_cert
    fingerprint = certificate_fingerprint(signer_cert) if signer_cert is not None else ZERO32
    problem, raw, pinned, agreeing = standalone.quorum_evidence(
        rpc_urls, standalone.PinnedLedger.from_json(bundle.model_dump()),  # one reading of a bundle for both
        (fingerprint, bytes.fromhex(receipt.root), bytes.fromhex(receipt.leaf_hash)), quorum, timeout)
    evidence = decode_evidence(raw) if raw is not None else None
    office_check, report.office = office_binding_check(evidence, certificate_fingerprint(signer_cert) if signer_cert is not None else None,
                                                       pdf.best_time)
    if problem in ("NODES_DISAGREE", "NO_QUORUM"):
        unsure = dict(nodes_agreeing=agreeing, pinned_block=pinned)
        return finish(Check.of(CheckName.OFFICE_BINDING, CheckStatus.ERROR, problem, **unsure),
                      Check.of(CheckName.ANCHOR_INCLUSION, CheckStatus.ERROR, problem, **unsure),
                      Check.of(CheckName.STATUS, CheckStatus.ERROR, problem, **unsure))
    checks.append(office_check)
    if receipt.document_sha256 not in pdf.candidate_digests:
        return finish(Check.of(CheckName.ANCHOR_INCLUSION, CheckStatus.INVALID, "RECEIPT_OTHER_DOCUMENT"),
                      Check.of(CheckName.STATUS, CheckStatus.SKIPPED, "NOT_CHECKED"))
    anchor = anchor_check(evidence, receipt, confirmations, trust_receipt_source=False)
    anchor.check.details.update(nodes_agreeing=agreeing, pinned_block=pinned)
    report.anchor_block_number, report.anchor_block_time = anchor.block_number, anchor.block_time
    return finish(anchor.check, ledger_status_check(evidence)[0])
