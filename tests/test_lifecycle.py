"""Revocation and correction: the local status takes effect at once, the ledger records it
once the leaf is anchored, and verification without this service sees it too."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from anchoring.leaf import certificate_leaf
from anchoring.models import LeafAction, LeafActionState
from anchoring.status import anchor_status
from records.errors import CertificateNotFound
from issuer.errors import InvalidTransition
from issuer.lifecycle import RevocationReason, correct_certificate, revoke_certificate
from records.matters import EXAMPLES
from records.models import Certificate, CertificateStatus
from issuer.service import issue_certificate
from notary.app import create_app
from verifier import standalone
from verifier.report import Indication
from verifier.service import verify_pdf


def test_revoke_before_and_after_anchoring(sqlite_runtime):
    rt = sqlite_runtime
    ctx = rt.issuer_context()
    issued, neighbour = (issue_certificate(ctx, "birth", EXAMPLES["birth"]) for _ in range(2))
    revoke_certificate(rt.engine, issued.id, RevocationReason.ISSUED_IN_ERROR, "wrong birth place")
    report = verify_pdf(rt.verifier_context(), issued.pdf)
    assert report.indication is Indication.FAILED and report.check("status").code == "REVOKED"
    with pytest.raises(InvalidTransition):
        revoke_certificate(rt.engine, issued.id, RevocationReason.OTHER)
    with pytest.raises(CertificateNotFound):  # another office cannot touch it
        revoke_certificate(rt.engine, neighbour.id, RevocationReason.OTHER, office_code="SH-XUHUI")

    assert rt.worker().run_once(force=True) == 2  # anchors both, then records the revocation
    with Session(rt.engine) as s:
        action = s.exec(select(LeafAction)).one()
        receipt = anchor_status(s, issued.id).receipt
        neighbour_receipt = anchor_status(s, neighbour.id).receipt
    assert action.state == LeafActionState.DONE and action.tx_hash
    assert rt.registry.get_leaf_status(rt.worker().office_number, bytes.fromhex(receipt.leaf_hash)).reason == 1
    # Seen without this service: the ledger alone says revoked, the neighbour is fine.
    url = rt.settings.rpc_url
    ledger = standalone.PinnedLedger.from_json(json.loads(rt.trust_bundle().to_json()))
    assert standalone.check(issued.pdf, json.loads(receipt.model_dump_json()), ledger, [url]).code == "REVOKED"
    assert standalone.check(neighbour.pdf, json.loads(neighbour_receipt.model_dump_json()), ledger,
                            [url]).indication == "PASSED"
    assert rt.worker().run_once() == 0  # nothing sent twice
    assert verify_pdf(rt.verifier_context(), neighbour.pdf).indication is Indication.PASSED


def test_correction_supersedes_and_links_the_successor(sqlite_runtime):
    rt = sqlite_runtime
    ctx = rt.issuer_context()
    old = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    corrected = correct_certificate(ctx, old.id, {**EXAMPLES["birth"], "birth_place": "上海市静安区"})
    assert corrected.number != old.number
    with Session(rt.engine) as s:
        assert s.get(Certificate, old.id).status == CertificateStatus.SUPERSEDED
        assert s.get(Certificate, corrected.id).supersedes == old.id
    report = verify_pdf(rt.verifier_context(), old.pdf)
    assert report.indication is Indication.FAILED and report.check("status").code == "SUPERSEDED"
    assert report.successor_id == corrected.id
    rt.worker().run_once(force=True)
    with Session(rt.engine) as s:
        old_receipt = anchor_status(s, old.id).receipt
    st = rt.registry.get_leaf_status(rt.worker().office_number, bytes.fromhex(old_receipt.leaf_hash))
    assert st.reason == 255
    assert st.successor == certificate_leaf(corrected.id, bytes.fromhex(corrected.document_sha256))
    assert verify_pdf(rt.verifier_context(), corrected.pdf).indication is Indication.PASSED
    with pytest.raises(InvalidTransition):
        correct_certificate(ctx, old.id, EXAMPLES["birth"])

    client = TestClient(create_app(rt))
    page = client.get(old.verify_url.split("8000", 1)[1])
    assert 'id="successor"' in page.text and f"/v/{corrected.id}?c=" in page.text
