"""Staff accounts and signed-in clients for the console tests: a test plays the person with
the authenticator app (it computes the TOTP code from the secret the account was made with)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from fastapi.testclient import TestClient

from console import accounts, totp
from issuer.auth import Role

PASSWORD = "Correct-Horse-Battery-9"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Person:
    username: str
    password: str
    secret: str
    user_id: object
    last_step: int = 0

    def peek(self) -> str:
        """A valid code, not taken (for an attempt the server refuses for another reason)."""
        now = int(time.time() // totp.STEP_SECONDS)
        return totp.code_now(self.secret, max(now - 1, self.last_step + 1) * totp.STEP_SECONDS)

    def code(self) -> str:
        """A code the server has not accepted yet: each is taken once, so a person signing in
        again within one 30-second step uses the step after (the server allows one step of
        clock drift), and waits for a new step beyond that."""
        now = int(time.time() // totp.STEP_SECONDS)
        step = max(now - 1, self.last_step + 1)
        if step > now + 1:
            time.sleep((step - 1) * totp.STEP_SECONDS - time.time() + 0.05)
        self.last_step = step
        return totp.code_now(self.secret, step * totp.STEP_SECONDS)

    def stale_code(self) -> str:
        """The code of a step the server has already taken (a replay)."""
        return totp.code_now(self.secret, self.last_step * totp.STEP_SECONDS)


def make_person(rt, username: str, role: Role = Role.NOTARY, office: str | None = None, *, name: str | None = None,
                password: str = PASSWORD) -> Person:
    office = office if office is not None else (None if role == Role.REGISTRY_ADMIN else rt.office.code)
    made = accounts.create_user(rt.engine, rt.totp_sealing_key, username, name or username.title()[:40], role, office,
                                actor="test", password=password)
    return Person(username, made.password, made.totp_secret, made.user.id)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, person: Person, *, code: str | None = None, password: str | None = None,
            next_: str = "/console/"):
    page = client.get("/console/signin")
    return client.post("/console/signin", data={
        "username": person.username, "password": password if password is not None else person.password,
        "code": code if code is not None else (person.peek() if password is not None else person.code()), "csrf": csrf_of(page.text), "next": next_},
        follow_redirects=False)


def signed_in_client(app, person: Person) -> TestClient:
    """A client (HTTPS, so the Secure cookies travel) signed in as ``person``."""
    client = TestClient(app, base_url="https://testserver")
    response = sign_in(client, person)
    assert response.status_code == 303, response.text
    return client


def form_fields(data: dict, prefix: str = "") -> dict:
    """The form fields a clerk would fill for ``data`` (lists of objects as numbered rows)."""
    out: dict = {}
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                out.update(form_fields(item, f"{prefix}{key}.{i}."))
        elif isinstance(value, list):
            out[prefix + key] = "\n".join(value)
        elif isinstance(value, bool):
            if value:
                out[prefix + key] = "on"
        else:
            out[prefix + key] = str(value)
    return out


def elevate(client: TestClient, person: Person) -> None:
    """Give a fresh TOTP code, as the console asks before accounts, credentials and the
    signing key are changed (the session may then do so for five minutes)."""
    page = client.get("/console/confirm")
    answer = client.post("/console/confirm", data={"csrf": csrf_of(page.text), "code": person.code(),
                                                   "next": "/console/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
