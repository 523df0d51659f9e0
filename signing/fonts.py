"""The CJK font certificates and reports are set in: registered once per process."""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from .errors import FontMissing

FONT_NAME = "NotaryCJK"
_font_lock = threading.Lock()
_font_path: Path | None = None


def register_font(path: Path) -> None:
    global _font_path
    with _font_lock:
        if _font_path == path:
            return
        if not path.exists():
            raise FontMissing(
                f"CJK font not found at {path}; install Debian package fonts-wqy-zenhei or set NOTARY_CJK_FONT",
                f"找不到中文字体 {path}",
            )
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
        _font_path = path
