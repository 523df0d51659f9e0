"""The Standard Webhooks signature: ``v1,`` + base64(HMAC-SHA256(secret, id.timestamp.body)).

A message may carry several signatures separated by spaces: while a receiver's secret is
being rotated, the sender signs with the new and the old one, so a receiver that still
holds the old secret keeps accepting messages until it switches."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence

from .errors import BadSecret, SignatureMismatch

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60  # the specification's default: older or newer messages are refused


def new_secret() -> str:
    """A new receiver secret: 32 random bytes, as ``whsec_`` + base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret; BadSecret for anything else."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise BadSecret()
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except ValueError:
        raise BadSecret() from None
    if not 24 <= len(key) <= 64:
        raise BadSecret()
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of a message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()).decode()


def headers(secrets_: Sequence[str], message_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three headers of a message signed with every secret in ``secrets_`` (current first)."""
    if not secrets_:
        raise BadSecret()
    when = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": message_id, "webhook-timestamp": str(when),
            "webhook-signature": " ".join(sign(s, message_id, when, body) for s in secrets_)}


def verify(secret: str, received: Mapping[str, str], body: bytes, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> None:
    """Raise SignatureMismatch unless one ``v1`` signature in ``received`` (the headers, any
    case) was made with ``secret`` over this body, at a time within ``tolerance``."""
    lower = {k.lower(): v for k, v in received.items()}
    message_id, stamp, signatures = (lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not message_id or not stamp or not signatures:
        raise SignatureMismatch("a webhook header is missing")
    try:
        when = int(stamp)
    except ValueError:
        raise SignatureMismatch("the timestamp is not a number") from None
    if abs((time.time() if now is None else now) - when) > tolerance:
        raise SignatureMismatch("the timestamp is too old or too new")
    expected = sign(secret, message_id, when, body).split(",", 1)[1]
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise SignatureMismatch("no signature matches")
