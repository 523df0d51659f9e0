"""PAdES B-LT and B-LTA: validation data embedded, archive timestamp, checked with pyHanko."""

from __future__ import annotations

import io
import re

import pytest

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

from issuer.errors import InvalidMatterData
from issuer.matters import EXAMPLES, parse_matter
from issuer.pades import ARCHIVE_TIMESTAMP_FIELD, SIGNATURE_FIELD
from issuer.service import IssueRequest, issue_batch, issue_certificate
from verifier.report import CheckStatus, Indication
from verifier.service import verify_pdf


def _signatures(pdf: bytes):
    reader = PdfFileReader(io.BytesIO(pdf))
    return reader, {s.field_name: s for s in reader.embedded_signatures}


def test_b_lt_embeds_what_validation_needs(runtime_factory):
    rt = runtime_factory(signature_level="B-LT")
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    reader, sigs = _signatures(issued.pdf)
    assert set(sigs) == {SIGNATURE_FIELD}
    dss = DocumentSecurityStore.read_dss(reader)
    assert len(dss.crls) == 1
    # Validated from the document alone: no CRL handed over, nothing fetched, and a missing
    # revocation answer for the office certificate would fail (hard-fail).
    roots = rt.trust_roots
    vc = dss.as_validation_context({"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"})
    status = validate_pdf_signature(sigs[SIGNATURE_FIELD], signer_validation_context=vc, ts_validation_context=vc)
    assert status.intact and status.valid and status.trusted and not status.revoked
    # The same without the embedded data fails for want of revocation information.
    bare = ValidationContext(trust_roots=roots, crls=[], ocsps=[], allow_fetching=False, revocation_mode="require")
    assert not validate_pdf_signature(sigs[SIGNATURE_FIELD], signer_validation_context=bare).trusted
    rt.worker().run_once(force=True)
    assert verify_pdf(rt.verifier_context(), issued.pdf).indication is Indication.PASSED


def test_b_lta_adds_a_valid_archive_timestamp_through_the_signing_pool(runtime_factory):
    rt = runtime_factory(signature_level="B-LTA", signing_processes=1)
    (issued,) = issue_batch(rt.issuer_context(pool=True), [IssueRequest("birth", parse_matter("birth", EXAMPLES["birth"]))])
    reader, sigs = _signatures(issued.pdf)
    assert set(sigs) == {SIGNATURE_FIELD, ARCHIVE_TIMESTAMP_FIELD}
    assert sigs[ARCHIVE_TIMESTAMP_FIELD].sig_object_type == "/DocTimeStamp"
    vc = DocumentSecurityStore.read_dss(reader).as_validation_context({"trust_roots": rt.trust_roots,
                                                                       "allow_fetching": False})
    ts_status = validate_pdf_timestamp(sigs[ARCHIVE_TIMESTAMP_FIELD], validation_context=vc)
    assert ts_status.intact and ts_status.valid and ts_status.trusted
    rt.worker().run_once(force=True)
    report = verify_pdf(rt.verifier_context(), issued.pdf)
    assert report.indication is Indication.PASSED, report
    timestamp = next(c for c in report.checks if c.name == "timestamp")
    # The signature (before the DSS and document timestamp revisions) passes difference analysis.
    integrity = next(c for c in report.checks if c.name == "document_integrity")
    assert integrity.status is CheckStatus.VALID
    assert timestamp.details["level"] == "B-LTA" and timestamp.details["archive_time"]


def test_a_broken_archive_timestamp_is_reported(runtime_factory):
    rt = runtime_factory(signature_level="B-LTA")
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    # The last /Contents hex string is the document timestamp's token: change one digit
    # inside it (not in the zero padding).
    last = list(re.finditer(rb"/Contents <([0-9a-fA-F]+)>", issued.pdf))[-1]
    pos = last.start(1) + 400
    flipped = b"0" if issued.pdf[pos:pos + 1] != b"0" else b"1"
    forged = issued.pdf[:pos] + flipped + issued.pdf[pos + 1:]
    report = verify_pdf(rt.verifier_context(), forged)
    assert report.indication is not Indication.PASSED
    timestamp = next(c for c in report.checks if c.name == "timestamp")
    assert timestamp.code == "ARCHIVE_TIMESTAMP_INVALID" and timestamp.status is CheckStatus.INVALID


def test_a_request_may_ask_for_a_higher_level(runtime_factory):
    from fastapi.testclient import TestClient

    from issuer.auth import Role, create_token
    from notary.app import create_app

    rt = runtime_factory(signing_processes=1)  # default B-T
    mixed = issue_batch(rt.issuer_context(pool=True), [
        IssueRequest("birth", parse_matter("birth", EXAMPLES["birth"])),
        IssueRequest("will", parse_matter("will", EXAMPLES["will"]), level="B-LTA"),
    ])
    assert set(_signatures(mixed[0].pdf)[1]) == {SIGNATURE_FIELD}
    assert set(_signatures(mixed[1].pdf)[1]) == {SIGNATURE_FIELD, ARCHIVE_TIMESTAMP_FIELD}

    token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
    client = TestClient(create_app(rt))
    headers = {"Authorization": f"Bearer {token}"}
    body = {"matter": "birth", "data": EXAMPLES["birth"]}
    r = client.post("/api/v1/certificates", json={**body, "level": "B-LT"}, headers=headers)
    assert r.status_code == 201, r.text
    pdf = client.get(f"/api/v1/certificates/{r.json()['id']}/pdf", headers=headers).content
    reader, sigs = _signatures(pdf)
    assert set(sigs) == {SIGNATURE_FIELD} and len(DocumentSecurityStore.read_dss(reader).crls) == 1
    for level in ("B-B", "B-Q"):  # below the office's level, or no such level
        refused = client.post("/api/v1/certificates", json={**body, "level": level}, headers=headers)
        assert refused.status_code == 422, level
    with pytest.raises(InvalidMatterData):
        issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"], level="B-B")


def test_a_b_b_office_cannot_promise_long_term_levels(runtime_factory):
    rt = runtime_factory(signature_level="B-B")
    with pytest.raises(InvalidMatterData) as exc:
        issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"], level="B-LTA")
    assert exc.value.errors[0]["field"] == "level"
