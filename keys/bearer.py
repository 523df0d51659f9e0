"""Bearer secrets (API keys, issuer tokens): random, shown once, stored as a hash.

256 random bits cannot be brute-forced, so a plain SHA-256 is the right store for them
(unlike short human-typed codes, which need a slow hash)."""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str) -> tuple[str, str]:
    """A new secret and the hash to store."""
    value = prefix + secrets.token_urlsafe(32)
    return value, secret_hash(value)


def secret_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def bearer(authorization: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer …`` header, or None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip() or None
