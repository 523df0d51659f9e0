"""Key stores: open an office signer and the trust roots from files.

The signer interface is pyHanko's :class:`~pyhanko.sign.signers.Signer`; each store hands
one back so that signing code does not care where the key lives.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from pyhanko.sign import signers

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


def load_certificates(path: Path) -> list[asn1_x509.Certificate]:
    """Every certificate in a PEM or DER file."""
    if not path.exists():
        raise KeyStoreMissing(f"certificate file not found: {path.name}")
    data = path.read_bytes()
    if asn1_pem.detect(data):
        return [asn1_x509.Certificate.load(der) for _, _, der in asn1_pem.unarmor(data, multiple=True)]
    return [asn1_x509.Certificate.load(data)]
