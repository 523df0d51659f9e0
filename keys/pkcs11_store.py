"""Office keys in a PKCS#11 token (a hardware security module; SoftHSM2 in tests).

The private key never leaves the token; pyHanko's ``PKCS11Signer`` asks the token to sign.
One session is opened per process and guarded by a lock, because a PKCS#11 session must
not be used by two threads at once. SoftHSM2 2.6 has no CKM_ECDSA_SHA256, so EC keys are
used with the raw ECDSA mechanism (pyHanko hashes first)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from .errors import KeyStoreError, KeyStoreLocked, KeyStoreMissing
from .store import OfficeSigner, load_certificates


@dataclass(frozen=True)
class Pkcs11Config:
    module: Path  # e.g. /usr/lib/softhsm/libsofthsm2.so
    token_label: str
    pin: str = field(repr=False)  # never in a repr, so never in a log or a traceback
    key_label: str
    certificate: Path  # PEM: the signing certificate, then its chain


def load_pkcs11_signer(cfg: Pkcs11Config) -> OfficeSigner:
    if not cfg.module.exists():
        raise KeyStoreMissing(f"PKCS#11 module not found: {cfg.module}")
    certs = load_certificates(cfg.certificate)
    try:
        session = open_pkcs11_session(str(cfg.module), token_criteria=TokenCriteria(label=cfg.token_label),
                                      user_pin=cfg.pin)
    except Exception as exc:  # python-pkcs11 raises many types: wrong PIN, no token, locked...
        name = type(exc).__name__
        if "Pin" in name:
            raise KeyStoreLocked(f"the PKCS#11 token refused the PIN ({name})") from exc
        raise KeyStoreError(f"cannot open PKCS#11 token '{cfg.token_label}' ({name})") from exc
    signer = PKCS11Signer(session, key_label=cfg.key_label, signing_cert=certs[0], ca_chain=certs[1:],
                          use_raw_mechanism=_is_ec(certs[0]))
    return OfficeSigner(signer=signer, certificate=certs[0], lock=threading.Lock())


def _is_ec(cert: asn1_x509.Certificate) -> bool:
    return cert.public_key.algorithm == "ec"
