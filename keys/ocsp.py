"""The development office CA's OCSP responder (RFC 6960), served at ``POST /pki/ocsp``.

Answers from the same revocation record as the CRL (``keys/crl.py``), signed by the office
CA itself (a CA may sign its own responses, RFC 6960 §4.2.2.2). A request about a
certificate of another issuer gets ``unauthorized``; a malformed one ``malformedRequest``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from .crl import revoked_serials
from .devpki import load_office_ca

MAX_REQUEST_BYTES = 8192
NEXT_UPDATE = dt.timedelta(hours=12)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


def _issuer_hashes(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """The CertID's issuer name and key hashes for ``cert`` as issuer (RFC 6960 §4.1.1)."""
    name = hashes.Hash(algorithm)
    name.update(cert.subject.public_bytes())
    spki = asn1_keys.PublicKeyInfo.load(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    # The key hash covers the subjectPublicKey BIT STRING's value, not the whole SPKI.
    key = hashes.Hash(algorithm)
    key.update(spki["public_key"].contents[1:])  # drop the unused-bits byte
    return name.finalize(), key.finalize()


def answer_ocsp(directory: Path, passphrase: bytes, request_der: bytes) -> bytes:
    """One OCSP request (DER) in, one signed response (DER) out."""
    if len(request_der) > MAX_REQUEST_BYTES:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        request = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    ca_cert, ca_key = load_office_ca(directory, passphrase)
    name_hash, key_hash = _issuer_hashes(ca_cert, request.hash_algorithm)
    if (request.issuer_name_hash, request.issuer_key_hash) != (name_hash, key_hash):
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    now = dt.datetime.now(dt.timezone.utc)
    revoked_at = revoked_serials(directory).get(request.serial_number)
    if revoked_at is None:
        status, revocation_time, reason = ocsp.OCSPCertStatus.GOOD, None, None
    else:
        status, revocation_time, reason = ocsp.OCSPCertStatus.REVOKED, revoked_at, x509.ReasonFlags.key_compromise
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=name_hash, issuer_key_hash=key_hash, serial_number=request.serial_number,
        algorithm=request.hash_algorithm, cert_status=status, this_update=now - dt.timedelta(minutes=5),
        next_update=now + NEXT_UPDATE, revocation_time=revocation_time, revocation_reason=reason,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, ca_cert)
    nonce = next((e.value for e in request.extensions if isinstance(e.value, x509.OCSPNonce)), None)
    if nonce is not None:
        builder = builder.add_extension(nonce, critical=False)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
