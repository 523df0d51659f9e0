"""Certificate numbers in the notarial style, e.g. ``(2026)沪东证字第000123号``: formatting,
masking for public answers, and file names."""

from __future__ import annotations


def format_number(year: int, office_abbrev: str, serial: int) -> str:
    return f"({year}){office_abbrev}证字第{serial:06d}号"


def mask_number(number: str) -> str:
    """Public form: keeps year and office, hides most of the serial, e.g. (2026)沪东证字第0001**号."""
    head, sep, tail = number.partition("第")
    if not sep or len(tail) < 3:
        return number
    digits = tail.rstrip("号")
    return f"{head}第{digits[:-2]}**号"


def file_name(number: str) -> str:
    """A file name for the certificate with this number: ``2026-沪东证字第000123号.pdf``
    (brackets dropped; nothing a shell or another operating system would stumble on)."""
    safe = number.replace("（", "(").replace("）", ")").replace("(", "").replace(")", "-", 1)
    return "".join(ch for ch in safe if ch.isalnum() or ch in "-_") + ".pdf"
