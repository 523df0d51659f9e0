"""The issuer API: tokens, roles and offices (the whole matrix), idempotency, field errors,
and the hash-chained audit log whose head is anchored with each batch."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from records.audit import AuditEvent, check_anchored_heads, verify_chain
from issuer.auth import Role, create_token
from records.matters import EXAMPLES
from notary.app import create_app

OFFICE_A, OFFICE_B = "SH-DONGFANG", "SH-XUHUI"


@pytest.fixture
def api(runtime):
    """Runs on SQLite and on PostgreSQL."""
    tokens = {
        "notary_a": create_token(runtime.engine, "王丽", Role.NOTARY, OFFICE_A)[1],
        "notary_a2": create_token(runtime.engine, "张三", Role.NOTARY, OFFICE_A)[1],
        "admin_a": create_token(runtime.engine, "李主任", Role.OFFICE_ADMIN, OFFICE_A)[1],
        "notary_b": create_token(runtime.engine, "赵强", Role.NOTARY, OFFICE_B)[1],
        "admin_b": create_token(runtime.engine, "孙主任", Role.OFFICE_ADMIN, OFFICE_B)[1],
        "registry": create_token(runtime.engine, "司法局", Role.REGISTRY_ADMIN, None)[1],
        "bad": "ent_not-a-token",
    }
    return runtime, TestClient(create_app(runtime), raise_server_exceptions=False), tokens


def _h(tokens, who):
    return {} if who is None else {"Authorization": f"Bearer {tokens[who]}"}


# A notary's token issues in its holder's name only.
NOTARY_NAMES = {"notary_a": "王丽", "notary_a2": "张三", "notary_b": "赵强"}


def _issue(client, tokens, who="notary_a", **extra):
    data = {**EXAMPLES["birth"], "notary": NOTARY_NAMES.get(who, "王丽")}
    return client.post("/api/v1/certificates", json={"matter": "birth", "data": data},
                       headers={**_h(tokens, who), **extra})


@pytest.mark.parametrize("who, expected", [
    ("notary_a", 201), ("notary_a2", 201), ("admin_a", 201), ("notary_b", 403), ("admin_b", 403), ("registry", 403),
    (None, 401), ("bad", 401),
])
def test_who_may_issue(api, who, expected):
    _rt, client, tokens = api
    r = _issue(client, tokens, who)
    assert r.status_code == expected, r.text
    if expected == 201:
        assert r.json()["access_code"] and r.json()["number"].startswith("(")
    else:
        assert r.json()["error"]["code"] in ("FORBIDDEN", "AUTH_REQUIRED")


def test_reading_and_changing_across_offices(api):
    _rt, client, tokens = api
    cid = _issue(client, tokens).json()["id"]
    get = lambda who, suffix="": client.get(f"/api/v1/certificates/{cid}{suffix}", headers=_h(tokens, who))  # noqa: E731
    for who, code in (("notary_a", 200), ("admin_a", 200), ("registry", 200), ("notary_b", 404), ("admin_b", 404),
                      (None, 401)):
        assert get(who).status_code == code, who
        assert get(who, "/pdf").status_code == code, who
    assert get("notary_a").json()["data"]["id_number"] == EXAMPLES["birth"]["id_number"]
    assert client.get("/api/v1/certificates", headers=_h(tokens, "notary_b")).json()["total"] == 0
    assert client.get("/api/v1/certificates", headers=_h(tokens, "registry")).json()["total"] == 1
    listing = client.get("/api/v1/certificates?status=issued&matter=birth&limit=10", headers=_h(tokens, "admin_a"))
    assert listing.json()["total"] == 1 and listing.json()["items"][0]["id"] == cid
    assert client.get("/api/v1/certificates?limit=1000", headers=_h(tokens, "admin_a")).status_code == 422

    revoke = lambda who: client.post(f"/api/v1/certificates/{cid}/revoke", json={"reason": 1},  # noqa: E731
                                     headers=_h(tokens, who))
    correct = lambda who: client.post(f"/api/v1/certificates/{cid}/correct",  # noqa: E731
                                      json={"data": {**EXAMPLES["birth"], "birth_place": "上海市徐汇区"}},
                                      headers=_h(tokens, who))
    for who in ("notary_b", "admin_b", "registry"):
        assert revoke(who).status_code == 403 and correct(who).status_code == 403
    fixed = correct("notary_a")
    assert fixed.status_code == 201
    assert get("notary_a").json()["status"] == "superseded"
    assert revoke("notary_a").status_code == 409  # superseded: nothing left to revoke
    new_id = fixed.json()["id"]
    r = client.post(f"/api/v1/certificates/{new_id}/revoke", json={"reason": 2, "note": "申请人撤回"},
                    headers=_h(tokens, "admin_a"))
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revocation_reason"] == 2
    bad_reason = client.post(f"/api/v1/certificates/{new_id}/revoke", json={"reason": 7}, headers=_h(tokens, "admin_a"))
    assert bad_reason.status_code == 422


def test_idempotency_and_field_errors(api):
    _rt, client, tokens = api
    first = _issue(client, tokens, **{"Idempotency-Key": "req-42"})
    again = _issue(client, tokens, **{"Idempotency-Key": "req-42"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    assert again.json()["access_code"] is None  # shown once only
    other = client.post("/api/v1/certificates", headers={**_h(tokens, "notary_a"), "Idempotency-Key": "req-42"},
                        json={"matter": "no-criminal-record", "data": EXAMPLES["no-criminal-record"]})
    assert other.status_code == 409
    assert client.get("/api/v1/certificates", headers=_h(tokens, "notary_a")).json()["total"] == 1
    bad = client.post("/api/v1/certificates", headers=_h(tokens, "notary_a"),
                      json={"matter": "birth", "data": {**EXAMPLES["birth"], "id_number": "310101199003070028"}})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "INVALID_MATTER_DATA"
    assert bad.json()["error"]["fields"][0]["field"] == "id_number"
    unknown = client.post("/api/v1/certificates", headers=_h(tokens, "notary_a"), json={"matter": "x", "data": {}})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "UNKNOWN_MATTER"


def test_audit_log_is_chained_and_anchored(api):
    rt, client, tokens = api
    cid = _issue(client, tokens).json()["id"]
    client.post(f"/api/v1/certificates/{cid}/revoke", json={"reason": 1}, headers=_h(tokens, "notary_a"))
    assert rt.worker().run_once(force=True) == 1
    with Session(rt.engine) as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [(e.action, e.actor) for e in events] == [("issue", "notary:王丽"), ("revoke", "notary:王丽")]
    assert verify_chain(rt.engine) is None
    assert check_anchored_heads(rt.engine, rt.registry) == []
    # Edit history: the chain breaks at the edited event.
    with Session(rt.engine) as s:
        first = s.get(AuditEvent, events[0].seq)
        first.actor = "notary:someone else"
        s.add(first)
        s.commit()
    assert verify_chain(rt.engine) == events[0].seq


def test_an_audit_log_rewritten_consistently_is_caught_by_the_ledger(api):
    """A forger with the database rewrites an event and recomputes every later hash: the
    chain is intact again, but the head anchored with the batch is no longer in the log."""
    from records.audit import GENESIS, _digest

    rt, client, tokens = api
    _issue(client, tokens)
    assert rt.worker().run_once(force=True) == 1
    assert check_anchored_heads(rt.engine, rt.registry) == []
    with Session(rt.engine) as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        prev = GENESIS
        for e in events:
            if e.action == "issue":
                e.actor = "notary:someone else"
            at = e.at if e.at.tzinfo else e.at.replace(tzinfo=dt.timezone.utc)
            e.prev_hash, e.hash = prev, _digest(prev, at, e.actor, e.action, e.target, e.details, e.office_code)
            prev = e.hash
            s.add(e)
        s.commit()
    assert verify_chain(rt.engine) is None  # the rewrite is self-consistent...
    problems = check_anchored_heads(rt.engine, rt.registry)
    assert problems and "missing from the log" in problems[0]  # ...but the ledger dates the real head


# Who may read and change a certificate issued by 王丽 (notary_a) of office A. Reads: record
# and PDF; changes: revoke and correct. 404 where the certificate's existence is not theirs
# to know (another office), 403 where it is (a colleague's, a supervisor's change).
ROLES_MATRIX = {
    #  who          read  change
    "notary_a":   (200, "ok"),   # issued it
    "notary_a2":  (403, 403),    # a colleague in the same office
    "admin_a":    (200, "ok"),   # the office's administrator
    "registry":   (200, 403),    # the justice bureau: reads every office, changes nothing
    "notary_b":   (404, 403),    # another office
    "admin_b":    (404, 403),
    None:         (401, 401),
    "bad":        (401, 401),
}


def _events(runtime, action: str) -> list[AuditEvent]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


@pytest.mark.parametrize("who", list(ROLES_MATRIX))
def test_roles_matrix(api, who):
    runtime, client, tokens = api
    read_code, change_code = ROLES_MATRIX[who]
    cid = _issue(client, tokens, "notary_a").json()["id"]
    colleague = _issue(client, tokens, "notary_a2").json()["id"]
    reads_before = len(_events(runtime, "certificate.read")) + len(_events(runtime, "certificate.pdf"))

    record = client.get(f"/api/v1/certificates/{cid}", headers=_h(tokens, who))
    pdf = client.get(f"/api/v1/certificates/{cid}/pdf", headers=_h(tokens, who))
    assert (record.status_code, pdf.status_code) == (read_code, read_code), (record.text, pdf.text)
    if read_code == 200:
        assert record.json()["data"]["id_number"] == EXAMPLES["birth"]["id_number"]
        assert pdf.content.startswith(b"%PDF")
        # Both reads of personal data are in the audit log, naming who read what.
        reads = _events(runtime, "certificate.read")[-1:] + _events(runtime, "certificate.pdf")[-1:]
        assert [(e.actor.split(":", 1)[1], e.target) for e in reads] == [(record_reader(tokens, who), cid)] * 2
    else:
        assert "id_number" not in record.text and not pdf.content.startswith(b"%PDF")
        after = len(_events(runtime, "certificate.read")) + len(_events(runtime, "certificate.pdf"))
        assert after == reads_before  # a refused read hands out nothing, so logs no read

    listing = client.get("/api/v1/certificates", headers=_h(tokens, who))
    if read_code in (401,):
        assert listing.status_code == 401
    else:
        listed = {item["id"] for item in listing.json()["items"]}
        expected = {"notary_a": {cid}, "notary_a2": {colleague}, "admin_a": {cid, colleague},
                    "registry": {cid, colleague}, "notary_b": set(), "admin_b": set()}[who]
        assert listed == expected
        if listed:
            logged = _events(runtime, "certificate.list")[-1]
            assert set(json.loads(logged.details)["ids"]) == listed

    # Changes: try the correction first (it would supersede), then the revocation.
    fixed = client.post(f"/api/v1/certificates/{cid}/correct",
                        json={"data": {**EXAMPLES["birth"], "birth_place": "上海市徐汇区"}}, headers=_h(tokens, who))
    if change_code == "ok":
        assert fixed.status_code == 201, fixed.text
        successor = fixed.json()["id"]
        # The corrected certificate belongs to whoever corrected it; the notary who issued
        # the first still reads it if they corrected it themselves.
        assert client.get(f"/api/v1/certificates/{successor}", headers=_h(tokens, who)).status_code == 200
        revoked = client.post(f"/api/v1/certificates/{colleague}/revoke", json={"reason": 2}, headers=_h(tokens, who))
        assert revoked.status_code == (200 if who == "admin_a" else 403), revoked.text
    else:
        assert fixed.status_code == change_code, fixed.text
        revoked = client.post(f"/api/v1/certificates/{cid}/revoke", json={"reason": 2}, headers=_h(tokens, who))
        assert revoked.status_code == change_code, revoked.text
        # Nothing changed: still issued, no successor, no change in the log.
        with Session(runtime.engine) as s:
            from records.models import Certificate
            cert = s.get(Certificate, uuid.UUID(cid))
            assert cert.status == "issued" and cert.superseded_by is None
        assert not [e for e in _events(runtime, "revoke") + _events(runtime, "correct") if e.target == cid]


def record_reader(tokens, who) -> str:
    return {"notary_a": "王丽", "admin_a": "李主任", "registry": "司法局"}[who]


def test_a_notary_works_only_on_their_own_drafts(api):
    runtime, client, tokens = api
    draft = client.post("/api/v1/drafts", json={"matter": "birth", "data": EXAMPLES["birth"]},
                        headers=_h(tokens, "notary_a")).json()
    url = f"/api/v1/drafts/{draft['id']}"
    for method, path, body in (("GET", url, None), ("PUT", url, {"data": EXAMPLES["birth"]}),
                               ("DELETE", url, None), ("POST", url + "/issue", None)):
        r = client.request(method, path, json=body, headers=_h(tokens, "notary_a2"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN", (method, path, r.text)
    assert client.get("/api/v1/drafts", headers=_h(tokens, "notary_a2")).json()["total"] == 0
    assert client.get("/api/v1/drafts", headers=_h(tokens, "admin_a")).json()["total"] == 1
    # The office administrator issues it; the certificate is the administrator's to change.
    issued = client.post(url + "/issue", headers=_h(tokens, "admin_a"))
    assert issued.status_code == 201
    assert client.get(f"/api/v1/certificates/{issued.json()['certificate']['id']}",
                      headers=_h(tokens, "admin_a")).status_code == 200


def test_opening_a_record_with_the_access_code_is_audited(api):
    runtime, client, tokens = api
    issued = _issue(client, tokens).json()
    wrong = client.post("/api/v1/verify/number", json={"number": issued["number"], "access_code": "AAAAAAAA"})
    assert wrong.status_code in (403, 404, 422) and not _events(runtime, "record.open")
    opened = client.post("/api/v1/verify/number", json={"number": issued["number"],
                                                         "access_code": issued["access_code"]})
    assert opened.status_code == 200, opened.text
    (event,) = _events(runtime, "record.open")
    assert event.actor.startswith("public:") and event.target == issued["id"]
    assert verify_chain(runtime.engine) is None
