"""Database engine: SQLite in the data directory by default, PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import String, event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

# Importing the table modules registers them with SQLModel.metadata.
import anchoring.models  # noqa: F401
import issuer.api  # noqa: F401
import issuer.auth  # noqa: F401
import issuer.models  # noqa: F401
import records.audit  # noqa: F401
import records.models  # noqa: F401
import verifier.models  # noqa: F401
import console.models  # noqa: F401
import feed.models  # noqa: F401
import preservation.models  # noqa: F401
from storage.sessions import SQLITE_IMMEDIATE


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets the API read while the worker writes; the CLI and the server share the file.
            cur = dbapi_conn.cursor()
            _ensure_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # SQLAlchemy's recipe for real SQLite transactions: pysqlite's autobegin is off
            # (below) and we BEGIN ourselves. Writers ask for IMMEDIATE (see
            # anchoring.sessions.write_session): they take the lock at once and queue on the
            # busy timeout, instead of failing when a read snapshot cannot be upgraded.
            immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        _disable_pysqlite_autobegin(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # A server that does not answer is an outage within seconds, not a hung request.
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql+psycopg") else {}
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10,
                         connect_args=connect_args)


def _ensure_wal(cur) -> None:
    """WAL mode is kept in the file: only the first connection to a new database switches
    it. That switch needs the database to itself and does not wait on the busy timeout,
    so when several processes open a new database at once (API, worker, CLI) it is retried."""
    if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    deadline = time.monotonic() + 30
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _disable_pysqlite_autobegin(engine: Engine) -> None:
    # pysqlite's own transaction handling would BEGIN (deferred) before ours.
    @event.listens_for(engine, "connect")
    def _no_autobegin(dbapi_conn, _record):
        dbapi_conn.isolation_level = None


MIGRATIONS = Path(__file__).parent / "migrations"
# The revision whose schema databases made before migrations existed have (create_all).
UNVERSIONED_BASELINE = "0001"
_PG_MIGRATION_LOCK = 0x6E6F_7461_7279  # "notary"


def migration_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _is_string(t) -> bool:
    return isinstance(t, String) or isinstance(getattr(t, "impl", None), String)


def schema_type_differs(_context, _inspected_column, _metadata_column, inspected, metadata_type) -> bool | None:
    """Alembic's type comparison for SQLite: VARCHAR lengths are not enforced there, so a
    length is never a schema change (generate revisions against PostgreSQL to see them);
    anything else is left to Alembic (None)."""
    if _is_string(inspected) and _is_string(metadata_type):
        return False
    return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic), in one locked transaction.

    Several processes (API, worker, CLI) may start together: one migrates, the others wait
    for it and then find nothing to do (PostgreSQL: an advisory lock; SQLite: BEGIN
    IMMEDIATE). A database made by an earlier version without migrations is adopted: it
    is stamped with the revision it matches, then upgraded."""
    config = migration_config()
    with engine.execution_options(**{SQLITE_IMMEDIATE: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables and "certificate" in tables:
            command.stamp(config, UNVERSIONED_BASELINE)
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(migration_config()).get_current_head()
    assert head is not None  # None only for a script directory without migrations; this package ships them
    return head


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
