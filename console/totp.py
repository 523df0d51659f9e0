"""The second factor: TOTP (RFC 6238, 30-second steps, six digits, as authenticator apps
expect). The shared secret is kept sealed with AES-GCM under a key derived from the
installation secret, so the staff table alone does not give away anyone's codes; a code is
accepted once (its step is remembered), so a code seen over a shoulder cannot be replayed."""

from __future__ import annotations

import base64
import time

import pyotp

from keys import sealing

STEP_SECONDS = 30
DRIFT_STEPS = 1  # a phone's clock a step behind or ahead is still accepted
ISSUER = "电子公证"


def sealing_key(installation_secret: bytes) -> bytes:
    """The AES key that seals TOTP secrets, derived (HKDF) from an installation secret."""
    return sealing.derive_key(installation_secret, b"notary staff totp v1")


def new_secret() -> str:
    """A fresh base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def seal(key: bytes, secret: str, account: str) -> str:
    """The secret sealed for one account (its id is bound as associated data: a sealed secret
    copied onto another account's row does not open)."""
    return base64.b64encode(sealing.seal(key, secret.encode(), account.encode())).decode()


def unseal(key: bytes, sealed: str, account: str) -> str:
    return sealing.unseal(key, base64.b64decode(sealed), account.encode()).decode()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (from a QR code or typed)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def accepted_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to, if it is valid now (± one step) and newer than
    ``last_step`` (the last one accepted for this account); else None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    now = time.time() if now is None else now
    current = int(now // STEP_SECONDS)
    totp = pyotp.TOTP(secret)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > last_step and pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def is_step_code(secret: str, code: str, step: int) -> bool:
    """``code`` is the one of time step ``step`` (the last accepted: a code used again)."""
    code = code.strip().replace(" ", "")
    return step > 0 and len(code) == 6 and pyotp.utils.strings_equal(pyotp.TOTP(secret).at(step * STEP_SECONDS), code)


def code_now(secret: str, now: float | None = None) -> str:
    """The current code (for the demo and tests, which play the authenticator app)."""
    return pyotp.TOTP(secret).at(time.time() if now is None else now)
