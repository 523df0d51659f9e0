"""The rendered certificate: embedded CJK subset font, printed fields, QR decodable at
print-scan quality, notarial numbering and ID-number rules."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ImageFilter
from pyhanko.pdf_utils.reader import PdfFileReader

from records import idnumber
from records.errors import InvalidMatterData, UnknownMatter
from records.matters import EXAMPLES, MATTERS, parse_matter, zh_formal_date
from records.numbers import format_number, mask_number
from records.check_codes import check_code, check_code_matches, verify_url
from issuer.render import CertificatePage, render_certificate
from notary.settings import DEFAULT_FONT
from tests.pdf_tools import decode_qr, render_page


def _page(matter_key="birth"):
    cid = uuid.uuid4()
    code = check_code(b"k" * 32, cid)
    return CertificatePage(cid, "(2026)沪东证字第000123号", "上海市东方公证处", dt.date(2026, 11, 23),
                           parse_matter(matter_key, EXAMPLES[matter_key]), verify_url("http://127.0.0.1:8000", cid, code),
                           code)


@pytest.mark.parametrize("matter", sorted(MATTERS))
def test_font_is_embedded_as_a_subset(matter):
    pdf = render_certificate(_page(matter), DEFAULT_FONT)
    reader = PdfFileReader(io.BytesIO(pdf))
    fonts = reader.root["/Pages"]["/Kids"][0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font = ref.get_object()
        descendants = font.get("/DescendantFonts")
        target = descendants[0].get_object() if descendants else font
        descriptor = target.get("/FontDescriptor")
        if descriptor is not None and "/FontFile2" in descriptor.get_object():
            embedded.append(str(target["/BaseFont"]))
    assert embedded, "no embedded TrueType font"
    # Subset fonts are named with a six-letter tag: ABCDEF+FontName.
    assert all(len(name.lstrip("/").split("+")[0]) == 6 and "+" in name for name in embedded)
    assert len(pdf) < 200_000


def test_printed_text_and_qr_survive_a_blurred_low_resolution_scan():
    page = _page()
    pdf = render_certificate(page, DEFAULT_FONT)
    image = render_page(pdf, dpi=150).filter(ImageFilter.GaussianBlur(1.0)).rotate(3, expand=True, fillcolor="white")
    assert decode_qr(image) == [page.verify_url]
    import pypdfium2 as pdfium

    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    for expected in ("公", "(2026)沪东证字第000123号", "张明", "上海市黄浦区", "二〇二六年十一月二十三日", page.check_code):
        assert expected in text


def test_numbers_dates_and_masks():
    assert format_number(2026, "沪东", 123) == "(2026)沪东证字第000123号"
    assert mask_number("(2026)沪东证字第000123号") == "(2026)沪东证字第0001**号"
    assert zh_formal_date(dt.date(2026, 10, 1)) == "二〇二六年十月一日"
    assert zh_formal_date(dt.date(2030, 12, 20)) == "二〇三〇年十二月二十日"


def test_id_numbers():
    assert idnumber.validate("11010519491231002x") == "11010519491231002X"
    for bad in ("110105194912310021", "11010519491331002X", "1101051949123100", "abc"):
        with pytest.raises(ValueError):
            idnumber.validate(bad)
    assert idnumber.mask("310101199003070027") == "3101*************7"


def test_field_errors_name_the_field_and_rule():
    with pytest.raises(InvalidMatterData) as exc:
        parse_matter("birth", {**EXAMPLES["birth"], "id_number": "310101199003070028", "sex": "X"})
    fields = {e["field"] for e in exc.value.errors}
    assert {"id_number", "sex"} <= fields
    with pytest.raises(InvalidMatterData) as exc:
        parse_matter("no-criminal-record", {**EXAMPLES["no-criminal-record"], "period_from": "2030-01-01"})
    assert "period_from" in exc.value.message
    with pytest.raises(InvalidMatterData):
        parse_matter("birth", {**EXAMPLES["birth"], "unexpected": 1})
    with pytest.raises(UnknownMatter):
        parse_matter("marriage-abroad", {})


def test_check_codes():
    cid = uuid.uuid4()
    code = check_code(b"a" * 32, cid)
    assert len(code) == 6 and check_code_matches(b"a" * 32, cid, code.lower())
    assert not check_code_matches(b"b" * 32, cid, code)
    assert not check_code_matches(b"a" * 32, uuid.uuid4(), code)
    assert not check_code_matches(b"a" * 32, cid, None)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=300))
def test_qr_version_found_by_length_fits_every_url(url):
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    from issuer.qr import QR_MASK, qr_matrix

    matrix = qr_matrix(url)  # never overflows its version
    searched = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, mask_pattern=QR_MASK)
    searched.add_data(url)
    searched.make(fit=True)
    assert len(matrix) >= len(searched.get_matrix())  # at most as small as the full search


# -- a correction (更正) names the certificate it replaces ---------------------------------

CORRECTED = "(2026)沪东证字第000012号"


def _chars(pdf: bytes, page: int) -> tuple[str, list[tuple[float, float]]]:
    """A page's text, one character per index, and each character's (bottom, top) in points."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        textpage = doc[page].get_textpage()
        n = textpage.count_chars()
        text = "".join(textpage.get_text_range(i, 1) or " " for i in range(n))
        boxes = [(box[1], box[3]) for box in (textpage.get_charbox(i) for i in range(n))]
        return text, boxes
    finally:
        doc.close()


def _flat(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("matter", ["birth", "will", "declaration"])
def test_a_correction_names_the_certificate_it_replaces_above_the_closing(matter):
    import pypdfium2 as pdfium
    from reportlab.lib.units import mm

    from issuer import render

    page = replace(_page(matter), bilingual=True, corrects_number=CORRECTED)
    pdf = render_certificate(page, DEFAULT_FONT)
    pages = [_chars(pdf, i) for i in range(len(pdfium.PdfDocument(pdf)))]
    zh_closing = next(i for i, (text, _) in enumerate(pages) if "公证员" in text)
    en_closing = next(i for i, (text, _) in enumerate(pages) if "Notary:" in text)
    # In the order of the body: the statement, the note, then the office, notary and seal.
    zh = "".join(_flat(text) for text, _ in pages[:zh_closing + 1])
    note_zh = f"本公证书系对{CORRECTED}公证书的更正，原公证书自本公证书出具之日起作废。"
    assert zh.index(_flat(page.matter.statement()[-1])) < zh.index(note_zh) < zh.index("中华人民共和国" + page.office_name)
    en = "".join(_flat(text) for text, _ in pages[zh_closing + 1:en_closing + 1])
    note_en = f"This certificate corrects certificate No. {CORRECTED}, which is void from the date of this certificate."
    assert en.index(_flat(page.matter.statement_en()[-1])) < en.index(_flat(note_en)) < en.index("NotaryPublicOffice")
    # On the closing page, and clear of the signature block (a two-line note is not split).
    for index, note, floor in ((zh_closing, "本公证书系对", render.ZH_SIGNATURE_TOP),
                               (en_closing, "This certificate corrects", render.EN_SIGNATURE_TOP)):
        text, boxes = pages[index]
        start = text.index(note)
        assert all(bottom >= floor - 1 * mm for bottom, _ in boxes[start:start + len(note)])
    # Not on a certificate that corrects nothing.
    plain = render_certificate(replace(page, corrects_number=None), DEFAULT_FONT)
    assert not any("更正" in _chars(plain, i)[0] or "corrects" in _chars(plain, i)[0]
                   for i in range(len(pdfium.PdfDocument(plain))))


def test_a_long_correction_continues_and_still_ends_above_the_closing():
    long = parse_matter("declaration", {**EXAMPLES["declaration"], "text": "本人声明" * 160})
    pdf = render_certificate(replace(_page("declaration"), matter=long, corrects_number=CORRECTED), DEFAULT_FONT)
    import pypdfium2 as pdfium

    pages = len(pdfium.PdfDocument(pdf))
    texts = [_flat(_chars(pdf, i)[0]) for i in range(pages)]
    closing = next(i for i, t in enumerate(texts) if "公证员王丽" in t)
    assert "本公证书系对" + CORRECTED in "".join(texts[:closing + 1])
    assert not any("本公证书系对" in t for t in texts[closing + 1:])


def test_the_number_corrected_passes_the_font_check():
    from issuer.render import check_printable

    matter = parse_matter("birth", EXAMPLES["birth"])
    check_printable(matter, DEFAULT_FONT, bilingual=True, corrects_number=CORRECTED)
    with pytest.raises(InvalidMatterData) as exc:
        check_printable(matter, DEFAULT_FONT, corrects_number="(2026)𠀀证字第000012号")
    assert [e["field"] for e in exc.value.errors] == ["corrects_number"]
    assert "所更正的公证书编号" in exc.value.message_zh
