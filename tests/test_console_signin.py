"""Staff sign-in to the console, as an attacker would try it: wrong passwords and codes,
replayed codes, lock-out, forged forms (CSRF), stolen or stale sessions, sign-out
everywhere, disabled accounts, open redirects, and the audit trail of every attempt."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from console import accounts, staff_sessions
from console.errors import InvalidAccount
from console.models import StaffSession, StaffUser
from issuer.auth import Role
from notary.app import create_app
from records.audit import AuditEvent, verify_chain
from tests.console_helpers import csrf_of, make_person, sign_in, signed_in_client


@pytest.fixture
def app(sqlite_runtime):
    return create_app(sqlite_runtime)


def _audit(rt, action: str) -> list[AuditEvent]:
    with Session(rt.engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


def _client(app) -> TestClient:
    return TestClient(app, base_url="https://testserver")


def test_sign_in_sets_a_host_only_secure_strict_session_cookie(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    client = _client(app)
    response = sign_in(client, person)
    assert response.status_code == 303 and response.headers["location"] == "/console/office"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-notary_staff="))
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
    assert "samesite=strict" in cookie.lower()
    assert client.get("/console/office").status_code == 200
    # Only the token's hash is stored.
    token = client.cookies.get("__Host-notary_staff")
    with Session(sqlite_runtime.engine) as s:
        rows = s.exec(select(StaffSession)).all()
    assert [r.token_hash for r in rows] == [staff_sessions.token_hash(token)]
    assert _audit(sqlite_runtime, "staff.signin")


def test_wrong_password_wrong_code_and_unknown_user_get_one_answer(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    client = _client(app)
    answers = [sign_in(client, person, password="Wrong-Password-123"), sign_in(client, person, code="000000"),
               sign_in(client, make_person.__class__ and type(person)("nobody", "x" * 14, person.secret, None))]
    for answer in answers:
        assert answer.status_code == 401
        assert 'data-code="SIGNIN_FAILED"' in answer.text
    assert "__Host-notary_staff" not in client.cookies
    failed = _audit(sqlite_runtime, "staff.signin_failed")
    assert len(failed) == 3 and failed[-1].target == "unknown"


def test_a_code_is_accepted_once(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    assert sign_in(_client(app), person).status_code == 303
    replay = sign_in(_client(app), person, code=person.stale_code())
    assert replay.status_code == 401


def test_five_failures_lock_the_account_even_against_the_right_password(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    client = _client(app)
    for _ in range(4):
        assert sign_in(client, person, password="Wrong-Password-123").status_code == 401
    fifth = sign_in(client, person, password="Wrong-Password-123")
    assert fifth.status_code == 429 and 'data-code="ACCOUNT_LOCKED"' in fifth.text
    right = sign_in(client, person)
    assert right.status_code == 429 and 'data-code="ACCOUNT_LOCKED"' in right.text
    assert _audit(sqlite_runtime, "staff.signin_locked")
    # The administrator's reset lifts the lock (with a new temporary password).
    reset = accounts.reset_user(sqlite_runtime.engine, sqlite_runtime.totp_sealing_key, "wangfang", actor="test")
    person.password, person.secret, person.last_step = reset.password, reset.totp_secret, 0
    answer = sign_in(_client(app), person)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/password"


def test_one_address_spraying_many_accounts_is_stopped(sqlite_runtime, app):
    client = _client(app)
    people = [make_person(sqlite_runtime, f"clerk{i}") for i in range(5)]
    answers = [sign_in(client, people[i % 5], password="Wrong-Password-123").status_code for i in range(21)]
    assert answers[:20] == [401] * 20 and answers[20] == 429


def test_forms_without_the_session_csrf_token_are_refused(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    client = signed_in_client(app, person)
    for data in ({}, {"csrf": "forged"}):
        answer = client.post("/console/office/drafts", data={"matter": "birth", **data})
        assert answer.status_code == 403 and 'data-code="CSRF_REJECTED"' in answer.text
    # Another person's valid token is no good either.
    other = signed_in_client(app, make_person(sqlite_runtime, "lisi"))
    theirs = csrf_of(other.get("/console/office").text)
    answer = client.post("/console/signout", data={"csrf": theirs}, follow_redirects=False)
    assert answer.status_code == 403
    assert client.get("/console/office").status_code == 200  # still signed in


def test_sign_in_form_needs_its_own_cookie_token(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    client = _client(app)
    # A page elsewhere posting the sign-in form (login CSRF): no cookie from this site's form.
    answer = client.post("/console/signin", data={"username": person.username, "password": person.password,
                                                  "code": person.code(), "csrf": "made-up", "next": "/console/"})
    assert answer.status_code == 403 and "__Host-notary_staff" not in client.cookies


def test_idle_and_absolute_timeouts_end_the_session(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    client = signed_in_client(app, person)
    digest = staff_sessions.token_hash(client.cookies.get("__Host-notary_staff"))

    def age(**moved: dt.timedelta) -> None:
        with Session(sqlite_runtime.engine) as s:
            row = s.get(StaffSession, digest)
            for name, delta in moved.items():
                setattr(row, name, getattr(row, name) - delta)
            s.add(row)
            s.commit()

    age(last_seen_at=dt.timedelta(minutes=16))
    answer = client.get("/console/office", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/signin?next=")
    with Session(sqlite_runtime.engine) as s:
        assert s.get(StaffSession, digest) is None

    client = signed_in_client(app, person)
    digest = staff_sessions.token_hash(client.cookies.get("__Host-notary_staff"))
    age(created_at=dt.timedelta(hours=8, minutes=1))  # busy all day, but the day is over
    assert client.get("/console/office", follow_redirects=False).status_code == 303
    # A form posted after the session ended is refused as such, not redirected.
    answer = client.post("/console/office/drafts", data={"csrf": "x", "matter": "birth"}, follow_redirects=False)
    assert answer.status_code == 401 and 'data-code="SESSION_EXPIRED"' in answer.text


def test_sign_out_everywhere_ends_every_browser(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    phone, desk = signed_in_client(app, person), signed_in_client(app, person)
    csrf = csrf_of(desk.get("/console/account").text)
    assert desk.post("/console/signout-everywhere", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    for client in (phone, desk):
        assert client.get("/console/office", follow_redirects=False).status_code == 303
    assert '"sessions": 2' in _audit(sqlite_runtime, "staff.signout_all")[0].details


def test_a_disabled_account_is_out_at_once_and_cannot_sign_in(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "wangfang")
    client = signed_in_client(app, person)
    accounts.set_disabled(sqlite_runtime.engine, "wangfang", True, actor="test")
    assert client.get("/console/office", follow_redirects=False).status_code == 303
    assert sign_in(_client(app), person).status_code == 401


def test_the_next_address_never_leaves_the_console(sqlite_runtime, app):
    targets = ("https://evil.example/", "//evil.example/console/", "/console/\\evil", "/verify")
    for i, target in enumerate(targets):  # one person each: a code is taken once
        answer = sign_in(_client(app), make_person(sqlite_runtime, f"clerk{i}"), next_=target)
        assert answer.headers["location"] == "/console/office"
    answer = sign_in(_client(app), make_person(sqlite_runtime, "clerk9"), next_="/console/account")
    assert answer.headers["location"] == "/console/account"


def test_a_temporary_password_must_be_changed_first(sqlite_runtime, app):
    made = accounts.create_user(sqlite_runtime.engine, sqlite_runtime.totp_sealing_key, "newclerk", "新员工",
                                Role.NOTARY, sqlite_runtime.office.code, actor="test")
    from tests.console_helpers import Person

    person = Person("newclerk", made.password, made.totp_secret, made.user.id)
    client = _client(app)
    assert sign_in(client, person).headers["location"] == "/console/password"
    assert client.get("/console/office", follow_redirects=False).headers["location"] == "/console/password"
    csrf = csrf_of(client.get("/console/password").text)
    weak = client.post("/console/password", data={"csrf": csrf, "current": made.password, "new": "short",
                                                  "again": "short"})
    assert weak.status_code == 422
    answer = client.post("/console/password", data={"csrf": csrf, "current": made.password,
                                                    "new": "A-much-better-secret-42", "again": "A-much-better-secret-42"},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/console/office").status_code == 200
    assert sign_in(_client(app), person, password="A-much-better-secret-42").status_code == 303


def test_account_rules(sqlite_runtime):
    engine, key = sqlite_runtime.engine, sqlite_runtime.totp_sealing_key
    bad = [("ab", "名字", "Long-enough-pass-1"), ("Bad Name", "名字", "Long-enough-pass-1"),
           ("okname", "名\u202e字", "Long-enough-pass-1"), ("okname", "名字", "short"),
           ("okname", "名字", "okname-is-in-it-1"), ("okname", "", "Long-enough-pass-1")]
    for username, name, password in bad:
        with pytest.raises(InvalidAccount):
            accounts.create_user(engine, key, username, name, Role.NOTARY, "SH-DONGFANG", actor="t", password=password)
    with pytest.raises(InvalidAccount):  # a notary belongs to an office
        accounts.create_user(engine, key, "okname", "名字", Role.NOTARY, None, actor="t", password="Long-enough-pass-1")
    accounts.create_user(engine, key, "okname", "名字", Role.NOTARY, "SH-DONGFANG", actor="t", password="Long-enough-pass-1")
    with pytest.raises(InvalidAccount):
        accounts.create_user(engine, key, "OKNAME", "名字", Role.NOTARY, "SH-DONGFANG", actor="t",
                             password="Long-enough-pass-1")
    with Session(engine) as s:
        user = s.exec(select(StaffUser)).one()
    assert user.password_hash.startswith("$argon2id$") and "Long-enough" not in user.totp_sealed
    assert verify_chain(engine) is None


def test_powerful_actions_need_a_fresh_code_and_guessing_it_locks_the_account(sqlite_runtime, app):
    """A session in other hands (a borrowed browser) cannot make accounts or credentials
    without the second factor: five wrong codes lock the account and end its sessions."""
    from tests.console_helpers import elevate

    person = make_person(sqlite_runtime, "liming", Role.OFFICE_ADMIN, name="李明")
    client = signed_in_client(app, person)
    page = client.get("/console/office/admin/credentials")
    form = {"csrf": csrf_of(page.text), "name": "出证系统", "role": "notary", "days": "30"}
    ask = client.post("/console/office/admin/tokens", data=form, follow_redirects=False)
    assert ask.status_code == 303 and ask.headers["location"] == "/console/confirm?next=%2Fconsole%2Foffice%2Fadmin%2Fcredentials"
    for _ in range(4):
        wrong = client.post("/console/confirm", data={"csrf": form["csrf"], "code": "000000", "next": "/console/"})
        assert wrong.status_code == 401
    locked = client.post("/console/confirm", data={"csrf": form["csrf"], "code": "000000", "next": "/console/"})
    assert locked.status_code == 429
    assert client.get("/console/office", follow_redirects=False).status_code == 303  # signed out everywhere
    assert _audit(sqlite_runtime, "staff.confirm_failed")

    other = make_person(sqlite_runtime, "chenjing", Role.OFFICE_ADMIN, name="陈静")
    client = signed_in_client(app, other)
    elevate(client, other)
    page = client.get("/console/office/admin/credentials")
    made = client.post("/console/office/admin/tokens", data={**form, "csrf": csrf_of(page.text)})
    assert made.status_code == 200 and 'id="secret">ent_' in made.text
    with Session(sqlite_runtime.engine) as s:  # allowed for five minutes, not for good
        row = s.get(StaffSession, staff_sessions.token_hash(client.cookies.get("__Host-notary_staff")))
        row.elevated_until = row.elevated_until - dt.timedelta(minutes=6)
        s.add(row)
        s.commit()
    assert client.post("/console/office/admin/tokens", data={**form, "csrf": csrf_of(page.text)},
                       follow_redirects=False).status_code == 303


def test_the_code_just_signed_in_with_is_not_counted_as_a_guess(sqlite_runtime, app):
    person = make_person(sqlite_runtime, "liming", Role.OFFICE_ADMIN, name="李明")
    client = signed_in_client(app, person)
    page = client.get("/console/confirm")
    for _ in range(6):  # more than the lock-out allows, were they counted
        again = client.post("/console/confirm", data={"csrf": csrf_of(page.text), "code": person.stale_code(),
                                                      "next": "/console/"})
        assert again.status_code == 409 and 'data-code="CODE_ALREADY_USED"' in again.text
    assert client.get("/console/office").status_code == 200  # still signed in, not locked
