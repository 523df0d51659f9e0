"""Errors of the signing package."""

from __future__ import annotations

from errors import NotaryError


class FontMissing(NotaryError):
    code = "CJK_FONT_MISSING"
    http_status = 500  # the installation's to fix: every certificate needs the font
