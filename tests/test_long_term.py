"""PAdES B-LT and B-LTA: validation data embedded, archive timestamp, checked with pyHanko."""

from __future__ import annotations

import datetime as dt

import io
import re

import pytest

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

from records.errors import InvalidMatterData
from records.matters import EXAMPLES, parse_matter
from signing.pades import ARCHIVE_TIMESTAMP_FIELD, SIGNATURE_FIELD
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
    assert len(dss.crls) == 2  # the office CA's and the root's
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
    # The times say when it happened: the signature's timestamp, then the archive timestamp
    # over it, both on the day it was issued (not a fixed or a zero time).
    archived = dt.datetime.fromisoformat(timestamp.details["archive_time"])
    assert report.best_signing_time is not None and report.best_signing_time <= archived
    assert abs(archived - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)


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
    assert set(sigs) == {SIGNATURE_FIELD} and len(DocumentSecurityStore.read_dss(reader).crls) == 2
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


def _strict_lta_spec(trust_roots):
    """ETSI EN 319 102-1 long-term validation as pyHanko implements it: only the given trust
    root, revocation information required for every certificate below it (end entity and
    intermediate, for the signer and the time-stamping authority), nothing fetched."""
    from pyhanko.sign.validation.policy_decl import (PdfSignatureValidationSpec, RevinfoOnlineFetchingRule,
                                                     RevocationInfoGatheringSpec, SignatureValidationSpec)
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule
    from pyhanko_certvalidator.registry import SimpleTrustManager

    required = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=trust_roots),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(ee_certificate_rule=required,
                                                                   intermediate_ca_cert_rule=required)))
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy, ts_cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)))


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_pyhankos_strict_lta_validation_passes_from_the_document_alone(runtime_factory, level):
    """Revocation data for every certificate below the root travels in the document: the
    office CA's status (the root's CRL), the signing certificate's (the office CA's CRL)
    and the TSA's (the root's CRL)."""
    import asyncio

    from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed
    from pyhanko.sign.validation.ades import ades_lta_validation

    rt = runtime_factory(signature_level=level)
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    reader = PdfFileReader(io.BytesIO(issued.pdf))
    assert len(DocumentSecurityStore.read_dss(reader).crls) == 2  # office CA's and root's
    result = asyncio.run(ades_lta_validation(reader.embedded_signatures[0], _strict_lta_spec(rt.trust_roots)))
    if level == "B-LTA":
        assert result.ades_subindic is AdESPassed.OK, result.ades_subindic
    else:
        # B-LT: revocation data is there for every certificate (no chain failure), but
        # nothing proves it existed after signing; that proof is B-LTA's archive timestamp.
        assert result.ades_subindic is AdESIndeterminate.NO_POE, result.ades_subindic
    # Without the root's CRL (as issued before this fix) the same validation cannot pass.
    stripped = _without_root_crl(issued.pdf, rt)
    reader = PdfFileReader(io.BytesIO(stripped))
    result = asyncio.run(ades_lta_validation(reader.embedded_signatures[0], _strict_lta_spec(rt.trust_roots)))
    assert result.ades_subindic is AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE, result.ades_subindic


def _without_root_crl(pdf: bytes, rt) -> bytes:
    """The certificate as this service signed it before the root's CRL was embedded."""
    from signing.pades import LongTermMaterial, sign_pdf

    unsigned = _unsigned_revision(pdf)
    material = LongTermMaterial(trust_roots=[c.dump() for c in rt.trust_roots], crls=rt.crls()[:1],
                                archive_timestamp=rt.settings.signature_level == "B-LTA")
    return sign_pdf(unsigned, rt.signer, rt.office.name, rt.dev_tsa, material)


def _unsigned_revision(pdf: bytes) -> bytes:
    from verifier.intake import open_signed_pdf

    return pdf[:open_signed_pdf(pdf, len(pdf)).revision_ends()[0]]
