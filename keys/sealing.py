"""Secrets kept in the database sealed with AES-GCM under a key derived (HKDF-SHA256) from
the installation secret, one key per purpose. What a sealed value belongs to (an account,
a receiver, a file) is bound in as associated data: a sealed value copied to another row
does not open."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(installation_secret: bytes, purpose: bytes) -> bytes:
    """The 256-bit AES key for one purpose (e.g. ``b"notary staff totp v1"``)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(installation_secret)


def seal(key: bytes, plaintext: bytes, bound_to: bytes) -> bytes:
    """nonce (12 bytes) ‖ ciphertext ‖ tag."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, bound_to)


def unseal(key: bytes, sealed: bytes, bound_to: bytes) -> bytes:
    """The plaintext; ``cryptography.exceptions.InvalidTag`` when the key, the binding or the
    bytes are not the ones it was sealed with."""
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], bound_to)
