"""Time-limited download links for a certificate's PDF, made for one receiver: an HMAC over
(certificate, receiver, expiry) under a key derived from the installation secret. A link
stops working when it expires or when its receiver is disabled."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from keys import sealing

from .errors import LinkExpired, LinkInvalid

LINK_PURPOSE = b"notary feed download link v1"
PATH = "/feed/v1/certificates/{certificate_id}.pdf"


def link_key(installation_secret: bytes) -> bytes:
    return sealing.derive_key(installation_secret, LINK_PURPOSE)


def _mac(key: bytes, certificate_id: uuid.UUID, receiver_id: uuid.UUID, expires: int) -> str:
    message = certificate_id.bytes + receiver_id.bytes + expires.to_bytes(8, "big")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def make_link(key: bytes, base_url: str, certificate_id: uuid.UUID, receiver_id: uuid.UUID,
              expires_at: dt.datetime) -> str:
    """The URL a receiver downloads the PDF from until ``expires_at``."""
    expires = int(expires_at.timestamp())
    return (base_url.rstrip("/") + PATH.format(certificate_id=certificate_id)
            + f"?r={receiver_id.hex}&e={expires}&s={_mac(key, certificate_id, receiver_id, expires)}")


@dataclass(frozen=True)
class CheckedLink:
    certificate_id: uuid.UUID
    receiver_id: uuid.UUID


def check_link(key: bytes, certificate_id: uuid.UUID, receiver: str, expires: str, signature: str,
               now: dt.datetime) -> CheckedLink:
    """The link's certificate and receiver; LinkInvalid (403) for a link this service did not
    make, LinkExpired (410) for one past its time."""
    try:
        receiver_id = uuid.UUID(hex=receiver) if len(receiver) == 32 else None
        when = int(expires) if expires.isdigit() and len(expires) <= 12 else None
    except ValueError:
        receiver_id = None
        when = None
    if receiver_id is None or when is None or len(signature) != 64 \
            or not hmac.compare_digest(signature, _mac(key, certificate_id, receiver_id, when)):
        raise LinkInvalid()
    if now.timestamp() > when:
        raise LinkExpired()
    return CheckedLink(certificate_id, receiver_id)
