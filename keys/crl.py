"""The development office CA's certificate revocation list, published by the service at
``GET /pki/office-ca.crl`` and used by its own verifier. Revoking an office signing
certificate here is for compromise; a routine key change is a rotation (the ledger retires
the old key from a date on, and what it signed before stays valid)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .devpki import OFFICE_CA_CERT, ROOT_CERT, ROOT_KEY, creation_lock, load_office_ca, write_atomic

REVOKED_FILE = "office-ca-revoked.json"
CRL_FILE = "office-ca.crl"
ROOT_CRL_FILE = "notarial-root-ca.crl"
NEXT_UPDATE = dt.timedelta(days=7)


def _revoked(directory: Path) -> list[dict]:
    path = directory / REVOKED_FILE
    return json.loads(path.read_text()) if path.exists() else []


def revoked_serials(directory: Path) -> dict[int, dt.datetime]:
    """Serial → revocation time of every office certificate revoked by the office CA."""
    return {e["serial"]: dt.datetime.fromisoformat(e["at"]) for e in _revoked(directory)}


def build_crl(directory: Path, passphrase: bytes) -> bytes:
    """Sign a fresh CRL with the office CA and write it (DER)."""
    ca_cert, ca_key = load_office_ca(directory, passphrase)
    return _sign_crl(directory / CRL_FILE, ca_cert, ca_key, _revoked(directory))


def _sign_crl(path: Path, ca_cert: x509.Certificate, ca_key, revoked: list[dict]) -> bytes:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now - dt.timedelta(minutes=5)).next_update(now + NEXT_UPDATE))
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(entry["serial"])
            .revocation_date(dt.datetime.fromisoformat(entry["at"])).build())
    der = builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    write_atomic(path, der)  # a reader sees the old CRL or the new one, never half of one
    return der


def _fresh(path: Path) -> bytes | None:
    if path.exists():
        crl = x509.load_der_x509_crl(path.read_bytes())
        next_update = crl.next_update_utc
        if next_update is not None and next_update - dt.datetime.now(dt.timezone.utc) > NEXT_UPDATE / 2:
            return path.read_bytes()
    return None


def ensure_crl(directory: Path, passphrase: bytes) -> bytes:
    """The current CRL, re-signed when missing or past half its validity."""
    if (current := _fresh(directory / CRL_FILE)) is not None:
        return current
    if not (directory / OFFICE_CA_CERT).exists():
        raise FileNotFoundError(OFFICE_CA_CERT)
    return build_crl(directory, passphrase)


def ensure_root_crl(directory: Path, passphrase: bytes) -> bytes:
    """The notarial root's CRL: the revocation status of every certificate the root issued
    (office CAs, the time-stamping authority, the verification service). B-LT and B-LTA
    documents embed it, so that a strict long-term validator finds revocation data for
    every certificate below the trust root without fetching anything."""
    if (current := _fresh(directory / ROOT_CRL_FILE)) is not None:
        return current
    root = x509.load_pem_x509_certificate((directory / ROOT_CERT).read_bytes())
    root_key = serialization.load_pem_private_key((directory / ROOT_KEY).read_bytes(), passphrase)
    return _sign_crl(directory / ROOT_CRL_FILE, root, root_key, [])


def revoke_serial(directory: Path, passphrase: bytes, serial: int) -> bytes:
    """Put an office certificate on the CRL (idempotent) and publish the new CRL. Under
    the directory's lock: two revocations at once both end up on the list."""
    with creation_lock(directory):
        entries = _revoked(directory)
        if all(e["serial"] != serial for e in entries):
            entries.append({"serial": serial, "at": dt.datetime.now(dt.timezone.utc).isoformat()})
            write_atomic(directory / REVOKED_FILE, json.dumps(entries, indent=1).encode())
        return build_crl(directory, passphrase)


def crl_version(crls: list[bytes]) -> str:
    return hashlib.sha256(b"".join(crls)).hexdigest()[:16]
