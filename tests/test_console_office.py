"""The office console end to end over HTTP (the browser tests drive the same pages in
Chromium): a draft filled as a form, checked, previewed, issued, downloaded and printed,
searched, revoked and corrected with their confirmation steps; and the walls around it:
a notary sees only their own certificates and drafts, another office nothing, the
regulator no office page, an anonymous visitor nothing at all."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from issuer.auth import Role
from issuer.service import issue_certificate
from notary.app import create_app
from records.audit import AuditEvent
from records.matters import EXAMPLES
from records.models import Certificate
from tests.console_helpers import elevate, form_fields, csrf_of, make_person, signed_in_client


@pytest.fixture
def app(sqlite_runtime):
    return create_app(sqlite_runtime)


def _new_draft(client, matter: str, data: dict, language: str = "zh") -> str:
    page = client.get(f"/console/office/drafts/new?matter={matter}")
    assert page.status_code == 200
    answer = client.post("/console/office/drafts", data={"csrf": csrf_of(page.text), "matter": matter,
                                                         "language": language, **form_fields(data)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("/", 1)[1]


def test_draft_to_certificate_and_back(sqlite_runtime, app):
    notary = make_person(sqlite_runtime, "wangli", name="王丽")
    client = signed_in_client(app, notary)
    data = {**EXAMPLES["birth"], "id_number": "310101199003070028"}  # a wrong check digit
    draft_id = _new_draft(client, "birth", data)
    page = client.get(f"/console/office/drafts/{draft_id}")
    assert 'id="problems"' in page.text and 'data-field="id_number"' in page.text and "校验码" in page.text
    assert 'id="issue"' not in page.text  # nothing to issue yet

    fixed = client.post(f"/console/office/drafts/{draft_id}", data={
        "csrf": csrf_of(page.text), "language": "zh", **form_fields(EXAMPLES["birth"])})
    assert fixed.status_code == 200 and 'id="ready"' in fixed.text
    preview = client.get(f"/console/office/drafts/{draft_id}/preview")
    assert preview.status_code == 200 and preview.text.count('class="preview"') >= 1

    issued = client.post(f"/console/office/drafts/{draft_id}/issue", data={"csrf": csrf_of(fixed.text)})
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    access_code = re.search(r'id="access-code">([^<]+)<', issued.text).group(1)
    assert len(access_code) >= 8
    with Session(sqlite_runtime.engine) as s:
        cert = s.exec(select(Certificate)).one()
    assert cert.notary == "王丽" and cert.issued_by_holder is not None
    # A second press of the button issues nothing more.
    again = client.post(f"/console/office/drafts/{draft_id}/issue", data={"csrf": csrf_of(fixed.text)})
    assert again.status_code == 409

    detail = client.get(f"/console/office/certificates/{cert.id}")
    assert cert.number in detail.text and 'data-status="issued"' in detail.text
    pdf = client.get(f"/console/office/certificates/{cert.id}/pdf")
    assert pdf.content.startswith(b"%PDF") and pdf.headers["cache-control"] == "no-store"
    assert client.get(f"/console/office/certificates/{cert.id}/print").text.count('class="print-page"') >= 1

    found = client.get("/console/office", params={"id_number": "310101199003070027"})
    assert cert.number in found.text
    for miss in ({"id_number": "3101011990030700"}, {"id_number": "%"}, {"name": "%"}, {"name": "_"}):
        assert cert.number not in client.get("/console/office", params=miss).text
    assert cert.number in client.get("/console/office", params={"name": "张"}).text

    # Correction: a form, a confirmation, a new certificate that names the old one.
    form = client.get(f"/console/office/certificates/{cert.id}/correct")
    fields = {"csrf": csrf_of(form.text), **form_fields({**EXAMPLES["birth"], "birth_place": "上海市静安区"})}
    confirm = client.post(f"/console/office/certificates/{cert.id}/correct", data=fields)
    assert 'id="confirm-correct"' in confirm.text
    with Session(sqlite_runtime.engine) as s:
        assert s.get(Certificate, cert.id).status == "issued"  # nothing happens before confirming
    done = client.post(f"/console/office/certificates/{cert.id}/correct", data={**fields, "confirmed": "yes"})
    assert done.status_code == 200 and 'id="access-code"' in done.text
    old = client.get(f"/console/office/certificates/{cert.id}")
    assert 'data-status="superseded"' in old.text and 'id="successor"' in old.text

    # Revocation of the successor: a reason, a confirmation, then it is revoked.
    with Session(sqlite_runtime.engine) as s:
        new = s.exec(select(Certificate).where(Certificate.supersedes == cert.id)).one()
    page = client.get(f"/console/office/certificates/{new.id}")
    no_reason = client.post(f"/console/office/certificates/{new.id}/revoke", data={"csrf": csrf_of(page.text),
                                                                                 "reason": ""})
    assert no_reason.status_code == 422
    step = client.post(f"/console/office/certificates/{new.id}/revoke", data={"csrf": csrf_of(page.text),
                                                                           "reason": "1", "note": "<b>错</b>"})
    assert 'id="confirm-revoke"' in step.text and "&lt;b&gt;" in step.text
    client.post(f"/console/office/certificates/{new.id}/revoke",
                data={"csrf": csrf_of(page.text), "reason": "1", "note": "出证错误", "confirmed": "yes"})
    with Session(sqlite_runtime.engine) as s:
        assert s.get(Certificate, new.id).status == "revoked"
        actions = {e.action for e in s.exec(select(AuditEvent).where(AuditEvent.actor == "notary:王丽"))}
    assert {"draft.create", "draft.issue", "issue", "correct", "revoke", "certificate.pdf", "certificate.print",
            "certificate.read"} <= actions


def test_hostile_text_in_a_form_is_refused_by_field_and_never_rendered_raw(sqlite_runtime, app):
    client = signed_in_client(app, make_person(sqlite_runtime, "wangli", name="王丽"))
    hostile = {**EXAMPLES["birth"], "applicant_name": "<script>alert(1)</script>", "birth_place": "上海\u202e市"}
    draft_id = _new_draft(client, "birth", hostile)
    page = client.get(f"/console/office/drafts/{draft_id}")
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert 'data-field="birth_place"' in page.text and 'id="issue"' not in page.text


def test_a_notary_sees_only_their_own_and_the_regulator_no_office_page(sqlite_runtime, app):
    ctx = sqlite_runtime.issuer_context()
    theirs = issue_certificate(ctx, "birth", EXAMPLES["birth"])  # the CLI's, not this notary's
    notary = signed_in_client(app, make_person(sqlite_runtime, "wangli", name="王丽"))
    assert notary.get(f"/console/office/certificates/{theirs.id}").status_code == 403
    assert notary.get(f"/console/office/certificates/{theirs.id}/pdf").status_code == 403
    assert theirs.number not in notary.get("/console/office").text
    assert notary.get("/console/office/admin/staff").status_code == 403
    assert notary.get("/console/regulator").status_code == 403

    admin = signed_in_client(app, make_person(sqlite_runtime, "liming", Role.OFFICE_ADMIN, name="李明"))
    assert admin.get(f"/console/office/certificates/{theirs.id}").status_code == 200

    other_office = signed_in_client(app, make_person(sqlite_runtime, "outsider", Role.OFFICE_ADMIN,
                                                     office="BJ-OTHER", name="外处"))
    assert other_office.get(f"/console/office/certificates/{theirs.id}").status_code == 404  # as if missing
    assert other_office.get("/console/office/drafts/new?matter=birth").status_code == 403  # cannot issue here
    assert other_office.get("/console/office/admin/staff").status_code == 403

    regulator = signed_in_client(app, make_person(sqlite_runtime, "zhaoqiang", Role.REGISTRY_ADMIN, name="赵强"))
    assert regulator.get("/console/office").status_code == 403
    assert regulator.get(f"/console/regulator/certificates/{theirs.id}").status_code == 200
    page = regulator.get("/console/regulator")
    post = regulator.post(f"/console/office/certificates/{theirs.id}/revoke",
                          data={"csrf": csrf_of(page.text), "reason": "1", "confirmed": "yes"})
    assert post.status_code == 403
    with Session(sqlite_runtime.engine) as s:
        assert s.get(Certificate, theirs.id).status == "issued"


def test_anonymous_visitors_are_sent_to_sign_in(app):
    from fastapi.testclient import TestClient

    client = TestClient(app, base_url="https://testserver")
    for path in ("/console/office", "/console/regulator", "/console/office/admin/staff"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/signin")
    assert client.post("/console/office/drafts", data={"matter": "birth"}).status_code == 401


def test_the_administrator_manages_staff_tokens_and_keys_of_their_office(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "liming", Role.OFFICE_ADMIN, name="李明")
    admin = signed_in_client(app, person)
    page = admin.get("/console/office/admin/staff")
    # A powerful action asks for a fresh code first, then allows them for a while.
    ask = admin.post("/console/office/admin/staff", data={"csrf": csrf_of(page.text), "username": "newnotary",
                                                          "name": "新公证员", "role": "notary"}, follow_redirects=False)
    assert ask.status_code == 303 and ask.headers["location"].startswith("/console/confirm?next=")
    elevate(admin, person)
    made = admin.post("/console/office/admin/staff", data={"csrf": csrf_of(page.text), "username": "newnotary",
                                                           "name": "新公证员", "role": "notary"})
    assert 'id="made-password"' in made.text and 'id="totp-qr"' in made.text
    outsider = make_person(sqlite_runtime, "outsider", Role.NOTARY, office="BJ-OTHER", name="外处")
    refused = admin.post(f"/console/office/admin/staff/{outsider.user_id}/reset", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 404
    creds = admin.get("/console/office/admin/credentials")
    token = admin.post("/console/office/admin/tokens", data={"csrf": csrf_of(creds.text), "name": "出证系统",
                                                             "role": "notary", "days": "30"})
    assert re.search(r'id="secret">ent_', token.text)
    key = admin.post("/console/office/admin/apikeys", data={"csrf": csrf_of(creds.text), "name": "不动产登记中心",
                                                            "days": "365"})
    assert 'id="secret">' in key.text
    assert admin.get("/console/office/admin/key").status_code == 200
    assert 'id="waiting"' in admin.get("/console/office/admin/anchoring").text
    trail = admin.get("/console/office/admin/audit")
    assert "staff.create" in trail.text and "token.create" in trail.text


def test_the_office_s_rules_are_shown_before_issuing(sqlite_runtime, app):
    """The fee exemption the rules grant, and the refusal they make, are on the draft's page
    before anyone presses issue (the elderly full-scope power of attorney rule)."""
    client = signed_in_client(app, make_person(sqlite_runtime, "wangli", name="王丽"))
    will = client.get(f"/console/office/drafts/{_new_draft(client, 'will', EXAMPLES['will'])}")
    assert 'id="ready"' in will.text and 'id="fee-note"' in will.text and "免费" in will.text

    elderly = {**EXAMPLES["power-of-attorney"], "birth_date": "1950-01-01",
               "id_number": "31010419500101" + "005", "scope": "全权委托", "disposes_real_estate": True}
    from records.idnumber import check_digit

    elderly["id_number"] = elderly["id_number"][:17] + check_digit(elderly["id_number"][:17])
    page = client.get(f"/console/office/drafts/{_new_draft(client, 'power-of-attorney', elderly)}")
    assert 'data-code="POLICY_ELDERLY_FULL_POA"' in page.text and 'id="issue"' not in page.text
    assert 'id="fee-note"' not in page.text


def test_a_key_rotated_from_the_console_signs_the_next_certificate(sqlite_runtime, app):
    """The rotation keeps the server's signing processes (it closed them once, and every
    later issue answered 500): the next certificate is signed with the new key."""
    person = make_person(sqlite_runtime, "liming", Role.OFFICE_ADMIN, name="李明")
    admin = signed_in_client(app, person)
    elevate(admin, person)
    before = sqlite_runtime.signer.fingerprint
    draft_id = _new_draft(admin, "birth", EXAMPLES["birth"])
    page = admin.get("/console/office/admin/key")
    assert admin.post("/console/office/admin/key/rotate", data={"csrf": csrf_of(page.text)}).status_code == 200
    done = admin.post("/console/office/admin/key/rotate", data={"csrf": csrf_of(page.text), "confirmed": "yes"},
                      follow_redirects=False)
    assert done.status_code == 303
    after = sqlite_runtime.signer.fingerprint
    assert after != before
    issued = admin.post(f"/console/office/drafts/{draft_id}/issue", data={"csrf": csrf_of(page.text)})
    assert issued.status_code == 200 and 'id="access-code"' in issued.text, issued.text[:500]
    with Session(sqlite_runtime.engine) as s:
        cert = s.exec(select(Certificate)).one()
    assert cert.signer_fingerprint == after.hex()
    assert 'data-state="registered"' in admin.get("/console/office/admin/key").text
