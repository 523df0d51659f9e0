"""Issuer tokens and registry API keys can be taken back: created, listed and revoked with
the real `notary` command, refused (401) at once when revoked or expired by every API
process, their last use recorded at most once a minute without ever failing a request,
each creation and revocation in the audit log, and the schema change migrated on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import event, inspect
from sqlmodel import Session, SQLModel, select

from records.audit import AuditEvent, verify_chain
from issuer.auth import IssuerToken, Role, Unauthenticated, authenticate_token, create_token, revoke_token
from keys import credentials
from keys.credentials import CredentialLookupError, parse_expiry
from keys.bearer import secret_hash
from notary.app import create_app
from notary.database import current_revision, head_revision, make_engine, migrate, migration_config, \
    schema_type_differs
from verifier.apikeys import authenticate_api_key as authenticate_key, create_api_key, revoke_api_key
from verifier.models import ApiKey

NOTARY = Path(sys.executable).with_name("notary")
OFFICE = "SH-DONGFANG"  # the runtime's default office
BATCH = {"items": [{"id": str(uuid.UUID(int=7))}]}  # an unknown id: 200 with an ERROR item when the key is good


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def _command_line(rt):
    """The real command line on a runtime's data directory and database (no chain)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    env.update(NOTARY_DATA_DIR=str(rt.settings.data_path), NOTARY_KEY_PASSPHRASE="test-passphrase",
               NOTARY_OPERATOR="值班员")
    if rt.settings.database_url:
        env["NOTARY_DATABASE_URL"] = rt.settings.database_url

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(NOTARY), *args], env=env, capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture
def cli(runtime):
    return _command_line(runtime)


def _field(out: str, label: str) -> str:
    return out.split(f"{label}:", 1)[1].split()[0]


def _events(engine, prefix: str) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.seq)).all()
    return [(e.actor, e.action, e.target) for e in rows]


# ------------------------------------------------------------------ the command line

def test_tokens_created_listed_and_revoked_with_the_cli(runtime, cli):
    """Runs on SQLite and on PostgreSQL."""
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    first = cli("token", "create", "王丽", "--role", "notary", "--expires", "90d", "--operator", "张主任")
    assert first.returncode == 0, first.stderr
    first_id, first_token = _field(first.stdout, "id"), _field(first.stdout, "token")
    until = dt.datetime.fromisoformat(_field(first.stdout, "until").replace("Z", "+00:00"))
    assert abs(until - (_now() + dt.timedelta(days=90))) < dt.timedelta(minutes=5)
    # A second token of the same name: refused unless it says whose (the same person's, or a namesake's).
    namesake = cli("token", "create", "王丽", "--role", "office_admin")
    assert namesake.returncode == 3 and "--holder" in namesake.stderr and "--new-person" in namesake.stderr
    second = cli("token", "create", "王丽", "--role", "office_admin", "--holder", _field(first.stdout, "holder"))
    assert second.returncode == 0, second.stderr
    second_id, second_token = _field(second.stdout, "id"), _field(second.stdout, "token")
    assert "until: no expiry" in second.stdout
    assert client.get("/api/v1/certificates", headers=_bearer(first_token)).status_code == 200

    listing = cli("token", "list")
    assert listing.returncode == 0, listing.stderr
    assert first_id in listing.stdout and second_id in listing.stdout and "office_admin SH-DONGFANG" in listing.stdout
    as_json = cli("token", "list", "--json")
    rows = {r["id"]: r for r in map(json.loads, as_json.stdout.splitlines())}
    assert rows[first_id]["expires_at"] and rows[second_id]["expires_at"] is None
    assert rows[first_id]["last_used_at"] is not None  # the GET above
    for out in (listing.stdout, as_json.stdout):  # never the token, never its hash
        assert "ent_" not in out and "hash" not in out
        for token in (first_token, second_token):
            assert token not in out and secret_hash(token) not in out

    ambiguous = cli("token", "revoke", "王丽")
    assert ambiguous.returncode == 3
    assert "2 unrevoked tokens are named '王丽'" in ambiguous.stderr and first_id in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr
    assert cli("token", "revoke", "nobody").returncode == 3
    assert cli("token", "revoke", str(uuid.uuid4())).returncode == 3

    revoked = cli("token", "revoke", first_id)
    assert revoked.returncode == 0 and f"revoked token {first_id}" in revoked.stdout
    # At once, in this process, which did not do the revoking: no cache keeps it alive.
    refused = client.get("/api/v1/certificates", headers=_bearer(first_token))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "AUTH_REQUIRED"
    assert client.post("/api/v1/certificates", headers=_bearer(first_token),
                       json={"matter": "birth", "data": {}}).status_code == 401
    assert client.get("/api/v1/certificates", headers=_bearer(second_token)).status_code == 200

    by_name = cli("token", "revoke", "王丽")  # now only one unrevoked token has the name
    assert by_name.returncode == 0 and second_id in by_name.stdout
    assert client.get("/api/v1/certificates", headers=_bearer(second_token)).status_code == 401
    again = cli("token", "revoke", second_id)
    assert again.returncode == 0 and "already revoked" in again.stdout

    rows = {r["id"]: r for r in map(json.loads, cli("token", "list", "--json").stdout.splitlines())}
    assert rows[first_id]["revoked_at"] and rows[second_id]["revoked_at"]
    assert _events(runtime.engine, "token.") == [
        ("operator:张主任", "token.create", first_id), ("operator:值班员", "token.create", second_id),
        ("operator:值班员", "token.revoke", first_id), ("operator:值班员", "token.revoke", second_id),
    ]
    assert verify_chain(runtime.engine) is None


def test_api_keys_created_listed_and_revoked_with_the_cli(runtime, cli):
    """Runs on SQLite and on PostgreSQL."""
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    created = cli("apikey", "create", "不动产登记中心", "--per-minute", "100", "--expires", "2w")
    assert created.returncode == 0, created.stderr
    key_id, key = _field(created.stdout, "id"), _field(created.stdout, "key")
    assert key.startswith("enk_") and _field(created.stdout, "until") != "no"
    assert client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(key)).status_code == 200

    for args in (("apikey", "list"), ("apikey", "list", "--json")):
        out = cli(*args)
        assert out.returncode == 0 and key_id in out.stdout and "不动产登记中心" in out.stdout
        assert key not in out.stdout and secret_hash(key) not in out.stdout and "enk_" not in out.stdout
    row = json.loads(cli("apikey", "list", "--json").stdout)
    assert row["items_per_minute"] == 100 and row["last_used_at"] and row["revoked_at"] is None

    revoked = cli("apikey", "revoke", "不动产登记中心", "--operator", "李科长")
    assert revoked.returncode == 0 and f"revoked API key {key_id}" in revoked.stdout
    refused = client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(key))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "API_KEY_INVALID"
    assert "已注销" in refused.json()["error"]["message_zh"]
    assert _events(runtime.engine, "apikey.") == [
        ("operator:值班员", "apikey.create", key_id), ("operator:李科长", "apikey.revoke", key_id)]


def test_cli_refuses_nonsense_expiries_and_ambiguous_names(sqlite_runtime):
    cli = _command_line(sqlite_runtime)
    for bad in ("nonsense", "0d", "-5d", "12x", "2020-01-01", "2026-13-40", "9999999d", ""):
        r = cli("token", "create", "x", "--expires", bad)
        assert r.returncode == 3 and "--expires" in r.stderr and "Traceback" not in r.stderr, (bad, r.stderr)
    assert cli("apikey", "create", "x", "--expires", "soon").returncode == 3
    assert cli("token", "create", "x", "--operator", " ").returncode == 3
    for _ in range(2):
        assert cli("apikey", "create", "法院").returncode == 0
    ambiguous = cli("apikey", "revoke", "法院")
    assert ambiguous.returncode == 3 and "2 unrevoked API keys are named '法院'" in ambiguous.stderr
    # Refused commands leave nothing behind: only the two keys' creations are logged.
    assert [(actor, action) for actor, action, _ in _events(sqlite_runtime.engine, "")] == \
        [("operator:值班员", "apikey.create")] * 2


def test_parse_expiry():
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_expiry("90d", now) == now + dt.timedelta(days=90)
    assert parse_expiry("12h", now) == now + dt.timedelta(hours=12)
    assert parse_expiry(" 30M ", now) == now + dt.timedelta(minutes=30)
    assert parse_expiry("2w", now) == now + dt.timedelta(weeks=2)
    assert parse_expiry("2026-12-31", now) == dt.datetime(2026, 12, 31, tzinfo=dt.timezone.utc)
    assert parse_expiry("2026-12-31T18:00+08:00", now) == dt.datetime(2026, 12, 31, 10, tzinfo=dt.timezone.utc)
    assert parse_expiry("2026-12-31 18:00", now) == dt.datetime(2026, 12, 31, 18, tzinfo=dt.timezone.utc)
    for bad in ("", "d", "1.5d", "90", "90 days", "-1d", "0h", "2026-02-30", "2026-03-01", "2025-12-31T00:00",
                "9999999d", "tomorrow", "2026-12-31Tnoon"):
        with pytest.raises(ValueError):
            parse_expiry(bad, now)


# ------------------------------------------------------------------ refused at once

def test_expired_token_and_key_are_refused(runtime):
    """Runs on SQLite and on PostgreSQL: created already expired, or expired by the clock."""
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    past = _now() - dt.timedelta(seconds=1)
    _row, stale_token = create_token(runtime.engine, "王丽", Role.NOTARY, OFFICE, expires_at=past)
    r = client.get("/api/v1/certificates", headers=_bearer(stale_token))
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    _row, stale_key = create_api_key(runtime.engine, "法院", expires_at=past)
    r = client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(stale_key))
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]

    # Valid now; the row's expiry moved to the past: refused on the next request.
    later = _now() + dt.timedelta(hours=1)
    token_row, token = create_token(runtime.engine, "赵强", Role.NOTARY, OFFICE, expires_at=later)
    key_row, key = create_api_key(runtime.engine, "仲裁委", expires_at=later)
    assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 200
    assert client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(key)).status_code == 200
    with Session(runtime.engine) as s:
        for model, ident in ((IssuerToken, token_row.id), (ApiKey, key_row.id)):
            row = s.get(model, ident)
            row.expires_at = _now() - dt.timedelta(milliseconds=1)
            s.add(row)
        s.commit()
    assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 401
    assert client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(key)).status_code == 401
    with pytest.raises(Unauthenticated):
        authenticate_token(runtime.engine, f"Bearer {token}")


def test_two_api_processes_refuse_a_revoked_token_at_once(runtime, runtime_factory, database_url):
    """Two runtimes (own engines and connection pools) on one database, each with its app:
    a revocation by one, or by anyone, is refused by both on the very next request."""
    other = runtime_factory("node", database_url=database_url)  # the same data directory and database
    assert other.engine is not runtime.engine
    apps = [TestClient(create_app(rt), raise_server_exceptions=False) for rt in (runtime, other)]
    _t, token = create_token(runtime.engine, "王丽", Role.NOTARY, OFFICE)
    _k, key = create_api_key(runtime.engine, "不动产登记中心")
    for client in apps:  # warm: both have authenticated these and hold pooled connections
        for _ in range(3):
            assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 200
            assert client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(key)).status_code == 200
    revoke_token(other.engine, "王丽", actor="operator:test")
    revoke_api_key(other.engine, "不动产登记中心", actor="operator:test")
    for client in apps:
        assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 401
        assert client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(key)).status_code == 401


# ------------------------------------------------------------------ last use

def _count_updates(engine, table: str) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _watch(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(f"UPDATE {table.upper()}"):
            seen.append(statement)

    return seen


def test_last_use_is_written_at_most_once_a_minute(runtime):
    """Runs on SQLite and on PostgreSQL."""
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    token_row, token = create_token(runtime.engine, "王丽", Role.NOTARY, OFFICE)
    key_row, key = create_api_key(runtime.engine, "不动产登记中心")
    token_writes = _count_updates(runtime.engine, "issuer_token")
    key_writes = _count_updates(runtime.engine, "verifier_api_key")
    before = _now()
    for _ in range(10):
        assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 200
        assert client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(key)).status_code == 200
    # Issuing requests are checked twice (before the body, then by the route): still no extra write.
    client.post("/api/v1/certificates", headers=_bearer(token), json={"matter": "nope", "data": {}})
    assert len(token_writes) == 1 and len(key_writes) == 1

    def last_used(model, ident):
        with Session(runtime.engine) as s:
            return s.get(model, ident).last_used_at

    first = last_used(IssuerToken, token_row.id)
    assert first is not None and before <= first <= _now()
    assert last_used(ApiKey, key_row.id) is not None
    # A minute later (the stored time moved back), the next use is written again, once.
    with Session(runtime.engine) as s:
        for model, ident in ((IssuerToken, token_row.id), (ApiKey, key_row.id)):
            row = s.get(model, ident)
            row.last_used_at = _now() - dt.timedelta(seconds=61)
            s.add(row)
        s.commit()
    for _ in range(3):
        assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 200
        assert client.post("/api/v1/verify/batch", json=BATCH, headers=_bearer(key)).status_code == 200
    assert len(token_writes) == 3 and len(key_writes) == 3  # the two above, plus the two moves back
    assert last_used(IssuerToken, token_row.id) >= first
    # 59 seconds is not a minute.
    with Session(runtime.engine) as s:
        row = s.get(IssuerToken, token_row.id)
        row.last_used_at = _now() - dt.timedelta(seconds=59)
        s.add(row)
        s.commit()
    assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 200
    assert len(token_writes) == 4  # only the move back


def test_recording_use_never_fails_or_stalls_the_request(runtime, database_url, caplog, monkeypatch):
    """Runs on SQLite (another writer holds the database) and PostgreSQL (another
    transaction holds the rows): the credential is accepted, the skipped write logged."""
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    token_row, token = create_token(runtime.engine, "王丽", Role.NOTARY, OFFICE)
    key_row, key = create_api_key(runtime.engine, "不动产登记中心")
    if database_url is None:
        holder = sqlite3.connect(runtime.settings.data_path / "notary.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
        holder.execute("SELECT 1 FROM issuer_token WHERE id = %s FOR NO KEY UPDATE", (token_row.id,))
        holder.execute("SELECT 1 FROM verifier_api_key WHERE id = %s FOR NO KEY UPDATE", (key_row.id,))
    try:
        with caplog.at_level(logging.WARNING, logger="notary.credentials"):
            started = time.monotonic()
            assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 200
            assert authenticate_key(runtime.engine, f"Bearer {key}").id == key_row.id
            elapsed = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert elapsed < 5, elapsed  # the connections' own busy timeout is 30 s: not waited on
    assert "could not record the use of issuer_token" in caplog.text
    assert "could not record the use of verifier_api_key" in caplog.text
    with Session(runtime.engine) as s:
        assert s.get(IssuerToken, token_row.id).last_used_at is None
    # Once the lock is gone (and the back-off over) the use is recorded.
    monkeypatch.setattr(credentials, "TOUCH_BACKOFF_SECONDS", 0.0)
    assert client.get("/api/v1/certificates", headers=_bearer(token)).status_code == 200
    authenticate_key(runtime.engine, f"Bearer {key}")
    with Session(runtime.engine) as s:
        assert s.get(IssuerToken, token_row.id).last_used_at is not None
        assert s.get(ApiKey, key_row.id).last_used_at is not None
    if database_url is None:  # the busy timeout the connections were made with is back
        with runtime.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_revoking_by_id_or_name_in_the_library(sqlite_runtime):
    engine = sqlite_runtime.engine
    a, _ = create_token(engine, "王丽", Role.NOTARY, OFFICE)
    b, _ = create_token(engine, "王丽", Role.NOTARY, OFFICE)
    with pytest.raises(CredentialLookupError, match="2 unrevoked"):
        revoke_token(engine, "王丽")
    row, done = revoke_token(engine, f" {a.id} ")
    assert done and row.id == a.id and row.revoked_at is not None
    row, done = revoke_token(engine, "王丽")
    assert done and row.id == b.id
    row, done = revoke_token(engine, "王丽")  # every one revoked: nothing more to do
    assert not done and row.revoked_at is not None
    with pytest.raises(CredentialLookupError):
        revoke_api_key(engine, "王丽")  # names are per kind
    assert _events(engine, "") == [("cli", "token.revoke", str(a.id)), ("cli", "token.revoke", str(b.id))]


# ------------------------------------------------------------------ migration 0004

def _alembic(engine, action, revision: str) -> None:
    config = migration_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        action(config, revision)


def test_migration_0004_keeps_existing_credentials(database_url, tmp_path):
    """Runs on SQLite and on PostgreSQL: a database at 0003 with a token, a key and its
    log is upgraded; the credentials keep working; down and up again."""
    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'm.db'}")
    _alembic(engine, command.upgrade, "0003")
    columns = lambda table: {c["name"] for c in inspect(engine).get_columns(table)}  # noqa: E731
    assert "expires_at" not in columns("issuer_token") and "last_used_at" not in columns("verifier_api_key")
    token, key = "ent_made-before-0004", "enk_made-before-0004"
    key_id = uuid.uuid4()
    old_token = sa.table("issuer_token", sa.column("id", sa.Uuid()), sa.column("name"), sa.column("role"),
                         sa.column("office_code"), sa.column("token_hash"), sa.column("created_at", sa.DateTime()))
    old_key = sa.table("verifier_api_key", sa.column("id", sa.Uuid()), sa.column("name"),
                       sa.column("key_hash"), sa.column("items_per_minute"), sa.column("created_at", sa.DateTime()))
    log = sa.table("verifier_log", sa.column("api_key_id", sa.Uuid()), sa.column("target"),
                   sa.column("indication"), sa.column("at", sa.DateTime()))
    at = dt.datetime(2026, 1, 5, 9, 30)
    with engine.begin() as conn:
        conn.execute(old_token.insert().values(id=uuid.uuid4(), name="王丽", role="notary", office_code=OFFICE,
                                               token_hash=secret_hash(token), created_at=at))
        conn.execute(old_key.insert().values(id=key_id, name="法院", key_hash=secret_hash(key), items_per_minute=10,
                                             created_at=at))
        conn.execute(log.insert().values(api_key_id=key_id, target="x", indication="PASSED", at=at))

    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert {"expires_at", "last_used_at", "revoked_at"} <= columns("issuer_token")
    assert {"expires_at", "last_used_at", "revoked_at"} <= columns("verifier_api_key")
    with engine.connect() as conn:
        opts = {"compare_type": schema_type_differs if conn.dialect.name == "sqlite" else True}
        assert compare_metadata(MigrationContext.configure(conn, opts=opts), SQLModel.metadata) == []
    principal = authenticate_token(engine, f"Bearer {token}")
    assert principal.name == "王丽" and principal.office_code == OFFICE
    assert authenticate_key(engine, f"Bearer {key}").id == key_id
    with Session(engine) as s:
        row = s.exec(select(IssuerToken)).one()
        assert row.expires_at is None and row.last_used_at is not None and row.created_at.year == 2026

    _alembic(engine, command.downgrade, "0003")  # on SQLite: no rebuild of the table the log references
    assert "last_used_at" not in columns("verifier_api_key") and "expires_at" not in columns("issuer_token")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(log)).scalar_one() == 1
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert authenticate_token(engine, f"Bearer {token}").name == "王丽"
    engine.dispose()
