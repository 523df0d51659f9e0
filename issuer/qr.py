"""The anti-counterfeit QR code drawn on a certificate (its check code: records.check_codes)."""

from __future__ import annotations

import functools

import qrcode
from qrcode.constants import ERROR_CORRECT_M

# Mask 2 had the lowest average penalty score (ISO/IEC 18004 §7.8.3) over sample verify URLs.
QR_MASK = 2

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
