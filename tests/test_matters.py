"""Every matter issues, renders (in Chinese, and bilingual for use abroad) and verifies;
the policy rules hold with their own error codes."""

from __future__ import annotations

import datetime as dt

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from issuer.auth import Role, create_token
from issuer.matters import EXAMPLES, MATTERS, parse_matter
from issuer.models import Certificate
from issuer.policy import PolicyViolation, apply_policies
from issuer.service import issue_certificate
from notary.app import create_app
from verifier.report import Indication
from verifier.service import verify_pdf


def _text(pdf: bytes, page: int) -> str:
    return pdfium.PdfDocument(pdf)[page].get_textpage().get_text_range().replace("\r\n", " ").replace("\n", " ")


def test_twelve_matters_in_both_languages(sqlite_runtime):
    rt = sqlite_runtime
    assert len(MATTERS) >= 12
    issued = {}
    for key in MATTERS:
        issued[key] = issue_certificate(rt.issuer_context(), key, EXAMPLES[key], language="zh-en")
    rt.worker().run_once(force=True)
    for key, cert in issued.items():
        doc = pdfium.PdfDocument(cert.pdf)
        assert len(doc) == 2, key
        matter = parse_matter(key, EXAMPLES[key])
        assert matter.title_zh in _text(cert.pdf, 0)
        english = _text(cert.pdf, 1)
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
    old = issue_certificate(rt.issuer_context(), "will", EXAMPLES["will"])  # born 1940: 86
    younger = {**EXAMPLES["will"], "birth_date": "1950-05-01", "id_number": "310112195005010010",
               "safekeeping": False}
    young = issue_certificate(rt.issuer_context(), "will", younger)
    kept = issue_certificate(rt.issuer_context(), "will", {**younger, "safekeeping": True})
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
    from issuer.errors import InvalidMatterData

    with pytest.raises(InvalidMatterData) as exc:
        parse_matter(key, {**EXAMPLES[key], **change})
    assert field in exc.value.message
