"""The one clock of stored times: aware UTC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlmodel import Session


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def database_now(s: Session) -> dt.datetime:
    """The database server's time (aware UTC), for comparing times that different hosts
    wrote: their own clocks may disagree by minutes. SQLite has no server, and its
    writers share this host's clock."""
    if s.get_bind().dialect.name != "postgresql":
        return utcnow()
    now: dt.datetime = s.execute(text("SELECT now()")).scalar_one()
    return now.astimezone(dt.timezone.utc)
