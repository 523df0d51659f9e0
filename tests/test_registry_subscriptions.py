"""Registries' subscriptions (#17): a registry's API key subscribes to certificates it has
verified (by id or fingerprint, through the subscription API or the batch API), lists and
removes them, and its receiver gets a signed webhook when one of them is revoked or
corrected, and nothing else. Real anvil, real SQLite and PostgreSQL, the real app."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from feed import dispatcher, receivers
from feed.models import RegistrySubscription
from issuer.lifecycle import correct_certificate, revoke_certificate
from issuer.service import issue_certificate
from notary.app import create_app
from records import audit
from records.matters import EXAMPLES
from records.revocation import RevocationReason
from verifier.apikeys import create_api_key, revoke_api_key

from tests.loopback_receiver import LoopbackReceiver

SUBS = "/api/v1/subscriptions"
BATCH = "/api/v1/verify/batch"
PERSON = EXAMPLES["birth"]
PERSONAL = [PERSON["applicant_name"], PERSON["applicant_name_en"], PERSON["id_number"]]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def issue(rt):
    return issue_certificate(rt.issuer_context(), "birth", PERSON)


def verify(client, key: str, items: list[dict], subscribe: bool | None = None) -> list[dict]:
    body: dict = {"items": items}
    if subscribe is not None:
        body["subscribe"] = subscribe
    r = client.post(BATCH, json=body, headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()["results"]


def subscribe(client, key: str, refs: list) -> dict:
    r = client.post(SUBS, json={"certificates": refs}, headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()


def rows(rt, key_id: uuid.UUID) -> set[uuid.UUID]:
    with Session(rt.engine) as s:
        return set(s.exec(select(RegistrySubscription.certificate_id).where(RegistrySubscription.api_key_id == key_id)))


@pytest.fixture
def env(runtime):
    rt = runtime
    certs = [issue(rt) for _ in range(3)]
    rt.worker().run_once(force=True)
    return rt, certs, TestClient(create_app(rt), raise_server_exceptions=False)


def test_subscribe_after_verifying_by_id_and_by_fingerprint(env):
    rt, (a, b, _c), client = env
    row, key = create_api_key(rt.engine, "上海市不动产登记局")
    verify(client, key, [{"id": str(a.id)}, {"sha256": b.document_sha256}])
    first = subscribe(client, key, [str(a.id), b.document_sha256.upper()])
    assert (first["subscribed"], first["refused"]) == (2, 0)
    assert [(x["subscribed"], x["new"], x["certificate_id"], x["status"], x["error"]) for x in first["results"]] == [
        (True, True, str(a.id), "issued", None), (True, True, str(b.id), "issued", None)]
    assert [x["input"] for x in first["results"]] == [str(a.id), b.document_sha256.upper()]
    # Again, the id without hyphens and the fingerprint in lower case: the same two, nothing new.
    again = subscribe(client, key, [a.id.hex, b.document_sha256, str(a.id)])
    assert [(x["subscribed"], x["new"]) for x in again["results"]] == [(True, False)] * 3
    assert rows(rt, row.id) == {a.id, b.id}
    listed = client.get(SUBS, headers=bearer(key))
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert (page["page"], page["per_page"], page["total"]) == (1, 100, 2)
    assert {(x["certificate_id"], x["number"], x["status"], x["successor_id"]) for x in page["subscriptions"]} == {
        (str(a.id), a.number, "issued", None), (str(b.id), b.number, "issued", None)}
    assert not any(p in listed.text for p in PERSONAL)
    assert client.get(f"{SUBS}?page=2", headers=bearer(key)).json()["subscriptions"] == []
    # One audit event for the call that added (the repeat added nothing), a count and no more.
    added = audit.list_events(rt.engine, action="subscription.add")
    assert [(e.actor, e.target, json.loads(e.details)) for e in added] == [
        ("apikey:上海市不动产登记局", str(row.id), {"certificates": 2})]


def test_a_certificate_not_verified_by_this_key_is_refused_as_if_it_did_not_exist(env):
    rt, (a, b, c), client = env
    mine, key = create_api_key(rt.engine, "仲裁委")
    _other, other_key = create_api_key(rt.engine, "法院")
    verify(client, other_key, [{"id": str(c.id)}, {"sha256": b.document_sha256}])  # the other key's, not mine
    # A wrong access code logs an ERROR for this key, but it found no certificate.
    wrong = verify(client, key, [{"number": a.number, "access_code": "AAAA-AAAA"}])
    assert wrong[0]["indication"] == "ERROR"
    refs = [str(c.id), str(uuid.uuid4()), b.document_sha256, hashlib.sha256(b"never issued").hexdigest(), str(a.id)]
    answer = subscribe(client, key, refs)
    assert (answer["subscribed"], answer["refused"]) == (0, 5)
    shapes = [{k: v for k, v in x.items() if k != "input"} for x in answer["results"]]
    assert all(shape == shapes[0] for shape in shapes), shapes
    assert shapes[0]["error"]["code"] == "NOT_VERIFIED_BY_YOU" and shapes[0]["certificate_id"] is None
    assert shapes[0]["subscribed"] is False and shapes[0]["status"] is None
    assert rows(rt, mine.id) == set()


def test_another_registry_can_neither_list_nor_delete_my_subscriptions(env):
    rt, (a, b, _c), client = env
    mine, key = create_api_key(rt.engine, "公积金中心")
    theirs, other_key = create_api_key(rt.engine, "房管局")
    verify(client, key, [{"id": str(a.id)}, {"id": str(b.id)}], subscribe=True)
    verify(client, other_key, [{"id": str(b.id)}], subscribe=True)
    assert client.get(SUBS, headers=bearer(other_key)).json()["subscriptions"][0]["certificate_id"] == str(b.id)
    assert client.get(SUBS, headers=bearer(other_key)).json()["total"] == 1
    refused = client.delete(f"{SUBS}/{a.id}", headers=bearer(other_key))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "SUBSCRIPTION_NOT_FOUND"
    assert rows(rt, mine.id) == {a.id, b.id}
    # Mine go; theirs to the same certificate stays.
    assert client.delete(f"{SUBS}/{b.id}", headers=bearer(key)).status_code == 204
    again = client.delete(f"{SUBS}/{b.id}", headers=bearer(key))
    assert again.status_code == 404 and again.json()["error"]["code"] == "SUBSCRIPTION_NOT_FOUND"
    assert rows(rt, mine.id) == {a.id} and rows(rt, theirs.id) == {b.id}
    assert [e.target for e in audit.list_events(rt.engine, action="subscription.remove")] == [str(b.id)]
    # No key, a wrong key, a revoked key: 401 on every route.
    revoke_api_key(rt.engine, str(theirs.id))
    for headers in ({}, bearer("enk_nope"), bearer(other_key)):
        for method, path, body in (("POST", SUBS, {"certificates": [str(a.id)]}), ("GET", SUBS, None),
                                   ("DELETE", f"{SUBS}/{a.id}", None)):
            r = client.request(method, path, json=body, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "API_KEY_INVALID", (method, r.text)
    assert rows(rt, mine.id) == {a.id}


def test_the_batch_api_subscribes_what_it_verified(env):
    rt, (a, b, c), client = env
    row, key = create_api_key(rt.engine, "不动产登记中心")
    plain = verify(client, key, [{"id": str(a.id)}])
    assert plain[0]["subscribed"] is None and rows(rt, row.id) == set()
    items = [{"id": str(a.id)}, {"sha256": b.document_sha256}, {"id": str(uuid.uuid4())},
             {"number": c.number, "access_code": c.access_code}, {"number": a.number, "access_code": "AAAA-AAAA"}]
    results = verify(client, key, items, subscribe=True)
    assert [x["subscribed"] for x in results] == [True, True, False, True, False]
    assert rows(rt, row.id) == {a.id, b.id, c.id}
    listed = client.get(SUBS, headers=bearer(key)).json()
    assert {x["certificate_id"] for x in listed["subscriptions"]} == {str(a.id), str(b.id), str(c.id)}
    assert verify(client, key, items[:1], subscribe=True)[0]["subscribed"] is True  # again: still subscribed
    assert rows(rt, row.id) == {a.id, b.id, c.id}


def test_every_input_is_bounded_and_refused_with_a_4xx(sqlite_runtime):
    rt = sqlite_runtime
    cert = issue(rt)
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    _row, key = create_api_key(rt.engine, "登记中心", items_per_minute=20)
    auth = bearer(key)

    def refused(r, status: int, code: str) -> dict:
        assert r.status_code == status, (r.status_code, r.text[:300])
        error = r.json()["error"]
        assert error["code"] == code and error["message"] and error["message_zh"], error
        return error

    for body in ({"certificates": []}, {"certificates": "abc"}, {"certificates": [5]}, {"certificates": [None]},
                 {"certificates": [["x"]]}, {"certificates": [{"id": str(cert.id)}]}, {},
                 {"certificates": [str(cert.id)], "extra": 1}, [str(cert.id)], "x"):
        refused(client.post(SUBS, json=body, headers=auth), 422, "INVALID_REQUEST")
    refused(client.post(SUBS, content=b"{not json", headers={**auth, "content-type": "application/json"}),
            422, "INVALID_REQUEST")
    too_many = refused(client.post(SUBS, json={"certificates": [str(uuid.uuid4()) for _ in range(1001)]},
                                   headers=auth), 422, "INVALID_REQUEST")
    assert "1000" in too_many["message"]
    for ref in ("not-an-id", "", " " + str(cert.id), str(cert.id) + "\n", str(cert.id)[:-1] + "\x00",
                "\x00" * 10, "a" * 63, "a" * 65, "g" * 64, "a" * 10_000, "{" + str(cert.id) + "}",
                "urn:uuid:" + str(cert.id), "' OR 1=1 --", "公证书"):
        error = refused(client.post(SUBS, json={"certificates": [str(cert.id), ref]}, headers=auth),
                        422, "INVALID_REQUEST")
        assert "certificates.1" in error["message"], error
    # Over the key's minute in one call; then over what is left of it.
    refused(client.post(SUBS, json={"certificates": [str(uuid.uuid4()) for _ in range(21)]}, headers=auth),
            422, "BATCH_OVER_KEY_LIMIT")
    fifteen = client.post(SUBS, json={"certificates": [str(uuid.uuid4()) for _ in range(15)]}, headers=auth)
    assert fifteen.status_code == 200 and fifteen.json()["refused"] == 15
    limited = client.post(SUBS, json={"certificates": [str(uuid.uuid4()) for _ in range(10)]}, headers=auth)
    refused(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) >= 1
    # A body over the JSON limit is refused while it streams in; deep nesting before parsing.
    huge = b'{"certificates": ["' + b"a" * (2 * 1024 * 1024) + b'"]}'
    refused(client.post(SUBS, content=huge, headers={**auth, "content-type": "application/json"}), 413,
            "UPLOAD_TOO_LARGE")
    deep = client.post(SUBS, content=b"[" * 10_000, headers={**auth, "content-type": "application/json"})
    assert deep.status_code == 400
    _row2, other = create_api_key(rt.engine, "另一登记中心")
    for query in ("page=0", "page=-1", "page=abc", "page=10001", f"page={10 ** 30}", "page=1%00", "page="):
        refused(client.get(f"{SUBS}?{query}", headers=bearer(other)), 422, "INVALID_REQUEST")
    for path in ("not-a-uuid", "%00", str(cert.id) + "%00", "a" * 5000):
        refused(client.delete(f"{SUBS}/{path}", headers=bearer(other)), 422, "INVALID_REQUEST")
    refused(client.post(BATCH, json={"items": [{"id": str(cert.id)}], "subscribe": "perhaps"}, headers=bearer(other)),
            422, "INVALID_REQUEST")


def test_a_registry_hears_of_the_revocations_and_corrections_it_subscribed_to(runtime_factory, database_url):
    rt = runtime_factory(database_url=database_url, feed_allow_insecure_receivers=True)
    revoked, corrected, unsubscribed, theirs = (issue(rt) for _ in range(4))
    rt.worker().run_once(force=True)
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    registry, key = create_api_key(rt.engine, "不动产登记中心")
    court, court_key = create_api_key(rt.engine, "法院")
    mine = [revoked, corrected, unsubscribed]
    verified = verify(client, key, [{"id": str(c.id)} for c in mine], subscribe=True)
    assert [x["subscribed"] for x in verified] == [True] * 3
    assert client.delete(f"{SUBS}/{unsubscribed.id}", headers=bearer(key)).status_code == 204
    # The court verified one of mine without subscribing, and subscribed to one of its own.
    verify(client, court_key, [{"id": str(revoked.id)}, {"sha256": theirs.document_sha256}])
    assert subscribe(client, court_key, [theirs.document_sha256])["subscribed"] == 1
    sealing = rt.feed_config.sealing_key
    with LoopbackReceiver() as hook, LoopbackReceiver() as court_hook:
        _r1, secret = receivers.add_receiver(rt.engine, sealing, name="登记中心", url=hook.url,
                                             actor="operator:test", api_key_id=registry.id, allow_insecure=True)
        _r2, court_secret = receivers.add_receiver(rt.engine, sealing, name="法院", url=court_hook.url,
                                                   actor="operator:test", api_key_id=court.id, allow_insecure=True)
        # The note names the holder: it goes to receivers entitled to personal data only.
        revoke_certificate(rt.engine, revoked.id, RevocationReason.WITHDRAWN, f"{PERSON['applicant_name']}撤回申请")
        successor = correct_certificate(rt.issuer_context(), corrected.id, {**PERSON, "birth_place": "上海市静安区"})
        revoke_certificate(rt.engine, unsubscribed.id, RevocationReason.ISSUED_IN_ERROR)
        revoke_certificate(rt.engine, theirs.id, RevocationReason.COURT_ORDER)
        rt.worker().run_once(force=True)
        worker = rt.feed_worker()
        try:
            dispatcher.run_until_idle(worker, 15)
        finally:
            worker.close()

    def messages(receiver: LoopbackReceiver, secret_: str) -> dict[tuple[str, str], dict]:
        found = {}
        for headers, body in receiver.messages:
            message = Webhook(secret_).verify(body, headers)
            assert not any(p in body.decode() for p in PERSONAL), body.decode()
            found[(message["type"], message["data"]["certificate_id"])] = message["data"]
        return found

    got = messages(hook, secret)
    assert set(got) == {("certificate.revoked", str(revoked.id)), ("certificate.corrected", str(corrected.id))}
    assert len(hook.messages) == 2
    fixed = got[("certificate.corrected", str(corrected.id))]
    assert (fixed["successor_id"], fixed["successor_number"], fixed["number"]) == (
        str(successor.id), successor.number, corrected.number)
    gone = got[("certificate.revoked", str(revoked.id))]
    assert gone["reason_name"] == "withdrawn" and "note" not in gone
    assert messages(court_hook, court_secret).keys() == {("certificate.revoked", str(theirs.id))}
    assert len(court_hook.messages) == 1
    # Another key's secret does not verify them: each registry's messages are its own.
    with pytest.raises(WebhookVerificationError):
        Webhook(court_secret).verify(hook.messages[0][1], hook.messages[0][0])
    # The listing shows what happened, still without personal data.
    listed = client.get(SUBS, headers=bearer(key))
    states = {x["certificate_id"]: (x["status"], x["successor_id"]) for x in listed.json()["subscriptions"]}
    assert states == {str(revoked.id): ("revoked", None), str(corrected.id): ("superseded", str(successor.id))}
    assert not any(p in listed.text for p in PERSONAL)
    with Session(rt.engine) as s:
        assert set(s.exec(select(RegistrySubscription.certificate_id)
                          .where(col(RegistrySubscription.api_key_id) == court.id))) == {theirs.id}


def test_a_revoked_or_expired_key_hears_nothing_more(sqlite_runtime):
    rt = sqlite_runtime
    rt.settings.feed_allow_insecure_receivers = True
    first, second = issue(rt), issue(rt)
    rt.worker().run_once(force=True)
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    revoked_key, key = create_api_key(rt.engine, "公积金中心")
    expired_key, old_key = create_api_key(rt.engine, "房屋租赁中心")
    for k in (key, old_key):
        verify(client, k, [{"id": str(first.id)}, {"id": str(second.id)}], subscribe=True)
    sealing = rt.feed_config.sealing_key
    with LoopbackReceiver() as hook, LoopbackReceiver() as old_hook:
        receivers.add_receiver(rt.engine, sealing, name="公积金", url=hook.url, actor="t",
                               api_key_id=revoked_key.id, allow_insecure=True)
        # Its key's expiry, as `notary feed add --api-key` copies it: already past.
        receivers.add_receiver(rt.engine, sealing, name="租赁", url=old_hook.url, actor="t",
                               api_key_id=expired_key.id, allow_insecure=True,
                               expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
        revoke_certificate(rt.engine, first.id, RevocationReason.WITHDRAWN)
        worker = rt.feed_worker()
        try:
            dispatcher.run_until_idle(worker, 15)
            assert len(hook.messages) == 1 and old_hook.messages == []
            revoke_api_key(rt.engine, str(revoked_key.id), actor="operator:test")
            revoke_certificate(rt.engine, second.id, RevocationReason.WITHDRAWN)
            dispatcher.run_until_idle(worker, 15)
        finally:
            worker.close()
        assert len(hook.messages) == 1 and old_hook.messages == []  # nothing after the key was revoked
    assert [r.disabled_at is not None for r in receivers.list_receivers(rt.engine) if r.api_key_id == revoked_key.id] \
        == [True]
