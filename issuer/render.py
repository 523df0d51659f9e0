"""Render a 公证书 as PDF with reportlab.

The CJK font is a TrueType-outline font (WenQuanYi Zen Hei) embedded as a subset: see
DESIGN.md for why not the Noto CFF fonts or the non-embedded STSong-Light. The QR code is
drawn as vector modules, so it stays sharp at any print or scan resolution.

Text from the matter is data, never markup: it reaches the page through
``canvas.drawString`` or through :func:`_para`, which escapes it
(:func:`issuer.text_safety.markup`), so ``<font color="white">`` or ``<img src=...>`` in a
field prints as those characters. The fixed template text goes through the same function.

The particulars and the statement flow down the page, wrapped; what does not fit above
the signature block continues on continuation pages (续页) that carry the certificate
number, and the signature block, seal and QR code close the last page of the Chinese part
(the translation likewise). Text the page cannot show as recorded is refused, naming the
field, before anything is numbered (:func:`check_printable`): a character the font lacks,
or a value that cannot be laid out.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from errors import NotaryError
from records.errors import InvalidMatterData
from records.matters import MatterInput, en_date, field_label_zh, invalid_fields, zh_formal_date
from records.translation import has_cjk, organisation_en
from signing.fonts import FONT_NAME, register_font
from signing.pdfa import PDF_PRODUCER, make_pdfa
from signing.text_safety import GLYPH_MISSING, describe, font_charset, problems

from .qr import qr_matrix

SEAL_RED = Color(0.78, 0.1, 0.1)
QR_SIZE = 30 * mm  # DESIGN.md: at least 25 mm with the quiet zone
log = logging.getLogger("notary.issuer")

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 30 * mm  # body margins, left and right
BODY_WIDTH = PAGE_WIDTH - 2 * LEFT
VALUE_X = 62 * mm  # where a particular's value starts
ZH_FIRST_TOP = PAGE_HEIGHT - 64 * mm  # below the title and the number
EN_FIRST_TOP = PAGE_HEIGHT - 75 * mm
NEXT_TOP = PAGE_HEIGHT - 35 * mm  # continuation pages: below the running header
BODY_FLOOR = 30 * mm  # above the footer (certificate id, page number at 20 mm)
ZH_CLOSING_BASE = 87 * mm  # the last line (the date) of the Chinese signature block
ZH_SIGNATURE_TOP = ZH_CLOSING_BASE + 37 * mm  # the seal (centre 14 mm above the base, radius 19 mm) and 4 mm
EN_SIGNATURE_TOP = 127 * mm  # the last translation page: above the signature block's top line
MAX_PAGES = 20  # per part; the field limits keep real certificates far below


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
    corrects_number: str | None = None  # the number of the certificate this one corrects (更正)
    office_name_en: str | None = None  # the office's English name; else transliterated from office_name

    @property
    def office_en(self) -> str:
        return self.office_name_en or organisation_en(self.office_name)


def render_certificate(page: CertificatePage, font_path: Path) -> bytes:
    """Title, number, particulars, statement (continued on 续页 when long), office, date,
    seal and QR; then the English translation when ``page.bilingual``.

    Raises :class:`InvalidMatterData` naming the field when the matter's text cannot be
    printed as recorded (see :func:`check_printable`)."""
    register_font(font_path)
    _refuse_missing_glyphs(page.matter, font_path, page.corrects_number)
    zh_pages = _layout_zh(page.matter, page.corrects_number)
    en_pages = _layout_en(page.matter, page.corrects_number) if page.bilingual else []
    total = len(zh_pages) + len(en_pages)
    buf = io.BytesIO()
    # The initial font is the embedded CJK subset: reportlab's default would declare a
    # non-embedded Helvetica on every page, which PDF/A forbids.
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1, initialFontName=FONT_NAME, initialFontSize=12)
    c.setProducer(PDF_PRODUCER)
    c.setTitle(f"公证书 {page.number}")
    c.setSubject(page.matter.title_zh)
    c.setAuthor(page.office_name)
    c.setCreator("enotary")
    # The id travels inside the document so a verifier can name what the PDF claims to be.
    c.setKeywords(f"ENOTARY-ID:{page.certificate_id}")
    width, height = A4

    for index, body in enumerate(zh_pages):
        if index == 0:
            c.setFont(FONT_NAME, 30)
            c.drawCentredString(width / 2, height - 40 * mm, "公  证  书")
            c.setFont(FONT_NAME, 12)
            c.drawRightString(width - 25 * mm, height - 55 * mm, page.number)
        else:
            _draw_running_header(c, f"公证书（续页）  {page.number}")
        _draw_body(c, page.matter, body)
        if index == len(zh_pages) - 1:
            _draw_closing(c, page)
        _draw_footer(c, f"证书标识 Certificate ID: {page.certificate_id}", f"第 {index + 1} 页 共 {total} 页", total)
        c.showPage()
    for index, body in enumerate(en_pages):
        _draw_translation(c, page, body, first=index == 0, last=index == len(en_pages) - 1,
                          page_label=f"Page {len(zh_pages) + index + 1} of {total}", total=total)
    make_pdfa(c)
    c.save()
    return buf.getvalue()


def _draw_closing(c: canvas.Canvas, page: CertificatePage) -> None:
    """The end of the Chinese part: office, notary and date bottom right with the seal over
    the office name as on paper; the QR code and the codes bottom left."""
    width = A4[0]
    base = ZH_CLOSING_BASE
    _draw_signature_block(c, _zh_signature_lines(page.office_name, page.matter, page.issue_date), 13, base,
                          page.matter, notary_line=1)
    _draw_seal(c, width - 62 * mm, base + 14 * mm, page.office_name)

    _draw_qr(c, page.verify_url, 25 * mm, 28 * mm)
    c.setFillColor(black)
    c.setFont(FONT_NAME, 8)
    c.drawString(25 * mm + QR_SIZE + 4 * mm, 50 * mm, "扫码核验  Scan to verify")
    c.drawString(25 * mm + QR_SIZE + 4 * mm, 45 * mm, f"核验码 Check code: {page.check_code}")
    if page.access_code:
        c.drawString(25 * mm + QR_SIZE + 4 * mm, 40 * mm, f"查验码 Access code: {page.access_code}")
    c.drawString(25 * mm + QR_SIZE + 4 * mm, 35 * mm, "本公证书经电子签名并锚定于公证区块链")


def _draw_translation(c: canvas.Canvas, page: CertificatePage, body: list[_Placed], *, first: bool, last: bool,
                      page_label: str, total: int) -> None:
    """A page of the English translation, certified to conform to the Chinese original."""
    width, height = A4
    matter = page.matter
    if first:
        c.setFont(FONT_NAME, 20)
        c.drawCentredString(width / 2, height - 40 * mm, "NOTARIAL CERTIFICATE")
        c.setFont(FONT_NAME, 11)
        c.drawCentredString(width / 2, height - 48 * mm, f"(Translation)   {matter.title_en}")
        c.drawRightString(width - 25 * mm, height - 58 * mm, f"No. {page.number}")
    else:
        _draw_running_header(c, f"Notarial certificate (translation, continued)   No. {page.number}")
    _draw_body(c, matter, body)
    if last:
        _draw_signature_block(c, _en_signature_lines(page, matter), 12, 95 * mm, matter, notary_line=2)
        c.setFont(FONT_NAME, 10)
        c.drawString(30 * mm, 60 * mm, "This translation conforms to the Chinese original.")
    _draw_footer(c, f"Certificate ID: {page.certificate_id}   Verify: {page.verify_url}", page_label, total)
    c.showPage()


def _zh_signature_lines(office_name: str, matter: MatterInput, day: dt.date) -> list[str]:
    return [f"中华人民共和国{office_name}", _zh_notary_line(matter), zh_formal_date(day)]


def _zh_notary_line(matter: MatterInput) -> str:
    return f"公证员  {matter.notary}"


def _en_signature_lines(page: CertificatePage, matter: MatterInput) -> list[str]:
    """The office in English with its official Chinese name beside it (the name on the
    seal of the original), the notary in pinyin, the date."""
    return [f"{page.office_en} ({page.office_name})", "People's Republic of China", _en_notary_line(matter),
            en_date(page.issue_date)]


def _en_notary_line(matter: MatterInput) -> str:
    return f"Notary: {matter.english('notary')}"


def correction_note_zh(number: str) -> str:
    """The sentence of a corrected certificate (更正) naming the certificate it replaces."""
    return f"本公证书系对{number}公证书的更正，原公证书自本公证书出具之日起作废。"


def correction_note_en(number: str) -> str:
    return f"This certificate corrects certificate No. {number}, which is void from the date of this certificate."


def _draw_running_header(c: canvas.Canvas, text: str) -> None:
    c.setFont(FONT_NAME, 9)
    c.drawRightString(A4[0] - 25 * mm, A4[1] - 22 * mm, text)


def _draw_footer(c: canvas.Canvas, left: str, page_label: str, total: int) -> None:
    c.setFillColor(black)
    c.setFont(FONT_NAME, 7)
    c.drawString(25 * mm, 20 * mm, left)
    if total > 1:
        # Below the left text when both do not fit on one line (the translation's verify URL is long).
        room = A4[0] - 50 * mm - pdfmetrics.stringWidth(left, FONT_NAME, 7) - 4 * mm
        y = 20 * mm if pdfmetrics.stringWidth(page_label, FONT_NAME, 7) <= room else 16 * mm
        c.drawRightString(A4[0] - 25 * mm, y, page_label)


# -- text that cannot be printed as recorded ------------------------------------------


def check_printable(matter: MatterInput, font_path: Path, *, bilingual: bool = False,
                    corrects_number: str | None = None) -> None:
    """Refuse, before anything is numbered, a matter whose text the certificate cannot show
    as recorded: a character the embedded font has no glyph for, a value that cannot be
    laid out on the page, or (``bilingual``) a value the English translation cannot
    render. Raises :class:`InvalidMatterData` naming the field (422).

    The same checks run inside :func:`render_certificate`; this is the cheap part of it
    (no drawing, no signing), for the issuing service to call first."""
    register_font(font_path)
    _refuse_missing_glyphs(matter, font_path, corrects_number)
    _layout_zh(matter, corrects_number)
    _signature_size(_zh_notary_line(matter), 13, matter)
    if bilingual:
        _layout_en(matter, corrects_number)
        _signature_size(_en_notary_line(matter), 12, matter)


def _refuse_missing_glyphs(matter: MatterInput, font_path: Path, corrects_number: str | None = None) -> None:
    charset = font_charset(font_path)
    errors = matter.glyph_errors(charset)
    found = problems(corrects_number, charset) if corrects_number else []
    if found:  # the number is ours, but it is printed like the matter's text
        en, zh = describe(found)
        rule = "glyph_missing" if found[0][2] == GLYPH_MISSING else "text_character"
        errors.append({"field": "corrects_number", "rule": rule, "message": en,
                       "message_zh": field_label_zh("corrects_number") + zh})
    if errors:
        raise invalid_fields(matter.key, matter.title_zh, errors)


def check_translation(matter: MatterInput) -> None:
    """Refuse (InvalidMatterData naming the field) a matter whose English page could not be
    made: what issuing a zh-en certificate would refuse, for a draft's readiness."""
    _english_statement(matter)


def _english_statement(matter: MatterInput) -> list[str]:
    """The paragraphs of the translation. Refused, naming the field, when they would carry
    Chinese: a value with no English (free text in Chinese without its ``*_en``, a value
    outside its table), or Chinese in a value printed as it is (a number)."""
    errors = []
    for path in matter.untranslated():
        companion = f"{path}_en"
        errors.append({"field": path, "rule": "translation_missing",
                       "message": f"has no English for the translation page (language zh-en); give {companion}",
                       "message_zh": f"{field_label_zh(path)}无法自动译成英文：出具中英文公证书时，"
                                     f"请填写{field_label_zh(companion)}"})
    if errors:
        raise invalid_fields(matter.key, matter.title_zh, errors)
    paragraphs = matter.statement_en()
    chinese = [f for f in matter.text_fields() if has_cjk(f[2])]
    for text in paragraphs:
        if has_cjk(text):
            path = _field_of(text, chinese, exact=False) or "(input)"
            raise invalid_fields(matter.key, matter.title_zh, [{
                "field": path, "rule": "translation_missing",
                "message": "holds Chinese, which the English translation would print as it is; "
                           "write it in Latin letters and digits",
                "message_zh": f"{field_label_zh(path)}含有中文，英文译文无法照录，请改用字母和数字"}])
    return paragraphs


def _layout_error(matter: MatterInput, field: str | None, rule: str) -> InvalidMatterData:
    """A value that cannot be laid out (``field`` None: the longest one is named)."""
    fields = {path: text for path, _, text in matter.text_fields()}
    if field is None or field not in fields:
        field = max(fields, key=lambda f: len(fields[f]))
    n = len(fields[field])
    if rule == "layout_overflow":
        en = f"too long to print on the certificate ({n} characters); shorten it"
        zh = f"{field_label_zh(field)}过长（{n} 个字符），无法在公证书上完整打印，请缩短"
    else:
        en = f"could not be laid out on the certificate ({n} characters); check this value"
        zh = f"{field_label_zh(field)}无法排入公证书页面（{n} 个字符），请核对该项内容"
    error = {"field": field, "rule": rule, "message": en, "message_zh": zh}
    return invalid_fields(matter.key, matter.title_zh, [error])


# -- layout: wrapped lines flowing over pages --------------------------------------------
#
# The body is wrapped here and drawn line by line with drawString, not with platypus
# Paragraphs: no markup parser ever sees the matter's text, spaces print as recorded, and
# a paragraph continued on the next page stays as it was (reportlab's Paragraph.split
# inserts a space at each former line break of a CJK paragraph's continued part).


@dataclass(frozen=True)
class _Style:
    size: float
    leading: float
    first_indent: float = 0.0


PARTICULAR = _Style(12, 16)
STATEMENT = _Style(13, 24, 26)
STATEMENT_EN = _Style(12, 19, 20)

# Closing punctuation hangs at the end of a line rather than start one; opening
# punctuation moves to the next line rather than end one (禁则).
_NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉〗”’…‥·～,.;:?!)]}%")
_NO_LINE_END = frozenset("（《「『【〔〈〖“‘([{")


def _is_wide(ch: str) -> bool:
    """A character that breaks like CJK: a line may end before or after it."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _units(text: str) -> list[str]:
    """Wrapping units: runs of spaces, single wide (CJK) characters, and words (runs of
    anything else)."""
    def wide(unit: str) -> bool:
        return len(unit) == 1 and _is_wide(unit) and not unit.isspace()

    units: list[str] = []
    for ch in text:
        if units and unicodedata.category(ch).startswith("M"):
            units[-1] += ch  # a combining mark stays with its base character
        elif not wide(ch) and units and not wide(units[-1]) and units[-1][-1].isspace() == ch.isspace():
            units[-1] += ch
        else:
            units.append(ch)
    return units


def wrap_text(text: str, size: float, width: float, first_indent: float = 0.0) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (the first ``first_indent``
    narrower) in the certificate font: at spaces, around CJK characters, and inside a
    word only when the word alone is wider than a line. Nothing is dropped but the
    spaces at a line break."""
    def w(s: str) -> float:
        return pdfmetrics.stringWidth(s, FONT_NAME, size)

    lines: list[str] = []
    line, line_w = "", 0.0
    avail = width - first_indent

    def end_line() -> None:
        nonlocal line, line_w, avail
        carry = ""
        body = line.rstrip()
        if len(body) > 1 and body[-1] in _NO_LINE_END:
            body, carry = body[:-1].rstrip(), body[-1]
        lines.append(body)
        line, line_w, avail = carry, w(carry), width

    for unit in _units(text):
        if unit.isspace():
            if line:
                line, line_w = line + unit, line_w + w(unit)
            continue
        unit_w = w(unit)
        if line_w + unit_w <= avail:
            line, line_w = line + unit, line_w + unit_w
            continue
        if len(unit) == 1 and unit in _NO_LINE_START and line.strip() and line_w + unit_w <= avail + 2 * size:
            line, line_w = line + unit, line_w + unit_w  # hangs into the margin (two characters at most)
            continue
        if line.strip():
            end_line()
            if line_w + unit_w <= avail:
                line, line_w = line + unit, line_w + unit_w
                continue
        # A word wider than the whole line: break it between characters.
        for ch in unit:
            ch_w = w(ch)
            if line_w + ch_w > avail and line.strip():
                end_line()
            line, line_w = line + ch, line_w + ch_w
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


@dataclass
class _Block:
    """Lines to place top-down: each line a list of (x, text) segments."""

    lines: list[list[tuple[float, str]]]
    style: _Style
    space_after: float
    field: str | None  # the matter field it shows (the longest one it contains)
    keep_together: bool = False


@dataclass
class _Placed:
    segments: list[tuple[float, str]]
    top: float
    style: _Style
    field: str | None


def _field_of(text: str, fields: list[tuple[str, int | None, str]], exact: bool) -> str | None:
    found = [(path, value) for path, _, value in fields if (value == text if exact else value and value in text)]
    return max(found, key=lambda pv: len(pv[1]))[0] if found else None


def _paragraph(text: str, style: _Style, space_after: float, field: str | None) -> _Block:
    lines = wrap_text(text, style.size, BODY_WIDTH, style.first_indent)
    return _Block([[(LEFT + (style.first_indent if i == 0 else 0), line)] for i, line in enumerate(lines)],
                  style, space_after, field)


def _particular(label: str, value: str, space_after: float, field: str | None) -> _Block:
    """A label, and its value wrapped in the column to its right; kept on one page."""
    values = wrap_text(value, PARTICULAR.size, LEFT + BODY_WIDTH - VALUE_X)
    lines = [[(LEFT, f"{label}："), (VALUE_X, values[0])]] + [[(VALUE_X, v)] for v in values[1:]]
    return _Block(lines, PARTICULAR, space_after, field, keep_together=True)


def _layout_zh(matter: MatterInput, corrects_number: str | None = None) -> list[list[_Placed]]:
    fields = list(matter.text_fields())
    rows = matter.particulars()
    blocks = []
    for i, (label, value) in enumerate(rows):
        field = _field_of(value, fields, exact=True)
        space = 8 * mm - PARTICULAR.leading + (4 * mm if i == len(rows) - 1 else 0)
        blocks.append(_guarded(matter, field, lambda: _particular(label, value, space, field)))
    blocks.append(_paragraph(f"公证事项：{matter.title_zh}", PARTICULAR, 8 * mm, None))
    for text in matter.statement():
        field = _field_of(text, fields, exact=False)
        blocks.append(_guarded(matter, field, lambda: _paragraph(text, STATEMENT, 6 * mm, field)))
    if corrects_number:  # the last paragraph of the body, just above the closing
        blocks.append(_paragraph(correction_note_zh(corrects_number), STATEMENT, 6 * mm, None))
    return _paginate(matter, blocks, ZH_FIRST_TOP, ZH_SIGNATURE_TOP)


def _layout_en(matter: MatterInput, corrects_number: str | None = None) -> list[list[_Placed]]:
    """The translation's pages; refused (naming the field) when a value has no English."""
    paragraphs = _english_statement(matter)
    fields = list(matter.text_fields())
    blocks = []
    for text in paragraphs:
        field = _field_of(text, fields, exact=False)
        blocks.append(_guarded(matter, field, lambda: _paragraph(text, STATEMENT_EN, 6 * mm, field)))
    if corrects_number:  # the number stays as it is written in Chinese
        blocks.append(_paragraph(correction_note_en(corrects_number), STATEMENT_EN, 6 * mm, None))
    return _paginate(matter, blocks, EN_FIRST_TOP, EN_SIGNATURE_TOP)


def _guarded(matter: MatterInput, field: str | None, make: Callable[[], _Block]) -> _Block:
    """``make()``, a failure of which refuses the field (422) instead of failing the request (500)."""
    try:
        return make()
    except NotaryError:
        raise
    except Exception as exc:
        log.exception("laying out %s failed", field)
        raise _layout_error(matter, _culprit(matter) or field, "render_failed") from exc


def _culprit(matter: MatterInput) -> str | None:
    """After an unexpected failure: the field whose value alone cannot be wrapped or drawn,
    if there is one (a paragraph mixes several fields)."""
    scratch = canvas.Canvas(io.BytesIO(), pagesize=A4)
    scratch.setFont(FONT_NAME, 12)
    for path, _, value in matter.text_fields():
        try:
            wrap_text(value, 12, BODY_WIDTH)
            scratch.drawString(0, 0, value)
        except Exception:
            return path
    return None


def _paginate(matter: MatterInput, blocks: list[_Block], first_top: float, closing_top: float) -> list[list[_Placed]]:
    """Pages of placed lines; the last page's lines end above ``closing_top`` (where the
    signature block begins), the others' above the footer."""
    pages, bottom = _flow(matter, blocks, first_top, lambda _: BODY_FLOOR)
    if bottom < closing_top:
        # The end runs into the signature block: stop that page above it, and continue.
        last = len(pages) - 1
        pages, bottom = _flow(matter, blocks, first_top, lambda i: closing_top if i >= last else BODY_FLOOR)
        if bottom < closing_top:  # cannot happen: a continuation page has the room
            raise _layout_error(matter, None, "layout_overflow")
    return pages


def _flow(matter: MatterInput, blocks: list[_Block], first_top: float,
          floor_of: Callable[[int], float]) -> tuple[list[list[_Placed]], float]:
    """Place the blocks' lines top-down, going on to a new page when a line (or a block
    kept together) does not fit. Returns the pages and the bottom of the last line."""
    pages: list[list[_Placed]] = [[]]
    y = bottom = first_top

    def new_page(block: _Block) -> None:
        nonlocal y
        if not pages[-1]:  # it does not fit on an empty page either
            raise _layout_error(matter, block.field, "layout_overflow")
        pages.append([])
        if len(pages) > MAX_PAGES:
            raise _layout_error(matter, None, "layout_overflow")
        y = NEXT_TOP

    for block in blocks:
        leading, lines = block.style.leading, block.lines
        while lines:
            room = int((y - floor_of(len(pages) - 1) + 0.01) // leading)
            take = _lines_to_take(len(lines), room, block.keep_together)
            if take == 0:
                new_page(block)
                continue
            for segments in lines[:take]:
                pages[-1].append(_Placed(segments, y, block.style, block.field))
                y = bottom = y - leading
            lines = lines[take:]
            if lines:
                new_page(block)
        y -= block.space_after
    return pages, bottom


def _lines_to_take(count: int, room: int, keep_together: bool) -> int:
    """How many of a block's ``count`` remaining lines go in ``room`` lines of space: all,
    or none (a particular, or a paragraph of up to three lines, stays together), or a part
    that leaves at least two lines on each page (no orphan or widow line)."""
    if count <= room:
        return count
    if keep_together or count <= 3:
        return 0
    take = min(room, count - 2)
    return take if take >= 2 else 0


def _draw_body(c: canvas.Canvas, matter: MatterInput, body: list[_Placed]) -> None:
    for placed in body:
        size, leading = placed.style.size, placed.style.leading
        c.setFont(FONT_NAME, size)
        baseline = placed.top - (leading - size) / 2 - 0.8 * size
        for x, text in placed.segments:
            try:
                c.drawString(x, baseline, text)
            except Exception as exc:  # a value the canvas cannot draw: the field is refused, not a 500
                log.exception("drawing %s failed", placed.field)
                raise _layout_error(matter, _culprit(matter) or placed.field, "render_failed") from exc


def _signature_size(line: str, size: float, matter: MatterInput, *, refuse: bool = True) -> float:
    """The font size at which a line of the signature block fits between the margins (a
    long notary name is set smaller rather than run off the page; below 7 points it is
    refused, naming the notary, unless ``refuse`` is False: the office's own lines)."""
    width = pdfmetrics.stringWidth(line, FONT_NAME, size)
    if width <= BODY_WIDTH:
        return size
    fitted = size * BODY_WIDTH / width
    if fitted < 7 and refuse:
        raise _layout_error(matter, "notary", "layout_overflow")
    return fitted


def _draw_signature_block(c: canvas.Canvas, lines: list[str], size: float, base: float, matter: MatterInput, *,
                          notary_line: int) -> None:
    """Office, notary and date, right-aligned, the last line at ``base``."""
    right = A4[0] - 30 * mm
    for i, line in enumerate(lines):
        c.setFont(FONT_NAME, _signature_size(line, size, matter, refuse=i == notary_line))
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
