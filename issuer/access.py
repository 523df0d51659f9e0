"""Access codes (查验码): given to the certificate holder and printed on the certificate.
With it, a verifier sees the full record; without it, only the verdict and minimal facts.

Stored as a salted scrypt hash: eight characters from a 32-letter alphabet are 40 bits,
too few to survive a fast hash if the database leaked; scrypt makes each guess costly, and
online guesses are rate-limited by the verifier."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

# No 0/O, 1/I/L: codes are read off paper and typed by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def new_access_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_access_code(certificate_id: uuid.UUID, code: str) -> str:
    return hashlib.scrypt(normalise(code).encode(), salt=b"ENOTARY-ACCESS-V1" + certificate_id.bytes, **_SCRYPT).hex()


def access_code_matches(certificate_id: uuid.UUID, code: str | None, stored_hash: str | None) -> bool:
    if not code or not stored_hash or len(normalise(code)) != LENGTH:
        return False
    return hmac.compare_digest(hash_access_code(certificate_id, code), stored_hash)
