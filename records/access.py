"""Access codes (查验码): given to the certificate holder and printed on the certificate.
With it, a verifier sees the full record; without it, only the verdict and minimal facts.

Stored as an HMAC-SHA256 under a key derived from the service's secret (kept in the
secrets directory, never in the database). Eight characters from a 32-letter alphabet
are 40 bits: a fast unkeyed hash would fall to brute force if the database leaked, a keyed
one cannot be tried without the service's secret; and the database itself already holds
the personal data the code unlocks, so a slow hash (scrypt, ~60 ms, as costly as the
signature, used until schema revision 0003) protected nothing more. Online guesses are
rate-limited by the verifier. Hashes of the earlier scheme are still checked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

# No 0/O, 1/I/L: codes are read off paper and typed by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
SCHEME = "hmac-sha256"
_LEGACY_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def new_access_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _key(service_secret: bytes) -> bytes:
    # Its own key, derived from the service secret (which also keys the QR check codes).
    return hmac.new(service_secret, b"ENOTARY-ACCESS-CODE-KEY-V2", hashlib.sha256).digest()


def hash_access_code(service_secret: bytes, certificate_id: uuid.UUID, code: str) -> str:
    mac = hmac.new(_key(service_secret), certificate_id.bytes + normalise(code).encode(), hashlib.sha256)
    return f"{SCHEME}${mac.hexdigest()}"


def _legacy_hash(certificate_id: uuid.UUID, code: str) -> str:
    return hashlib.scrypt(normalise(code).encode(), salt=b"ENOTARY-ACCESS-V1" + certificate_id.bytes,
                          **_LEGACY_SCRYPT).hex()


def access_code_matches(service_secret: bytes, certificate_id: uuid.UUID, code: str | None,
                        stored_hash: str | None) -> bool:
    if not code or not stored_hash or len(normalise(code)) != LENGTH:
        return False
    if stored_hash.startswith(SCHEME + "$"):
        return hmac.compare_digest(hash_access_code(service_secret, certificate_id, code), stored_hash)
    return hmac.compare_digest(_legacy_hash(certificate_id, code), stored_hash)
