"""Server-side sessions of signed-in staff, kept in the database (SQLite or PostgreSQL), so
that every API process sees a sign-out, a disabled account or a reset at once.

A session ends after ``idle`` without a request and in any case ``absolute`` after it
began; signing out everywhere, a password change, a reset or a disabled account end all of
a person's sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select, update

from storage.clock import utcnow
from storage.sessions import write_session

from .models import StaffSession, StaffUser

MAX_SESSIONS_PER_USER = 10  # the oldest end first: a stolen password cannot pile up sessions
TOUCH_EVERY = dt.timedelta(seconds=30)  # last_seen is written at most this often


@dataclass(frozen=True)
class Timeouts:
    idle: dt.timedelta
    absolute: dt.timedelta


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(engine: Engine, user: StaffUser, *, client: str | None, user_agent: str | None) -> tuple[str, StaffSession]:
    """A new session for ``user``: the cookie's token (returned once) and the row."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                       client=(client or "")[:64] or None, user_agent=(user_agent or "")[:200] or None)
    with write_session(engine) as s:
        s.expire_on_commit = False
        s.add(row)
        s.flush()
        others = s.exec(select(StaffSession).where(StaffSession.user_id == user.id)
                        .order_by(col(StaffSession.created_at).desc())).all()
        for old in others[MAX_SESSIONS_PER_USER:]:
            s.delete(old)
        s.commit()
    return token, row


def resume(engine: Engine, token: str | None, timeouts: Timeouts, *,
           now: dt.datetime | None = None) -> tuple[StaffSession, StaffUser] | None:
    """The session and its user, or None when the token is unknown, the session timed out or
    the account is disabled (a timed-out session is deleted)."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    digest = token_hash(token)
    with Session(engine, expire_on_commit=False) as s:
        found = s.exec(select(StaffSession, StaffUser).join(StaffUser, col(StaffUser.id) == StaffSession.user_id)
                       .where(StaffSession.token_hash == digest)).first()
    if found is None:
        return None
    row, user = found
    if user.disabled_at is not None or now - row.last_seen_at > timeouts.idle \
            or now - row.created_at > timeouts.absolute:
        end(engine, digest)
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        with write_session(engine) as s:
            s.exec(update(StaffSession).where(col(StaffSession.token_hash) == digest).values(last_seen_at=now))
            s.commit()
    return row, user


def elevate(engine: Engine, digest: str, until: dt.datetime) -> None:
    """Allow the session the powerful actions until ``until`` (after a fresh TOTP code)."""
    with write_session(engine) as s:
        s.exec(update(StaffSession).where(col(StaffSession.token_hash) == digest).values(elevated_until=until))
        s.commit()


def end(engine: Engine, digest: str) -> None:
    """End one session (sign out)."""
    with write_session(engine) as s:
        s.exec(delete(StaffSession).where(col(StaffSession.token_hash) == digest))
        s.commit()


def end_all(engine: Engine, user_id: uuid.UUID) -> int:
    """End every session of a person (sign out everywhere); returns how many there were."""
    with write_session(engine) as s:
        count = len(s.exec(select(StaffSession.token_hash).where(StaffSession.user_id == user_id)).all())
        s.exec(delete(StaffSession).where(col(StaffSession.user_id) == user_id))
        s.commit()
    return count


def active(engine: Engine, user_id: uuid.UUID) -> list[StaffSession]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.exec(select(StaffSession).where(StaffSession.user_id == user_id)
                           .order_by(col(StaffSession.last_seen_at).desc())))
