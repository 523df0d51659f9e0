"""The office CA's OCSP responder: good, revoked, nonce, GET form, malformed and foreign requests."""

from __future__ import annotations

import base64
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from fastapi.testclient import TestClient

from keys.devpki import OFFICE_CA_CERT
from notary.app import create_app
from notary.runtime import revoke_office_certificate


def _request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _ask(client, der: bytes) -> ocsp.OCSPResponse:
    r = client.post("/pki/ocsp", content=der, headers={"Content-Type": "application/ocsp-request"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(r.content)


def test_ocsp_answers_good_then_revoked(sqlite_runtime):
    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    signing = x509.load_der_x509_certificate(rt.signer.certificate.dump())
    ca = x509.load_pem_x509_certificate((rt.pki_dir / OFFICE_CA_CERT).read_bytes())
    # The signing certificate tells validators where the responder is.
    aia = signing.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [f"{rt.settings.public_base_url}/pki/ocsp"]
    nonce = os.urandom(16)
    answer = _ask(client, _request(signing, ca, nonce))
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == signing.serial_number
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    # Signed by the office CA itself.
    ca.public_key().verify(answer.signature, answer.tbs_response_bytes, ec.ECDSA(answer.signature_hash_algorithm))

    revoke_office_certificate(rt)
    encoded = base64.b64encode(_request(signing, ca)).decode()
    revoked = ocsp.load_der_ocsp_response(client.get(f"/pki/ocsp/{encoded}").content)
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_time_utc is not None


def test_ocsp_refuses_malformed_and_foreign_requests(sqlite_runtime):
    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    assert _ask(client, b"not an OCSP request").response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert _ask(client, b"\x30" * 20_000).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    # A certificate of another issuer (here the root as its own issuer) is not this responder's.
    root = x509.load_pem_x509_certificate((rt.pki_dir / "notarial-root-ca.pem").read_bytes())
    assert _ask(client, _request(root, root)).response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED
    # Not base64: an OCSP error status (not a 500), and it says which.
    garbled = client.get("/pki/ocsp/%%%not-base64")
    assert garbled.status_code == 200
    assert ocsp.load_der_ocsp_response(garbled.content).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
