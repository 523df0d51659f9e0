"""Text from outside on its way into a PDF: matter data in the certificate, a signer's name
from an uploaded PDF in the verification report.

Whatever a field holds is either refused (InvalidMatterData naming that field, before a
number is taken) or printed as exactly those characters: never interpreted as markup,
never hidden, never cut off, never a 500.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import pickle
import re
import typing
import uuid

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.lib.units import mm
from sqlmodel import Session, func, select

from issuer import render
from issuer.auth import Role, create_token
from records.errors import InvalidMatterData
from records.matters import EXAMPLES, MATTERS, parse_matter
from records.models import Certificate
from records.check_codes import check_code, verify_url
from issuer.render import CertificatePage, check_printable, render_certificate, wrap_text
from issuer.service import issue_certificate
from signing.text_safety import font_charset, markup, problems, visible
from notary.app import create_app
from notary.settings import DEFAULT_FONT
from verifier.report import CertificateSummary, Check, CheckStatus, Indication, Report
from verifier.report_pdf import MAX_SHOWN, SIGNER_SHOWN, render_report

FONT = DEFAULT_FONT
PAGE_HEIGHT = render.PAGE_HEIGHT

# -- hostile text -------------------------------------------------------------------------

HOSTILE = [
    "AT&T <Ltd", "<", ">", "&", "&amp;", "&lt;b&gt;", "&#x41;", "&nbsp;", "<b>粗体</b>", "<br/>", "甲<br/>乙",
    '<font color="white">隐藏的声明</font>', '<font size="0">x</font>', '<img src="/etc/passwd"/>',
    "<img src='/etc/passwd' width='500' height='500'/>", '<a href="javascript:alert(1)">点此</a>', "<para>x</para>",
    "<![CDATA[x]]>", "<!-- 注释 -->", "\u202e", "张\u202e明", "\u202dABC\u202c", "\u2066x\u2069", "\u200b", "a\u200db",
    "\u200c", "\ufeff张明", "\u00ad", "\u2028", "\u3164", "\ufe0f", "𠀀", "张𠀀明", "𪚥", "\ue000", "\U000f0000",
    "\ud800", "\x00", "a\nb", "\t", "\x1b[31m", '"quotes" and \'single\'', "back\\slash\\", ") Tj (", "(x) Tj ET BT",
    "\\) Tj \\(", "%PDF-1.7", "endstream endobj", "张" * 2000, "A" * 2000, "<font>" * 300, "ZHANG Ming 张明",
    "Müller-Lüdenscheidt", "José Ñúñez", "Zoë O'Brien", "李\u3000四", "  spaced   out  ", "（）《》“”", "１２３ＡＢＣ",
]
PIECES = [h for h in HOSTILE if len(h) < 100] + ["张明", "ZHANG", " ", "上海市", "<", "&", "\"", "'", "\\"]

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("张明李<>&\"'\\/ =() ABCabc123\u3000。，"), min_size=1, max_size=120),
)


def _norm(text: str) -> str:
    """Wrapping splits lines and text extraction adds line breaks: compare without any whitespace."""
    return re.sub(r"\s+", "", text)


# -- the certificate ----------------------------------------------------------------------


def _full_example(key: str) -> dict:
    """The example with every optional text field filled, so every field gets printed."""
    data = copy.deepcopy(EXAMPLES[key])
    data.setdefault("applicant_name_en", "SOME Name")
    data.setdefault("purpose", "留学")
    data.setdefault("destination", "美国")
    data.setdefault("accepting_office", "上海市徐汇公证处")
    if key == "marital-status":
        data.update(status="已婚", spouse_name="王强", since="2020-05-20")
    if key == "education":
        data.setdefault("major", "法学")
    if key == "nationality":
        data.setdefault("passport_number", "E12345678")
    return data


def _is_literal(model: type, parts: list[str]) -> bool:
    annotation = model.model_fields[parts[0]].annotation
    if len(parts) > 1:  # a list of models: name.index.field
        return _is_literal(typing.get_args(annotation)[0], parts[2:])
    return typing.get_origin(annotation) is typing.Literal


def _text_fields(key: str) -> list[str]:
    """Every free-text field of a matter (not the fixed choices), as errors name them."""
    matter = parse_matter(key, _full_example(key))
    paths = dict.fromkeys(path for path, _, _ in matter.text_fields())
    return [p for p in paths if not _is_literal(MATTERS[key], p.split("."))]


FIELDS = [(key, path) for key in sorted(MATTERS) for path in _text_fields(key)]


def _with(key: str, path: str, value: str) -> dict:
    data = _full_example(key)
    parts = path.split(".")
    if parts[0] == "powers":
        data["powers"][0] = value
    elif len(parts) == 3:
        data[parts[0]][int(parts[1])][parts[2]] = value
    else:
        data[parts[0]] = value
    if key == "inheritance" and path in ("applicant_name", "heirs.0.name"):
        data["applicant_name"] = data["heirs"][0]["name"] = value  # the applicant is one of the heirs
    return data


def _value_at(matter, path: str) -> str:
    parts = path.split(".")
    if parts[0] == "powers":
        return matter.powers[0]
    value = getattr(matter, parts[0])
    if len(parts) == 3:
        value = getattr(value[int(parts[1])], parts[2])
    return value


def _page(matter, bilingual: bool = True, number: str = "(2026)沪东证字第000123号") -> CertificatePage:
    cid = uuid.uuid4()
    code = check_code(b"k" * 32, cid)
    return CertificatePage(cid, number, "上海市东方公证处", dt.date(2026, 11, 23), matter,
                           verify_url("http://127.0.0.1:8000", cid, code), code, "ABCD-2345", bilingual=bilingual)


def _body_text(pdf: bytes) -> str:
    """The text between the running header and the footer of every page, in order (so a
    paragraph continued on the next page reads on), without whitespace."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return "".join(_norm(doc[i].get_textpage().get_text_bounded(bottom=25 * mm, top=PAGE_HEIGHT - 30 * mm))
                       for i in range(len(doc)))
    finally:
        doc.close()


def _all_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def _names(exc: InvalidMatterData, path: str) -> bool:
    """The refusal names the field: as the error's field, or (a rule across fields) at the
    start of its message."""
    return any(e["field"] == path or e["message"].startswith(f"{path}:") for e in exc.errors)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(field=st.sampled_from(FIELDS), value=hostile_text)
def test_hostile_text_in_any_field_is_refused_by_name_or_printed_verbatim(field, value):
    key, path = field
    try:
        matter = parse_matter(key, _with(key, path, value))
        pdf = render_certificate(_page(matter), FONT)
    except InvalidMatterData as exc:
        event(f"refused: {exc.errors[0]['rule']}")
        assert _names(exc, path), (path, exc.errors)
        for e in exc.errors:
            if e["rule"] in ("text_character", "glyph_missing"):
                assert "U+" in e["message"] and "U+" in e["message_zh"]
        return
    event("printed")
    recorded = _value_at(matter, path)
    assert _norm(recorded) in _body_text(pdf), (key, path, recorded)


@pytest.mark.parametrize("key, path", [("birth", "applicant_name"), ("kinship", "relatives.0.name"),
                                       ("power-of-attorney", "powers"), ("declaration", "text")])
@pytest.mark.parametrize("value, rule", [("张\u202e明", "text_character"), ("a\u200bb", "text_character"),
                                         ("x\ue000", "text_character"), ("a\nb", "text_character"),
                                         ("张𠀀明", "glyph_missing")])
def test_unprintable_characters_are_refused_naming_field_and_character(key, path, value, rule):
    with pytest.raises(InvalidMatterData) as exc:
        check_printable(parse_matter(key, _with(key, path, value)), FONT, bilingual=True)
    (error,) = exc.value.errors
    assert error["field"] == path and error["rule"] == rule
    assert exc.value.http_status == 422 and error["message_zh"] in exc.value.message_zh


def test_messages_a_clerk_understands():
    with pytest.raises(InvalidMatterData) as exc:
        check_printable(parse_matter("birth", {**EXAMPLES["birth"], "applicant_name": "张𠀀"}), FONT)
    assert "申请人姓名中的字符“𠀀”（U+20000）无法在公证书字体中显示" in exc.value.message_zh
    assert "U+20000" in exc.value.message and "applicant_name" in exc.value.message
    with pytest.raises(InvalidMatterData) as exc:
        parse_matter("kinship", {**EXAMPLES["kinship"], "relatives": [{"name": "刘\u202e华", "relation": "父亲"}]})
    (error,) = exc.value.errors
    assert error["field"] == "relatives.0.name"
    assert error["message_zh"].startswith("亲属（第1项）姓名中第2个字符是不可见的格式字符")
    assert "U+202E" in error["message_zh"] and "RIGHT-TO-LEFT OVERRIDE" in error["message"]


def test_markup_prints_as_text_and_embeds_nothing():
    text = '甲<font color="white">隐藏</font>乙 <img src="/etc/passwd"/> AT&T <Ltd &amp; <br/>完'
    matter = parse_matter("declaration", {**EXAMPLES["declaration"], "text": text,
                                          "applicant_name_en": "AT&T <Ltd"})
    pdf = render_certificate(_page(matter), FONT)
    body = _body_text(pdf)
    assert _norm(text) in body and "AT&T<Ltd" in body
    reader = PdfFileReader(io.BytesIO(pdf))
    for page in reader.root["/Pages"]["/Kids"]:
        assert "/XObject" not in page.get_object()["/Resources"]  # no image, no form: the QR is vector


def test_a_long_value_wraps_and_continues_on_numbered_pages():
    matter = parse_matter("declaration", {**EXAMPLES["declaration"], "text": "本人声明" * 500,
                                          "accepting_office": "上海市" + "某" * 77})
    pdf = render_certificate(_page(matter), FONT)
    doc = pdfium.PdfDocument(pdf)
    assert len(doc) > 2
    body = _body_text(pdf)
    assert "本人声明" * 500 in body and "上海市" + "某" * 77 in body
    text = _norm(_all_text(pdf))
    assert f"第1页共{len(doc)}页" in text and "公证书（续页）(2026)沪东证字第000123号" in text
    # Nothing written over the closing: on the last Chinese page the text ends above the seal.
    last_zh = next(i for i in range(len(doc)) if "公证员王丽" in _norm(doc[i].get_textpage().get_text_range()))
    textpage = doc[last_zh].get_textpage()
    bottoms = [textpage.get_charbox(i)[1] for i in range(textpage.count_chars())
               if textpage.get_text_range(i, 1) == "声"]
    assert bottoms and min(bottoms) >= render.ZH_SIGNATURE_TOP - 1 * mm


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("张明李上海市，。（）《》ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789 -/\u3000"),
               max_size=400),
       st.sampled_from([(12.0, 60 * mm), (13.0, render.BODY_WIDTH), (12.0, render.BODY_WIDTH)]))
def test_wrapping_keeps_every_character_and_the_margins(text, size_width):
    size, width = size_width
    lines = wrap_text(text, size, width, first_indent=20)
    assert _norm("".join(lines)) == _norm(text)
    from reportlab.pdfbase.pdfmetrics import stringWidth

    render.register_font(FONT)
    for line in lines:  # closing punctuation may hang two characters into the margin
        assert stringWidth(line, render.FONT_NAME, size) <= width + 2 * size + 0.01


def test_errors_cross_the_signing_process_boundary():
    error = InvalidMatterData("bad", [{"field": "applicant_name", "rule": "glyph_missing", "message": "m"}], "坏")
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), back.errors, back.message_zh, back.code) == (InvalidMatterData, error.errors, "坏",
                                                                     "INVALID_MATTER_DATA")


def test_policy_and_escaping_helpers():
    assert markup('<font color="white">&amp;') == '&lt;font color="white"&gt;&amp;amp;'
    assert [reason for _, _, reason in problems("a\u202eb\x00\ue000\u200b")] == ["invisible", "control",
                                                                                 "private_use", "invisible"]
    assert problems("张明 ZHANG Ming（）", font_charset(FONT)) == []
    assert visible("A\u202eB𠀀", font_charset(FONT)) == "A[U+202E]B[U+20000]"


# -- refused before a number is taken -----------------------------------------------------


def test_refused_text_takes_no_number_and_stores_nothing(sqlite_runtime, monkeypatch):
    rt = sqlite_runtime
    token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {token}"}

    def issue(data: dict):
        # ASCII JSON, so that a lone surrogate travels as the escape \\ud800 a client may send
        body = json.dumps({"matter": "birth", "data": data, "language": "zh-en"}, ensure_ascii=True)
        return client.post("/api/v1/certificates", content=body,
                           headers={**headers, "Content-Type": "application/json"})

    def count() -> int:
        with Session(rt.engine) as s:
            return s.exec(select(func.count()).select_from(Certificate)).one()

    first = issue(EXAMPLES["birth"])
    assert first.status_code == 201, first.text
    for change, field in [({"applicant_name": "张𠀀"}, "applicant_name"), ({"father_name": "张\u202e建国"}, "father_name"),
                          ({"birth_place": "上海\u200b"}, "birth_place")]:
        r = issue({**EXAMPLES["birth"], **change})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "INVALID_MATTER_DATA" and [f["field"] for f in error["fields"]] == [field]
        assert error["message_zh"].startswith("出生公证申请数据有误")
    # Not text at all (a JSON escape for half a character): refused at the request, naming where.
    r = issue({**EXAMPLES["birth"], "mother_name": "李\ud800"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_REQUEST"
    assert "mother_name" in r.json()["error"]["message"]
    r = issue({**EXAMPLES["birth"], "applicant_name_en": "AT&T <Ltd"})  # markup is printed, not refused
    assert r.status_code == 201, r.text
    assert "AT&T<Ltd" in _body_text(client.get(f"/api/v1/certificates/{r.json()['id']}/pdf", headers=headers).content)

    # A failure inside rendering, after the number was taken: refused (422, a field named) and rolled back.
    draw_string = render.canvas.Canvas.drawString

    def broken(self, x, y, text, *args, **kwargs):
        if "黄浦区" in text:  # the birth place, in the statement: fails only when drawing, after numbering
            raise RuntimeError("reportlab could not draw this")
        return draw_string(self, x, y, text, *args, **kwargs)

    monkeypatch.setattr(render.canvas.Canvas, "drawString", broken)
    with pytest.raises(InvalidMatterData) as exc:
        issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    assert exc.value.errors[0]["rule"] == "render_failed" and exc.value.errors[0]["field"] == "birth_place"
    monkeypatch.undo()

    last = issue(EXAMPLES["birth"])
    assert last.status_code == 201
    serials = [int(re.search(r"第(\d+)号", x.json()["number"]).group(1)) for x in (first, r, last)]
    assert serials == [serials[0], serials[0] + 1, serials[0] + 2]
    assert count() == 3


# -- the verification report --------------------------------------------------------------


def _report(signer: str | None, office: str | None, indication=Indication.FAILED) -> Report:
    checks = [Check(name="document_integrity", status=CheckStatus.INVALID, code="DOCUMENT_MODIFIED",
                    message_zh="文件在签名后被修改", message_en="the document was changed after signing")]
    summary = CertificateSummary(id=uuid.uuid4(), number_masked="(2026)沪东证字第0001**号", matter="birth",
                                 matter_zh="出生公证", office="上海市东方公证处", issue_date=dt.date(2026, 11, 23),
                                 status="issued")
    return Report(indication=indication, checks=checks, signer=signer, office=office, certificate=summary,
                  document_sha256="ab" * 32)


def _shown(value: str) -> str:
    shown = visible(value, font_charset(FONT))
    return shown[:MAX_SHOWN]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signer=hostile_text, office=hostile_text)
def test_hostile_signer_and_office_are_printed_as_text_in_the_report(signer, office):
    text = _norm(_all_text(render_report(_report(signer, office), FONT)))
    assert "结论Verdict:核验未通过FAILED" in text
    # An untrusted signer's name is its own claim: marked as such and cut (verifier/report_pdf.py).
    shown = [_norm(_shown(signer[:SIGNER_SHOWN])), _norm(_shown(office))]
    for s in shown:
        assert s in text
    for s in sorted(shown, key=len, reverse=True):
        text = text.replace(s, "", 1)
    assert "PASSED" not in text  # no verdict but the report's own


def test_injected_verdict_stays_literal_text():
    signer = '<font color="green">核验通过 PASSED</font>'
    pdf = render_report(_report(signer, '<img src="/etc/passwd"/>'), FONT)
    lines = _all_text(pdf).splitlines()
    verdicts = [line for line in lines if line.startswith("结论")]
    assert verdicts == ["结论 Verdict: 核验未通过 FAILED"]
    assert _norm(signer) in _norm(_all_text(pdf)) and '<img src="/etc/passwd"/>' in _all_text(pdf)
    reader = PdfFileReader(io.BytesIO(pdf))
    for page in reader.root["/Pages"]["/Kids"]:
        assert "/XObject" not in page.get_object()["/Resources"]


def test_report_shows_invisible_characters_and_survives_absurd_lengths():
    pdf = render_report(_report("上海市东方公证处\u202e（伪）", "AT&T <Ltd"), FONT)
    assert "上海市东方公证处[U+202E]（伪）" in _all_text(pdf) and "AT&T <Ltd" in _all_text(pdf)
    pdf = render_report(_report(None, "名" * 20000), FONT)
    assert "more characters not shown" in _norm(_all_text(pdf)) or "morecharactersnotshown" in _norm(_all_text(pdf))
    # An untrusted signer's name is cut much shorter (it is only the signer's own claim).
    pdf = render_report(_report("名" * 20000, None), FONT)
    assert "名" * SIGNER_SHOWN in _norm(_all_text(pdf)) and "名" * (SIGNER_SHOWN + 1) not in _norm(_all_text(pdf))
