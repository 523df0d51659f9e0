"""The anti-counterfeit QR code: a short verify URL with a check code.

The check code is an HMAC of the certificate id under the service's QR key, so a URL
with a made-up id or code is told apart from one this service printed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import uuid

import qrcode
from qrcode.constants import ERROR_CORRECT_M

# Mask 2 had the lowest average penalty score (ISO/IEC 18004 §7.8.3) over sample verify URLs.
QR_MASK = 2

CHECK_CODE_LENGTH = 6


def check_code(qr_key: bytes, certificate_id: uuid.UUID) -> str:
    mac = hmac.new(qr_key, b"ENOTARY-QR-V1" + certificate_id.bytes, hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:CHECK_CODE_LENGTH]


def check_code_matches(qr_key: bytes, certificate_id: uuid.UUID, code: str | None) -> bool:
    return code is not None and hmac.compare_digest(check_code(qr_key, certificate_id), code.strip().upper())


def verify_url(public_base_url: str, certificate_id: uuid.UUID, code: str) -> str:
    return f"{public_base_url}/v/{certificate_id}?c={code}"


def qr_matrix(data: str) -> list[list[bool]]:
    """Module matrix (quiet zone included) at error correction M, which DESIGN.md measured
    to decode best at low resolution.

    The mask is fixed: every verification URL has the same length and alphabet, and the
    standard's search over the eight masks (qrcode renders the symbol eight times to score
    them) was half of the rendering time. The rendering tests decode the result from a
    blurred, rotated low-resolution scan. The smallest version that fits is found once per
    URL length (they are all alike) instead of for every certificate."""
    qr = qrcode.QRCode(version=_version_for(len(data.encode())), error_correction=ERROR_CORRECT_M, border=4,
                       mask_pattern=QR_MASK)
    qr.add_data(data)
    qr.make(fit=False)
    return qr.get_matrix()


@functools.lru_cache(maxsize=64)
def _version_for(length: int) -> int:
    probe = qrcode.QRCode(error_correction=ERROR_CORRECT_M, mask_pattern=QR_MASK)
    # Byte mode, the widest a URL needs (qrcode may pack digit runs tighter, never wider):
    # the version found fits every URL of this many bytes.
    probe.add_data("h" * length)
    probe.make(fit=True)
    return probe.version
