"""Alembic environment: the service's own engine and SQLModel's metadata.

Run through ``notary.database.migrate`` (at start-up, by every process that opens the
database) or ``notary db upgrade``; never needs an alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

# The caller hands over a connection inside its (locked) transaction and commits it.
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
