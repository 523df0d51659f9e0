"""Verify a PDF with its receipt against chain nodes only: no database, no service.

Several nodes may be given; a quorum of them must return the same ledger evidence. A node
that cannot be reached counts as no answer, so too few answers make the report
INDETERMINATE, never FAILED.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter

from asn1crypto import x509 as asn1_x509
from web3.exceptions import Web3Exception

from anchoring.chain import LedgerEvidence, RegistryClient, connect
from anchoring.errors import AnchoringError
from anchoring.receipt import AnchorReceipt
from keys.store import certificate_fingerprint

from .analysis import analyse_pdf
from .checks import anchor_check, ledger_status_check, office_binding_check
from .report import Check, CheckStatus, Report, ordered, overall

log = logging.getLogger("notary.verifier")


def quorum_evidence(rpc_urls: list[str], contract: str, fingerprint: bytes, receipt: AnchorReceipt,
                    quorum: int | None = None, timeout: float = 10.0) -> tuple[LedgerEvidence | None, int]:
    """Ask every node; return the evidence a quorum agrees on (default: a majority) and how
    many nodes agreed. Head blocks differ between nodes and are left out of the comparison."""
    needed = quorum or len(rpc_urls) // 2 + 1
    answers: list[LedgerEvidence] = []
    for url in rpc_urls:
        try:
            client = RegistryClient(connect(url, timeout=timeout), contract)
            if client.chain_id() != receipt.chain_id:
                log.warning("node %s is on chain %d, the receipt on %d", url, client.chain_id(), receipt.chain_id)
                continue
            answers.append(client.evidence(fingerprint, bytes.fromhex(receipt.root), bytes.fromhex(receipt.leaf_hash)))
        except AnchoringError as exc:
            log.warning("node %s: %s", url, exc.message)
        except Web3Exception as exc:  # e.g. no registry at that address on this node
            log.warning("node %s gave no usable answer: %s", url, type(exc).__name__)
    votes = Counter(dataclasses.replace(a, head_block=0) for a in answers)
    if not votes:
        return None, 0
    winner, count = votes.most_common(1)[0]
    if count < needed:
        return None, count
    head = min(a.head_block for a in answers if dataclasses.replace(a, head_block=0) == winner)
    return dataclasses.replace(winner, head_block=head), count


def verify_offline(data: bytes, receipt: AnchorReceipt, rpc_urls: list[str], trust_roots: list[asn1_x509.Certificate],
                   *, confirmations: int = 1, quorum: int | None = None, max_bytes: int = 20 * 1024 * 1024) -> Report:
    pdf = analyse_pdf(data, [c.dump() for c in trust_roots], max_bytes)
    checks: list[Check] = [pdf.integrity, pdf.trust, pdf.timestamp]
    report = Report(indication="INDETERMINATE", checks=[], document_sha256=pdf.candidate_digests[0],
                    signer=pdf.signer_name, claimed_signing_time=pdf.claimed_time,
                    best_signing_time=pdf.timestamp_time)
    signer_cert = pdf.signer_cert
    fingerprint = certificate_fingerprint(signer_cert) if signer_cert is not None else b"\x00" * 32
    evidence, agreeing = quorum_evidence(rpc_urls, receipt.contract, fingerprint, receipt, quorum)
    office_check, report.office = office_binding_check(evidence, signer_cert, pdf.best_time)
    checks.append(office_check)
    if receipt.document_sha256 not in pdf.candidate_digests:
        checks += [Check.of("anchor_inclusion", CheckStatus.INVALID, "RECEIPT_OTHER_DOCUMENT"),
                   Check.of("status", CheckStatus.SKIPPED, "NOT_CHECKED")]
    else:
        anchor = anchor_check(evidence, receipt, confirmations, trust_receipt_source=False)
        anchor.check.details["nodes_agreeing"] = agreeing
        checks.append(anchor.check)
        report.anchor_block_number, report.anchor_block_time = anchor.block_number, anchor.block_time
        checks.append(ledger_status_check(evidence)[0])
    report.checks = ordered(checks)
    report.indication = overall(report.checks)
    return report
