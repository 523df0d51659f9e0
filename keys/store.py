"""Key stores: open an office signer and the trust roots from files.

The signer interface is pyHanko's :class:`~pyhanko.sign.signers.Signer`; each store hands
one back so that signing code does not care where the key lives.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .errors import KeyStoreLocked, KeyStoreMissing
from .memory_signer import InMemorySigner


@dataclass(frozen=True)
class OfficeSigner:
    """A loaded signer with the facts the issuer records about it."""

    signer: signers.Signer
    certificate: asn1_x509.Certificate
    # Held while signing when the key cannot be used by two threads at once (a PKCS#11
    # session); None for keys in memory.
    lock: threading.Lock | None = field(default=None, compare=False)

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the signing certificate (DER): what the ledger registers for the office."""
        return certificate_fingerprint(self.certificate)


def certificate_fingerprint(cert: asn1_x509.Certificate) -> bytes:
    return hashlib.sha256(cert.dump()).digest()


def load_pkcs12_signer(path: Path, passphrase: bytes) -> OfficeSigner:
    """Open an encrypted PKCS#12 file holding the office key, its certificate and chain."""
    if not path.exists():
        raise KeyStoreMissing(f"signing key store not found: {path.name}")
    try:
        signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=passphrase)
    except ValueError:
        signer = None
    if signer is None:
        # pyHanko logs and returns None when the passphrase is wrong or the file is damaged.
        raise KeyStoreLocked(f"cannot open signing key store {path.name}: wrong passphrase or damaged file")
    signer = InMemorySigner.from_simple(signer)
    return OfficeSigner(signer=signer, certificate=signer.signing_cert)


def load_pem_signer(key_path: Path, cert_path: Path, passphrase: bytes) -> OfficeSigner:
    """Open an office key in an encrypted PEM file (PKCS#8), with its certificate followed
    by its chain in a second PEM file."""
    for path in (key_path, cert_path):
        if not path.exists():
            raise KeyStoreMissing(f"signing key store not found: {path.name}")
    certs = load_certificates(cert_path)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), passphrase)
    except (ValueError, TypeError):
        raise KeyStoreLocked(f"cannot open signing key {key_path.name}: wrong passphrase or damaged file") from None
    key_info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    signer = InMemorySigner(signing_cert=certs[0], signing_key=key_info,
                            cert_registry=SimpleCertificateStore.from_certs(certs))
    return OfficeSigner(signer=signer, certificate=signer.signing_cert)


@dataclass(frozen=True)
class FileKeyStore:
    """Where an office key held in files lives: a PKCS#12 file, or a PEM key and its
    certificate chain. Picklable, so signing processes can open it themselves."""

    pkcs12: Path | None = None
    pem_key: Path | None = None
    pem_certificate: Path | None = None

    def open(self, passphrase: bytes) -> OfficeSigner:
        if self.pem_key is not None:
            if self.pem_certificate is None:
                raise KeyStoreMissing("a PEM signing key needs its certificate file (NOTARY_SIGNING_CERT_PEM)")
            return load_pem_signer(self.pem_key, self.pem_certificate, passphrase)
        if self.pkcs12 is None:
            raise KeyStoreMissing("no signing key store configured")
        return load_pkcs12_signer(self.pkcs12, passphrase)


def load_certificates(path: Path) -> list[asn1_x509.Certificate]:
    """Every certificate in a PEM or DER file."""
    if not path.exists():
        raise KeyStoreMissing(f"certificate file not found: {path.name}")
    data = path.read_bytes()
    if asn1_pem.detect(data):
        return [asn1_x509.Certificate.load(der) for _, _, der in asn1_pem.unarmor(data, multiple=True)]
    return [asn1_x509.Certificate.load(data)]
