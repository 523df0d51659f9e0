"""What issuer tokens and registry API keys share once issued: expiry, revocation by id
or name, and the record of their last use.

Both are checked against the database on every request (no process keeps a copy), so a
revocation or an expiry is refused at once by every API process. The time of last use is
written at most once a minute per credential, and never at the cost of the request: if
the write cannot be made at once (SQLite busy, a row lock), it is logged and skipped."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.sessions import SQLITE_IMMEDIATE, write_session

log = logging.getLogger("notary.credentials")

TOUCH_INTERVAL = dt.timedelta(minutes=1)  # last_used_at is written at most this often
TOUCH_WAIT_MS = 250  # how long recording a use may wait for a lock before it is skipped
TOUCH_BACKOFF_SECONDS = 5.0  # after a failed write, this process leaves that credential alone this long

_DURATION = re.compile(r"^\s*(\d{1,7})\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class CredentialLookupError(ValueError):
    """No credential, or more than one, answers to the id or name given."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_expiry(value: str, now: dt.datetime | None = None) -> dt.datetime:
    """An expiry given as a duration from now (``90d``, ``12h``, ``30m``, ``2w``), an ISO
    date (``2026-12-31``: 00:00 UTC that day) or an ISO date and time (UTC unless it names
    an offset). Returns an aware UTC datetime; raises ValueError for anything else, or
    for a time that is not in the future."""
    now = now or utcnow()
    value = (value or "").strip()
    match = _DURATION.match(value)
    try:
        if match:
            amount = int(match.group(1))
            if amount == 0:
                raise ValueError("the duration must be longer than zero")
            at = now + dt.timedelta(**{_UNITS[match.group(2).lower()]: amount})
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            at = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.timezone.utc)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", value):
            at = dt.datetime.fromisoformat(value)
            at = at.replace(tzinfo=dt.timezone.utc) if at.utcoffset() is None else at.astimezone(dt.timezone.utc)
        else:
            raise ValueError(f"not a duration (90d, 12h, 30m, 2w) or an ISO date (2026-12-31): {value!r}")
    except OverflowError:
        raise ValueError(f"the expiry is too far away: {value!r}") from None
    if at <= now:
        raise ValueError(f"the expiry {at.isoformat(timespec='minutes')} is not in the future")
    return at


def find_usable(engine: Engine, model: Any, hash_column, authorization: str | None, *, record_use_: bool = True):
    """The row for the bearer secret in ``authorization``, and why it may not be used:
    (row, None) when usable, else (row or None, "missing" | "unknown" | "revoked" | "expired").
    A usable one's use is recorded (at most once a minute) unless ``record_use_`` is False."""
    from .bearer import bearer, secret_hash

    secret = bearer(authorization)
    if secret is None:
        return None, "missing"
    with Session(engine) as s:
        row = s.exec(select(model).where(hash_column == secret_hash(secret))).first()
    if row is None:
        return None, "unknown"
    refused = refusal(row)
    if refused is None and record_use_:
        record_use(engine, model, row)
    return row, refused


def refusal(row: Any, now: dt.datetime | None = None) -> str | None:
    """Why a stored credential may not be used now ("revoked", "expired"), or None."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return "expired"
    return None


def resolve(session: Session, model: Any, ref: str) -> Any:
    """The credential whose id is ``ref``, or else the one unrevoked credential named ``ref``.
    Raises CredentialLookupError when there is none, or when the name is ambiguous."""
    ref = ref.strip()
    try:
        ident = uuid.UUID(ref)
    except ValueError:
        ident = None
    if ident is not None:
        row = session.get(model, ident)
        if row is None:
            raise CredentialLookupError(f"no credential with id {ident}")
        return row
    named = session.exec(select(model).where(model.name == ref).order_by(model.created_at)).all()
    live = [r for r in named if r.revoked_at is None]
    if len(live) == 1:
        return live[0]
    if len(live) > 1:
        ids = ", ".join(str(r.id) for r in live)
        raise CredentialLookupError(f"{len(live)} unrevoked credentials are named {ref!r}; give the id: {ids}")
    if named:
        return named[-1]  # all revoked: the caller reports it as already revoked
    raise CredentialLookupError(f"no credential with id or name {ref!r}")


def listed(engine: Engine, model: Any) -> list[Any]:
    """Every credential of ``model``, oldest first."""
    with Session(engine) as s:
        return list(s.exec(select(model).order_by(model.created_at)).all())


def revoke(engine: Engine, model: Any, ref: str, record: Callable[[Session, Any], None]) -> tuple[Any, bool]:
    """Revoke the credential with id ``ref``, or the one unrevoked credential named ``ref``;
    ``record`` writes the audit event in the same transaction. Returns the row and whether
    this call revoked it (False: it already was). Raises CredentialLookupError for no
    match or an ambiguous name."""
    with write_session(engine) as s:
        s.expire_on_commit = False
        row = resolve(s, model, ref)
        if not mark_revoked(s, model, row, utcnow()):
            return row, False
        record(s, row)
        s.commit()
        s.refresh(row)
        return row, True


def mark_revoked(session: Session, model: Any, row: Any, at: dt.datetime) -> bool:
    """Set revoked_at unless another process got there first; True if this call did it."""
    table = model.__table__
    result = session.exec(update(table).where(table.c.id == row.id, table.c.revoked_at.is_(None))
                          .values(revoked_at=at))
    return result.rowcount == 1


_failed: dict[tuple[str, uuid.UUID], float] = {}
_failed_lock = threading.Lock()


def record_use(engine: Engine, model: Any, row: Any, now: dt.datetime | None = None) -> bool:
    """Write ``last_used_at`` if the stored one is a minute old or more (checked again in the
    UPDATE, so concurrent requests and processes write once). Never raises: a write that
    cannot be made without waiting is logged and skipped. True if the row was written."""
    now = now or utcnow()
    if row.last_used_at is not None and now - row.last_used_at < TOUCH_INTERVAL:
        return False
    table = model.__table__
    key = (table.name, row.id)
    with _failed_lock:
        failed_at = _failed.get(key)
    if failed_at is not None and time.monotonic() - failed_at < TOUCH_BACKOFF_SECONDS:
        return False
    statement = update(table).where(
        table.c.id == row.id, or_(table.c.last_used_at.is_(None), table.c.last_used_at <= now - TOUCH_INTERVAL),
    ).values(last_used_at=now)
    try:
        with engine.execution_options(**{SQLITE_IMMEDIATE: True}).connect() as conn:
            raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
            if raw is not None:  # the connections' own busy timeout (30 s) is far too long here
                busy_ms = raw.execute("PRAGMA busy_timeout").fetchone()[0]
                raw.execute(f"PRAGMA busy_timeout = {TOUCH_WAIT_MS}")
            try:
                with conn.begin():
                    if conn.dialect.name == "postgresql":
                        conn.execute(text(f"SET LOCAL lock_timeout = '{TOUCH_WAIT_MS}ms'"))
                    written = conn.execute(statement).rowcount == 1
            finally:
                if raw is not None:
                    raw.execute(f"PRAGMA busy_timeout = {busy_ms}")
    except Exception as exc:  # noqa: BLE001 - bookkeeping must never fail the request
        with _failed_lock:
            _failed[key] = time.monotonic()
        log.warning("could not record the use of %s %s (%s: %s); the request goes on",
                    table.name, row.id, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return False
    with _failed_lock:
        _failed.pop(key, None)
    return written


def columns(row: Any) -> dict[str, Any]:
    """A row's fields without its secret's hash (for listings)."""
    return {k: v for k, v in row.model_dump().items() if not k.endswith("_hash")}
