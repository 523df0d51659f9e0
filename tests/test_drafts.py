"""Drafts (草稿): office-only, no number until issued, issued at most once, policies checked."""

from __future__ import annotations

import threading

from sqlmodel import Session, func, select

from records.audit import AuditEvent, verify_chain
from records.matters import EXAMPLES
from records.models import Certificate
from issuer.models import CertificateCounter
from tests.test_issuer_api import _h, api  # noqa: F401 - the issuer API fixture, on both databases

ELDERLY_FULL_POA = {**EXAMPLES["power-of-attorney"], "applicant_name": "钱老先生", "birth_date": "1950-05-01",
                    "id_number": "310112195005010010", "scope": "全权委托", "disposes_real_estate": True,
                    "powers": ["代为出售上海市闵行区某路某号房屋"]}


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _draft(client, tokens, data, who="notary_a", matter="birth"):
    return client.post("/api/v1/drafts", json={"matter": matter, "data": data}, headers=_h(tokens, who))


def test_only_the_office_sees_and_acts_on_its_drafts(api):  # noqa: F811
    _rt, client, tokens = api
    draft_id = _draft(client, tokens, EXAMPLES["birth"]).json()["id"]
    url = f"/api/v1/drafts/{draft_id}"
    for who, code in (("notary_b", 403), ("admin_b", 403), ("registry", 403), (None, 401), ("bad", 401)):
        assert _draft(client, tokens, EXAMPLES["birth"], who).status_code == code, who
        assert client.get("/api/v1/drafts", headers=_h(tokens, who)).status_code == code, who
        assert client.get(url, headers=_h(tokens, who)).status_code == code, who
        assert client.put(url, json={"data": {}}, headers=_h(tokens, who)).status_code == code, who
        assert client.delete(url, headers=_h(tokens, who)).status_code == code, who
        assert client.post(f"{url}/issue", headers=_h(tokens, who)).status_code == code, who
    # The office's administrator works on the notary's draft.
    assert client.get(url, headers=_h(tokens, "admin_a")).json()["ready"] is True
    assert client.get("/api/v1/drafts", headers=_h(tokens, "notary_a")).json()["total"] == 1


def test_a_draft_takes_a_number_only_when_issued(api):  # noqa: F811
    rt, client, tokens = api
    incomplete = {k: v for k, v in EXAMPLES["birth"].items() if k != "birth_place"}
    created = _draft(client, tokens, incomplete)
    assert created.status_code == 201
    body = created.json()
    assert body["state"] == "open" and body["ready"] is False
    assert body["problem_code"] == "INVALID_MATTER_DATA"
    assert [f["field"] for f in body["problem_fields"]] == ["birth_place"]
    url = f"/api/v1/drafts/{body['id']}"
    assert client.post(f"{url}/issue", headers=_h(tokens, "notary_a")).status_code == 422
    assert _count(rt.engine, Certificate) == 0 and _count(rt.engine, CertificateCounter) == 0

    fixed = client.put(url, json={"data": EXAMPLES["birth"], "language": "zh-en"}, headers=_h(tokens, "notary_a"))
    assert fixed.json()["ready"] is True and fixed.json()["language"] == "zh-en"
    issued = client.post(f"{url}/issue", headers=_h(tokens, "notary_a"))
    assert issued.status_code == 201, issued.text
    cert = issued.json()["certificate"]
    assert cert["number"].endswith("第000001号") and cert["access_code"]
    assert issued.json()["draft"]["state"] == "issued" and issued.json()["draft"]["certificate_id"] == cert["id"]
    # Issued once: a second issue, an edit or a discard is a conflict.
    assert client.post(f"{url}/issue", headers=_h(tokens, "notary_a")).status_code == 409
    assert client.put(url, json={"data": EXAMPLES["birth"]}, headers=_h(tokens, "notary_a")).status_code == 409
    assert client.delete(url, headers=_h(tokens, "notary_a")).status_code == 409

    discarded = _draft(client, tokens, EXAMPLES["birth"]).json()["id"]
    assert client.delete(f"/api/v1/drafts/{discarded}", headers=_h(tokens, "notary_a")).json()["state"] == "discarded"
    assert client.post(f"/api/v1/drafts/{discarded}/issue", headers=_h(tokens, "notary_a")).status_code == 409
    listing = client.get("/api/v1/drafts?state=discarded", headers=_h(tokens, "notary_a")).json()
    assert [d["id"] for d in listing["items"]] == [discarded]
    with Session(rt.engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.seq))]
    changes = [a for a in actions if not a.endswith((".read", ".list"))]  # reads are audited too (#12)
    assert changes == ["draft.create", "draft.update", "issue", "draft.issue", "draft.create", "draft.discard"]
    assert "draft.list" in actions
    assert verify_chain(rt.engine) is None


def test_policies_show_on_the_draft_and_stop_its_issue(api):  # noqa: F811
    rt, client, tokens = api
    body = _draft(client, tokens, ELDERLY_FULL_POA, matter="power-of-attorney").json()
    assert body["ready"] is False and body["problem_code"] == "POLICY_ELDERLY_FULL_POA"
    refused = client.post(f"/api/v1/drafts/{body['id']}/issue", headers=_h(tokens, "notary_a"))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "POLICY_ELDERLY_FULL_POA"
    assert _count(rt.engine, Certificate) == 0


def test_unknown_matter_and_unknown_draft(api):  # noqa: F811
    _rt, client, tokens = api
    assert _draft(client, tokens, {}, matter="no-such-matter").status_code == 422
    missing = client.get("/api/v1/drafts/00000000-0000-4000-8000-000000000000", headers=_h(tokens, "notary_a"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "DRAFT_NOT_FOUND"
    assert client.get("/api/v1/drafts/not-a-uuid", headers=_h(tokens, "notary_a")).status_code == 422


def test_two_clerks_issuing_one_draft_get_one_certificate(api):  # noqa: F811
    rt, client, tokens = api
    url = f"/api/v1/drafts/{_draft(client, tokens, EXAMPLES['birth']).json()['id']}/issue"
    codes: list[int] = []

    def press():
        codes.append(client.post(url, headers=_h(tokens, "notary_a")).status_code)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 409]
    assert _count(rt.engine, Certificate) == 1


def test_a_bilingual_draft_is_not_ready_until_it_can_be_translated(sqlite_runtime):
    """A declaration in Chinese only cannot make its English page: the draft says so before
    anyone presses issue, naming the field to fill in."""
    from fastapi.testclient import TestClient

    from issuer.auth import Role, create_token
    from notary.app import create_app

    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    headers = {"Authorization": f"Bearer {create_token(rt.engine, '王丽', Role.NOTARY, rt.office.code)[1]}"}
    chinese_only = {k: v for k, v in EXAMPLES["declaration"].items() if k != "text_en"}
    draft = client.post("/api/v1/drafts", json={"matter": "declaration", "data": chinese_only, "language": "zh-en"},
                        headers=headers).json()
    assert draft["ready"] is False and draft["problem_fields"][0]["rule"] == "translation_missing"
    zh_only = client.post("/api/v1/drafts", json={"matter": "declaration", "data": chinese_only}, headers=headers).json()
    assert zh_only["ready"] is True
