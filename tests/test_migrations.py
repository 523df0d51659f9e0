"""Schema migrations (Alembic): a fresh database, one made before migrations existed, the
models and the migrations in agreement, and several processes starting at once."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from notary.database import current_revision, head_revision, make_engine, migrate, schema_type_differs


def _url(database_url, tmp_path) -> str:
    return database_url or f"sqlite:///{tmp_path / 'm.db'}"


def test_migrated_schema_matches_the_models(database_url, tmp_path):
    engine = make_engine(_url(database_url, tmp_path))
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        # A model changed without a migration shows up here (the environment's own comparison).
        opts = {"compare_type": schema_type_differs if conn.dialect.name == "sqlite" else True}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), SQLModel.metadata)
    assert diff == []
    migrate(engine)  # a second start finds nothing to do
    engine.dispose()


def test_a_database_made_before_migrations_is_adopted_and_upgraded(database_url, tmp_path):
    engine = make_engine(_url(database_url, tmp_path))
    # What create_all made before the drafts table and migrations existed.
    old_tables = [t for name, t in SQLModel.metadata.tables.items() if name != "certificate_draft"]
    SQLModel.metadata.create_all(engine, tables=old_tables)
    assert "certificate_draft" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "certificate_draft" in inspect(engine).get_table_names()
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_processes_starting_together_migrate_once(database_url, tmp_path):
    url = _url(database_url, tmp_path)
    errors: list[Exception] = []

    def start():
        engine = make_engine(url)  # each "process" has its own engine and connections
        try:
            migrate(engine)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
