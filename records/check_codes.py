"""The QR code's check code: an HMAC of the certificate id under the service's QR key, so a
verify link cannot be made up for an id; and the verify URL that carries it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

CHECK_CODE_LENGTH = 6


def check_code(qr_key: bytes, certificate_id: uuid.UUID) -> str:
    mac = hmac.new(qr_key, b"ENOTARY-QR-V1" + certificate_id.bytes, hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:CHECK_CODE_LENGTH]


def check_code_matches(qr_key: bytes, certificate_id: uuid.UUID, code: str | None) -> bool:
    return code is not None and hmac.compare_digest(check_code(qr_key, certificate_id), code.strip().upper())


def verify_url(public_base_url: str, certificate_id: uuid.UUID, code: str) -> str:
    return f"{public_base_url}/v/{certificate_id}?c={code}"
