"""Office signing keys: rotation keeps old certificates verifiable; a retired key cannot
sign new ones; key stores refuse a wrong passphrase."""

from __future__ import annotations

import pytest

from records.matters import EXAMPLES
from issuer.service import issue_certificate
from keys.errors import KeyStoreLocked
from keys.store import load_pkcs12_signer
from notary.runtime import rotate_office_key
from verifier.report import Indication
from verifier.service import verify_pdf


def test_rotation(sqlite_runtime):
    rt = sqlite_runtime
    before = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    old, new = rotate_office_key(rt)
    assert old != new and rt.signer.fingerprint == new
    key_old, key_new = rt.registry.get_signing_key(old), rt.registry.get_signing_key(new)
    assert key_old.revoked_at > 0 and key_new.revoked_at == 0 and key_new.office == key_old.office
    after = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    for cert in (before, after):  # signed before the rotation (TSA time) and after
        report = verify_pdf(rt.verifier_context(), cert.pdf)
        assert report.indication is Indication.PASSED, [(c.name, c.code) for c in report.checks]
    assert len(list(rt.pki_dir.glob("office-signing-*.p12"))) == 1  # the old store is archived


def test_wrong_passphrase_is_a_clear_error(sqlite_runtime):
    with pytest.raises(KeyStoreLocked) as exc:
        load_pkcs12_signer(sqlite_runtime.pki_dir / "office-signing.p12", b"wrong")
    assert exc.value.code == "KEY_STORE_LOCKED"


def test_a_retired_key_cannot_sign_new_certificates(sqlite_runtime):
    import datetime as dt
    import time
    import uuid

    from records.matters import parse_matter
    from signing.pades import sign_pdf
    from issuer.render import CertificatePage, render_certificate

    rt = sqlite_runtime
    rotate_office_key(rt)
    [archived] = rt.pki_dir.glob("office-signing-*.p12")
    old_signer = load_pkcs12_signer(archived, b"test-passphrase")
    time.sleep(1.2)  # strictly after the retirement second
    page = CertificatePage(uuid.uuid4(), "(2026)沪东证字第777777号", rt.office.name, dt.date.today(),
                           parse_matter("birth", EXAMPLES["birth"]), "http://127.0.0.1:8000/v/x?c=ABCDEF", "ABCDEF")
    pdf = sign_pdf(render_certificate(page, rt.settings.cjk_font), old_signer, rt.office.name,
                   rt.issuer_context().timestamper)
    report = verify_pdf(rt.verifier_context(), pdf)
    assert report.check("office_binding").code == "OFFICE_KEY_REVOKED"
    assert report.indication is Indication.FAILED


def test_revoked_office_certificate_is_visible_to_validators(sqlite_runtime):
    from cryptography import x509 as cx509
    from fastapi.testclient import TestClient

    from notary.app import create_app
    from notary.runtime import revoke_office_certificate

    rt = sqlite_runtime
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    client = TestClient(create_app(rt))
    crl = cx509.load_der_x509_crl(client.get("/pki/office-ca.crl").content)
    assert len(list(crl)) == 0
    # The signing certificate tells validators where to look.
    cert = cx509.load_der_x509_certificate(rt.signer.certificate.dump())
    points = cert.extensions.get_extension_for_class(cx509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == rt.crl_url
    assert client.post("/api/v1/verify/hash", json={"sha256": issued.document_sha256}).json()["indication"] == "PASSED"

    revoke_office_certificate(rt)
    crl = cx509.load_der_x509_crl(client.get("/pki/office-ca.crl").content)
    assert crl.get_revoked_certificate_by_serial_number(rt.signer.certificate.serial_number) is not None
    report = verify_pdf(rt.verifier_context(), issued.pdf)
    assert report.indication is Indication.FAILED
    assert report.check("signer_trust").code == "SIGNER_REVOKED"
    assert client.get("/pki/notarial-root-ca.pem").text.startswith("-----BEGIN CERTIFICATE-----")


def test_office_key_in_encrypted_pem_files(runtime_factory, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from records.matters import parse_matter
    from issuer.service import IssueRequest, issue_batch
    from keys.errors import KeyStoreLocked as Locked
    from keys.store import load_pem_signer

    first = runtime_factory("pem")
    # The same office key, exported as the PEM pair an office might be given by its CA.
    key, cert, chain = pkcs12.load_key_and_certificates(
        (first.pki_dir / "office-signing.p12").read_bytes(), first.passphrase)
    key_file, cert_file = tmp_path / "office.key.pem", tmp_path / "office.chain.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.BestAvailableEncryption(first.passphrase)))
    cert_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [cert, *chain]))
    with pytest.raises(Locked):
        load_pem_signer(key_file, cert_file, b"wrong")

    rt = runtime_factory("pem", signing_key_pem=key_file,
                         signing_cert_pem=cert_file, signing_processes=1)
    assert rt.signer.fingerprint == first.signer.fingerprint
    one = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    (pooled,) = issue_batch(rt.issuer_context(pool=True), [IssueRequest("birth", parse_matter("birth", EXAMPLES["birth"]))])
    rt.worker().run_once(force=True)
    for issued in (one, pooled):
        assert verify_pdf(rt.verifier_context(), issued.pdf).indication is Indication.PASSED


def test_revocations_at_the_same_time_all_reach_the_crl(sqlite_runtime):
    """Three processes' worth of revocations at once (threads, each with its own lock file
    descriptor): none is lost from the list, and the published CRL names them all."""
    import threading

    from cryptography import x509 as cx509

    from keys.crl import CRL_FILE, revoke_serial, revoked_serials

    rt = sqlite_runtime
    serials = [1001, 1002, 1003, 1004, 1005, 1006]
    threads = [threading.Thread(target=revoke_serial, args=(rt.pki_dir, rt.passphrase, n)) for n in serials]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(revoked_serials(rt.pki_dir)) == set(serials)
    crl = cx509.load_der_x509_crl((rt.pki_dir / CRL_FILE).read_bytes())
    assert {r.serial_number for r in crl} == set(serials)
    assert not [p for p in rt.pki_dir.iterdir() if p.name.endswith((".new", ".tmp"))]
