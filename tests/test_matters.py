"""Every matter issues, renders (in Chinese, and bilingual for use abroad) and verifies;
the policy rules hold with their own error codes."""

from __future__ import annotations

import datetime as dt
import re
import types
import typing

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlmodel import Session, func, select

from issuer.auth import Role, create_token
from records.errors import InvalidMatterData
from records.matters import EXAMPLES, MATTERS, parse_matter
from records.models import Certificate
from issuer.policy import PolicyViolation, apply_policies
from issuer.service import issue_certificate, issue_parsed
from notary.app import create_app
from verifier.report import Indication
from verifier.service import verify_pdf


def _text(pdf: bytes, page: int) -> str:
    return pdfium.PdfDocument(pdf)[page].get_textpage().get_text_range().replace("\r\n", " ").replace("\n", " ")


def test_twelve_matters_in_both_languages(sqlite_runtime):
    rt = sqlite_runtime
    assert len(MATTERS) >= 12
    issued = {}
    for key, model in MATTERS.items():
        if model.requested_by_staff:
            issued[key] = issue_certificate(rt.issuer_context(), key, EXAMPLES[key], language="zh-en")
        else:  # issued from the service's own record (evidence preservation), never from typed data
            issued[key] = issue_parsed(rt.issuer_context(), key, parse_matter(key, EXAMPLES[key]), language="zh-en")
    rt.worker().run_once(force=True)
    for key, cert in issued.items():
        doc = pdfium.PdfDocument(cert.pdf)
        # A page in each language; the preservation certificate's statement (a 64-digit
        # fingerprint, its times, its custody) continues on a numbered page (续页) in each.
        pages = 4 if key == "evidence-preservation" else 2
        assert len(doc) == pages, key
        matter = parse_matter(key, EXAMPLES[key])
        assert matter.title_zh in _text(cert.pdf, 0)
        english = " ".join(_text(cert.pdf, i) for i in range(pages // 2, pages))
        assert "This translation conforms to the Chinese original" in english
        assert matter.statement_en()[0][:30] in english, key
        assert verify_pdf(rt.verifier_context(), cert.pdf).indication is Indication.PASSED, key


def test_elderly_full_power_of_attorney_over_real_estate_is_refused(sqlite_runtime):
    rt = sqlite_runtime
    elderly = {**EXAMPLES["power-of-attorney"], "applicant_name": "钱老先生", "birth_date": "1950-05-01",
               "id_number": "310112195005010010", "scope": "全权委托", "disposes_real_estate": True,
               "powers": ["代为出售上海市闵行区某路某号房屋"]}
    with pytest.raises(PolicyViolation) as exc:
        issue_certificate(rt.issuer_context(), "power-of-attorney", elderly)
    assert exc.value.code == "POLICY_ELDERLY_FULL_POA" and "60" in exc.value.message_zh
    with Session(rt.engine) as s:
        assert s.exec(select(func.count()).select_from(Certificate)).one() == 0  # no number consumed
    # Specific powers, or no real estate, or a younger principal: allowed.
    issue_certificate(rt.issuer_context(), "power-of-attorney", {**elderly, "scope": "特别授权"})
    issue_certificate(rt.issuer_context(), "power-of-attorney", {**elderly, "disposes_real_estate": False})
    issue_certificate(rt.issuer_context(), "power-of-attorney",
                      {**EXAMPLES["power-of-attorney"], "scope": "全权委托", "disposes_real_estate": True})
    # Through the API: a 422 with the rule's own code.
    token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    r = client.post("/api/v1/certificates", json={"matter": "power-of-attorney", "data": elderly},
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "POLICY_ELDERLY_FULL_POA"


def test_will_fees_and_cross_office_records(sqlite_runtime):
    rt = sqlite_runtime
    # A fixed issue day: ages (and so fee exemptions) must not change with the year the test runs in.
    day = dt.date(2026, 11, 25)
    old = issue_certificate(rt.issuer_context(), "will", EXAMPLES["will"], issue_date=day)  # born 1940: 86
    younger = {**EXAMPLES["will"], "birth_date": "1950-05-01", "id_number": "310112195005010010",
               "safekeeping": False}
    young = issue_certificate(rt.issuer_context(), "will", younger, issue_date=day)  # 76
    kept = issue_certificate(rt.issuer_context(), "will", {**younger, "safekeeping": True}, issue_date=day)
    cross = issue_certificate(rt.issuer_context(), "birth", {**EXAMPLES["birth"], "accepting_office": "上海市徐汇公证处"})
    with Session(rt.engine) as s:
        get = lambda c: s.get(Certificate, c.id)  # noqa: E731
        assert get(old).fee_exempt and "80" in get(old).fee_note
        assert not get(young).fee_exempt
        assert get(kept).fee_exempt and "保管" in get(kept).fee_note
        assert get(cross).accepting_office == "上海市徐汇公证处"
    assert "受理机构" in _text(cross.pdf, 0) and "上海市徐汇公证处" in _text(cross.pdf, 0)
    assert apply_policies(parse_matter("birth", EXAMPLES["birth"]), dt.date.today()).fee_exempt is False


@pytest.mark.parametrize("key, change, field", [
    ("marital-status", {"status": "已婚"}, "spouse_name"),
    ("inheritance", {"heirs": [{"name": "别人", "relation": "儿子"}]}, "heirs"),
    ("education", {"graduated": "2010-01-01"}, "graduated"),
    ("kinship", {"relatives": []}, "relatives"),
    ("power-of-attorney", {"agent_id_number": "123"}, "agent_id_number"),
])
def test_field_errors_per_matter(key, change, field):
    from records.errors import InvalidMatterData

    with pytest.raises(InvalidMatterData) as exc:
        parse_matter(key, {**EXAMPLES[key], **change})
    assert field in exc.value.message


# -- every validation error a clerk can meet reads in Chinese ------------------------------

_NOT_A_DATE = ["no date", "2026-02-30", 1.5, "2026-01-01T10:30:00", ""]


def _constraint(info, name: str) -> int | None:
    return next((getattr(m, name) for m in info.metadata if getattr(m, name, None) is not None), None)


def _base_type(annotation):
    """The annotation without ``| None``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return inner
    return annotation


def _bad_values(name: str, info, example: object):
    """Values that break a field in each way its type allows (other than a missing value)."""
    kind = _base_type(info.annotation)
    if typing.get_origin(kind) is typing.Literal:
        yield from ("X", 1)
    elif kind is bool:
        yield from ("maybe", [])
    elif kind is dt.date:
        yield from _NOT_A_DATE
    elif kind is str:
        yield from (12345, "", "   ", "张\u202e明")
        if (longest := _constraint(info, "max_length")) is not None:
            yield "x" * (longest + 1)
        if (shortest := _constraint(info, "min_length")) and shortest > 1:
            yield "1" * (shortest - 1)
        if name.endswith("_pinyin"):
            yield "Nonsense Words"
        if name.endswith("_en"):
            yield "中文"
        if name.endswith("id_number"):
            yield from ("31010119900307002Y", "310101199003070028", "110105194913310021")
    elif typing.get_origin(kind) is list:
        item = typing.get_args(kind)[0]
        yield from ("not a list", [], [1], [None])
        if (longest := _constraint(info, "max_length")) is not None:
            yield list(example or ["x"])[:1] * (longest + 1)
        if item is str:
            yield from ([""], ["x" * 1000], ["中文"] if name.endswith("_en") else ["张\u202e明"])


def _breaks(model, example: dict, prefix: str = ""):
    """(path, data): ``example`` with one field of ``model`` broken, for every field and
    every way (nested models in lists too: their fields are broken in the first item)."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if info.is_required():
            yield path, {k: v for k, v in example.items() if k != name}
        for value in _bad_values(name, info, example.get(name)):
            yield path, {**example, name: value}
        kind = _base_type(info.annotation)
        item = typing.get_args(kind)[0] if typing.get_origin(kind) is list else None
        if isinstance(item, type) and issubclass(item, BaseModel) and example.get(name):
            first, rest = example[name][0], example[name][1:]
            yield f"{path}.0", {**example, name: [{**first, "unexpected": 1}, *rest]}
            yield f"{path}.0", {**example, name: ["not an object", *rest]}
            for inner, broken in _breaks(item, first, f"{path}.0."):
                yield inner, {**example, name: [broken, *rest]}
    yield "unexpected", {**example, "unexpected": 1}


_ACROSS_FIELDS = {  # rules across fields, broken one by one
    "birth": [{"birth_date": "1990-03-08"}, {"birth_date": "1800-01-01"}, {"birth_date": "2999-01-01"}],
    "marital-status": [{"status": "已婚"}, {"spouse_name": "王强"}],
    "no-criminal-record": [{"period_from": "2027-01-01", "period_to": "2026-01-01"}, {"period_to": "2999-01-01"},
                           {"period_from": "1980-01-01"}],
    "education": [{"graduated": "2010-01-01"}],
    "experience": [{"positions": [{"start": "2015-07-01", "end": "2010-01-01", "organisation": "上海某银行",
                                   "position": "经理"}]}],
    "inheritance": [{"heirs": [{"name": "别人", "relation": "儿子"}]}, {"died_on": "2999-01-01"}],
    "power-of-attorney": [{"powers_en": ["one", "two"]}, {"powers": ["代" * 201]}, {"powers_en": ["x" * 601]}],
}

# What a Chinese message may quote in Latin letters, by rule: a key the client sent that is
# no field (it can only be named as sent), the pinyin a name reads as (it is Latin), and a
# character's Unicode name after its code point (the standard name, as the English says it).
_QUOTED = {"extra_forbidden": r"“[^”]*”", "pinyin_mismatch": r"“[^”]*”",
           "text_character": r"U\+[0-9A-F]{4,6}（[^）]*）"}


def _chinese_throughout(error: dict) -> bool:
    zh = re.sub(_QUOTED.get(error["rule"], "(?!)"), "", error.get("message_zh") or "")
    return bool(zh) and "Value error" not in zh and re.search(r"[A-Za-z]{3,}", zh) is None


@pytest.mark.parametrize("key", sorted(MATTERS))
def test_every_validation_error_reads_in_chinese(key):
    cases = list(_breaks(MATTERS[key], EXAMPLES[key]))
    cases += [("(across fields)", {**EXAMPLES[key], **change}) for change in _ACROSS_FIELDS.get(key, [])]
    cases += [("(input)", "not an object"), ("(input)", None)]
    rules = set()
    for broken, data in cases:
        try:
            parse_matter(key, data)
        except InvalidMatterData as exc:
            assert exc.http_status == 422
            for error in exc.errors:
                rules.add(error["rule"])
                assert _chinese_throughout(error), (broken, error)
            assert exc.message_zh == f"{MATTERS[key].title_zh}申请数据有误：" + "；".join(
                e["message_zh"] for e in exc.errors)
        else:  # only a value that is allowed after all: a blank optional text, an id read leniently
            assert broken.rpartition(".")[2] in _MAY_PASS, (broken, data)
    # The walk met the errors it is meant to meet.
    assert {"missing", "string_type", "string_too_short", "string_too_long", "extra_forbidden", "value_error",
            "text_character", "literal_error", "date_from_datetime_parsing", "pinyin_mismatch", "not_english",
            "model_type"} <= rules, rules


# Optional fields given a blank string strip to "" and fail min_length only where one is set.
_MAY_PASS = {"applicant_name_en", "applicant_name_pinyin", "notary_pinyin", "purpose", "destination",
             "accepting_office", "spouse_name", "spouse_name_pinyin", "passport_number", "major", "father_name_pinyin",
             "mother_name_pinyin", "name_pinyin", "agent_name_pinyin", "deceased_name_pinyin"}


def test_field_errors_say_what_is_wrong_in_chinese():
    def zh(key, change):
        with pytest.raises(InvalidMatterData) as exc:
            parse_matter(key, {**EXAMPLES[key], **change})
        return [e["message_zh"] for e in exc.value.errors]

    assert zh("birth", {"id_number": "310101199003070028"}) == ["公民身份号码校验码不符（GB 11643），请核对号码"]
    assert zh("birth", {"sex": "X"}) == ["性别只能是“男”、“女”之一"]
    assert zh("birth", {"father_name": "张" * 41}) == ["父亲姓名不能超过 40 个字符"]
    assert zh("birth", {"birth_date": "1990-03-08"}) == ["公民身份号码中的出生日期与所填出生日期不一致"]
    assert zh("kinship", {"relatives": []}) == ["亲属至少需要 1 项"]
    assert zh("kinship", {"relatives": [{"name": "刘德华"}]}) == ["亲属（第1项）关系为必填项"]
    assert zh("experience", {"positions": [{"start": "2015-07-01", "end": "2010-01-01", "organisation": "某",
                                            "position": "经理"}]}) == ["工作经历（第1项）截止日期不能早于起始日期"]
    assert zh("birth", {"unexpected": 1}) == ["“unexpected”不是本公证事项的栏目，请删除"]
    assert zh("birth", {"father_name_pinyin": "LI Jianguo"}) == [
        "父亲姓名拼音与姓名“张建国”的拼音不符（应姓在前，如“ZHANG Jianguo”）"]
