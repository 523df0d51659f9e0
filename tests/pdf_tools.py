"""Helpers for tests that look at real PDFs: render a page, decode its QR code, tamper."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import zxingcpp
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader


def render_page(pdf: bytes, page: int = 0, dpi: int = 150) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=dpi / 72).to_pil()
    finally:
        doc.close()


def decode_qr(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def signed_range(pdf: bytes) -> tuple[int, int, int, int]:
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    return tuple(sig.byte_range)


def flip_byte_in_signed_range(pdf: bytes) -> bytes:
    """Change one byte of page content inside the first signed range."""
    start, length, _, _ = signed_range(pdf)
    data = bytearray(pdf)
    # Aim for the middle of the first range: page content, not the header.
    pos = start + length // 2
    data[pos] = (data[pos] + 1) % 256
    return bytes(data)
