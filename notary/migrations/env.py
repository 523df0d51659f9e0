"""Alembic environment: the service's own engine and SQLModel's metadata.

Run through ``notary.database.migrate`` (at start-up, by every process that opens the
database) or ``notary db upgrade``; never needs an alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from notary.database import schema_type_differs

# The caller hands over a connection inside its (locked) transaction and commits it.
connection = context.config.attributes["connection"]
SQLITE = connection.dialect.name == "sqlite"


context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=SQLITE,
                  compare_type=schema_type_differs if SQLITE else True)
with context.begin_transaction():
    context.run_migrations()
