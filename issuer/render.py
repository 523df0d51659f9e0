"""Render a 公证书 as PDF with reportlab.

The CJK font is a TrueType-outline font (WenQuanYi Zen Hei) embedded as a subset: see
DESIGN.md for why not the Noto CFF fonts or the non-embedded STSong-Light. The QR code is
drawn as vector modules, so it stays sharp at any print or scan resolution.
"""

from __future__ import annotations

import datetime as dt
import math
import io
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph

from .errors import FontMissing
from .matters import MatterInput, en_date, zh_formal_date
from .qr import qr_matrix

FONT_NAME = "NotaryCJK"
SEAL_RED = Color(0.78, 0.1, 0.1)
QR_SIZE = 30 * mm  # DESIGN.md: at least 25 mm with the quiet zone
_font_lock = threading.Lock()
_font_path: Path | None = None


@dataclass(frozen=True)
class CertificatePage:
    """Everything printed on the certificate."""

    certificate_id: uuid.UUID
    number: str
    office_name: str
    issue_date: dt.date
    matter: MatterInput
    verify_url: str
    check_code: str
    access_code: str | None = None
    bilingual: bool = False  # add the English translation page (译文相符, for use abroad)


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


def render_certificate(page: CertificatePage, font_path: Path) -> bytes:
    """One A4 page: title, number, particulars, statement, office, date, seal and QR."""
    register_font(font_path)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"公证书 {page.number}")
    c.setSubject(page.matter.title_zh)
    c.setAuthor(page.office_name)
    c.setCreator("enotary")
    # The id travels inside the document so a verifier can name what the PDF claims to be.
    c.setKeywords(f"ENOTARY-ID:{page.certificate_id}")
    width, height = A4

    c.setFont(FONT_NAME, 30)
    c.drawCentredString(width / 2, height - 40 * mm, "公  证  书")
    c.setFont(FONT_NAME, 12)
    c.drawRightString(width - 25 * mm, height - 55 * mm, page.number)

    y = height - 72 * mm
    c.setFont(FONT_NAME, 12)
    for label, value in page.matter.particulars():
        c.drawString(30 * mm, y, f"{label}：")
        c.drawString(62 * mm, y, value)
        y -= 8 * mm
    y -= 4 * mm
    c.drawString(30 * mm, y, f"公证事项：{page.matter.title_zh}")
    y -= 12 * mm

    style = ParagraphStyle(
        "statement", fontName=FONT_NAME, fontSize=13, leading=24, firstLineIndent=26, wordWrap="CJK"
    )
    _draw_paragraphs(c, page.matter.statement(), style, y)

    # Office, notary and date, bottom right; the seal overlaps the office name as on paper.
    base = 95 * mm
    c.setFont(FONT_NAME, 13)
    _draw_signature_block(c, [f"中华人民共和国{page.office_name}", f"公证员  {page.matter.notary}",
                              zh_formal_date(page.issue_date)], base)
    _draw_seal(c, width - 62 * mm, base + 14 * mm, page.office_name)

    _draw_qr(c, page.verify_url, 25 * mm, 28 * mm)
    c.setFillColor(black)
    c.setFont(FONT_NAME, 8)
    c.drawString(25 * mm + QR_SIZE + 4 * mm, 50 * mm, "扫码核验  Scan to verify")
    c.drawString(25 * mm + QR_SIZE + 4 * mm, 45 * mm, f"核验码 Check code: {page.check_code}")
    if page.access_code:
        c.drawString(25 * mm + QR_SIZE + 4 * mm, 40 * mm, f"查验码 Access code: {page.access_code}")
    c.drawString(25 * mm + QR_SIZE + 4 * mm, 35 * mm, "本公证书经电子签名并锚定于公证区块链")
    c.setFont(FONT_NAME, 7)
    c.drawString(25 * mm, 20 * mm, f"证书标识 Certificate ID: {page.certificate_id}")
    c.showPage()
    if page.bilingual:
        _draw_translation(c, page)
    c.save()
    return buf.getvalue()


def _draw_translation(c: canvas.Canvas, page: CertificatePage) -> None:
    """The English translation page, certified to conform to the Chinese original."""
    width, height = A4
    matter = page.matter
    c.setFont(FONT_NAME, 20)
    c.drawCentredString(width / 2, height - 40 * mm, "NOTARIAL CERTIFICATE")
    c.setFont(FONT_NAME, 11)
    c.drawCentredString(width / 2, height - 48 * mm, f"(Translation)   {matter.title_en}")
    c.drawRightString(width - 25 * mm, height - 58 * mm, f"No. {page.number}")
    style = ParagraphStyle("en", fontName=FONT_NAME, fontSize=12, leading=19, firstLineIndent=20)
    _draw_paragraphs(c, matter.statement_en(), style, height - 75 * mm)
    c.setFont(FONT_NAME, 12)
    _draw_signature_block(c, [f"{page.office_name}, People's Republic of China", f"Notary: {matter.notary}",
                              en_date(page.issue_date)], 95 * mm)
    c.setFont(FONT_NAME, 10)
    c.drawString(30 * mm, 60 * mm, "This translation conforms to the Chinese original.  译文与原文相符。")
    c.setFont(FONT_NAME, 7)
    c.drawString(25 * mm, 20 * mm, f"Certificate ID: {page.certificate_id}   Verify: {page.verify_url}")
    c.showPage()


def _draw_paragraphs(c: canvas.Canvas, texts: list[str], style: ParagraphStyle, y: float) -> float:
    """Flow paragraphs down the page from ``y`` between the 30 mm margins; returns the new y."""
    width = A4[0] - 60 * mm
    for text in texts:
        para = Paragraph(text, style)
        _, h = para.wrap(width, y)
        para.drawOn(c, 30 * mm, y - h)
        y -= h + 6 * mm
    return y


def _draw_signature_block(c: canvas.Canvas, lines: list[str], base: float) -> None:
    """Office, notary and date, right-aligned, the last line at ``base``."""
    right = A4[0] - 30 * mm
    for i, line in enumerate(lines):
        c.drawRightString(right, base + (len(lines) - 1 - i) * 8 * mm, line)


def _draw_qr(c: canvas.Canvas, data: str, x: float, y: float) -> None:
    matrix = qr_matrix(data)
    n = len(matrix)
    c.saveState()
    c.setFillColor(Color(1, 1, 1))
    c.rect(x, y, QR_SIZE, QR_SIZE, stroke=0, fill=1)
    # Work in module units (row 0 at the top) so every coordinate is a small integer.
    c.translate(x, y + QR_SIZE)
    c.scale(QR_SIZE / n, -QR_SIZE / n)
    path = c.beginPath()
    for row_index, row in enumerate(matrix):
        col = 0
        while col < n:  # one rectangle per horizontal run keeps the page small
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                path.rect(start, row_index, col - start, 1)
            else:
                col += 1
    c.setFillColor(black)
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


def _draw_seal(c: canvas.Canvas, cx: float, cy: float, office_name: str) -> None:
    """A drawn office seal (电子公证专用章). The legal force is the PAdES signature."""
    c.saveState()
    c.setStrokeColor(SEAL_RED)
    c.setFillColor(SEAL_RED)
    c.setLineWidth(1.6)
    radius = 19 * mm
    c.circle(cx, cy, radius, stroke=1, fill=0)
    star = [(cx + 5 * mm * _cos(a), cy + 5 * mm * _sin(a)) for a in (90, 234, 18, 162, 306)]
    path = c.beginPath()
    path.moveTo(*star[0])
    for point in star[1:]:
        path.lineTo(*point)
    path.close()
    c.drawPath(path, stroke=0, fill=1)
    # The office name along the upper arc.
    c.setFont(FONT_NAME, 9)
    chars = list(office_name)
    span = 160.0
    for i, ch in enumerate(chars):
        angle = 90 + span / 2 - i * span / max(len(chars) - 1, 1)
        c.saveState()
        c.translate(cx + (radius - 4.5 * mm) * _cos(angle), cy + (radius - 4.5 * mm) * _sin(angle))
        c.rotate(angle - 90)
        c.drawCentredString(0, -1.5 * mm, ch)
        c.restoreState()
    c.setFont(FONT_NAME, 7)
    c.drawCentredString(cx, cy - 10 * mm, "电子公证专用章")
    c.restoreState()



def _cos(deg: float) -> float:
    return math.cos(math.radians(deg))


def _sin(deg: float) -> float:
    return math.sin(math.radians(deg))
