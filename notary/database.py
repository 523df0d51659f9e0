"""Database engine: SQLite in the data directory by default, PostgreSQL by URL."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

# Importing the table modules registers them with SQLModel.metadata.
import anchoring.models  # noqa: F401
import issuer.api  # noqa: F401
import issuer.audit  # noqa: F401
import issuer.auth  # noqa: F401
import issuer.models  # noqa: F401
import verifier.models  # noqa: F401
from anchoring.sessions import SQLITE_IMMEDIATE


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets the API read while the worker writes; the CLI and the server share the file.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
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
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _disable_pysqlite_autobegin(engine: Engine) -> None:
    # pysqlite's own transaction handling would BEGIN (deferred) before ours.
    @event.listens_for(engine, "connect")
    def _no_autobegin(dbapi_conn, _record):
        dbapi_conn.isolation_level = None


def create_tables(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
