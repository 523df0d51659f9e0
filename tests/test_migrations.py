"""Schema migrations (Alembic): a fresh database, one made before migrations existed, the
models and the migrations in agreement, and several processes starting at once."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel, select

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


def test_certificates_issued_before_0005_belong_to_whoever_the_audit_log_says(runtime):
    """Migration 0005 adds who issued each certificate; certificates already stored take it
    from their issue event (an API notary's name, the CLI's operator)."""
    from alembic import command
    from sqlmodel import Session

    from issuer.auth import Role, create_token
    from records.matters import EXAMPLES
    from records.models import Certificate
    from issuer.service import issue_certificate
    from notary.database import migration_config
    from fastapi.testclient import TestClient
    from notary.app import create_app

    token = create_token(runtime.engine, "王丽", Role.NOTARY, runtime.office.code)[1]
    client = TestClient(create_app(runtime))
    by_api = client.post("/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                         headers={"Authorization": f"Bearer {token}"}).json()["id"]
    by_cli = str(issue_certificate(runtime.issuer_context(), "birth", EXAMPLES["birth"], actor="operator:陈").id)
    config = migration_config()
    with runtime.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    assert "issued_by" not in {c["name"] for c in inspect(runtime.engine).get_columns("certificate")}
    migrate(runtime.engine)
    with Session(runtime.engine) as s:
        owners = {str(c.id): c.issued_by for c in s.exec(select(Certificate))}
    assert owners == {by_api: "王丽", by_cli: "operator:陈"}
