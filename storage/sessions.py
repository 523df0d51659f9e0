"""Database sessions for read and write paths.

A write session asks SQLite for ``BEGIN IMMEDIATE`` (the engine's begin hook reads the
execution option), so concurrent writers queue instead of failing with "database is
locked"; PostgreSQL ignores the option. Keep write sessions short: never wait on the chain
inside one.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

SQLITE_IMMEDIATE = "notary_sqlite_immediate"


def write_session(engine: Engine) -> Session:
    return Session(engine.execution_options(**{SQLITE_IMMEDIATE: True}))


def read_session(engine: Engine) -> Session:
    """Objects stay readable after the session closes (no expiry on commit)."""
    return Session(engine, expire_on_commit=False)
