"""Issuer tokens and registry API keys: expiry and time of last use

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TABLES = ('issuer_token', 'verifier_api_key')
COLUMNS = ('expires_at', 'last_used_at')


def _existing(table: str) -> set[str]:
    return {c['name'] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    for table in TABLES:
        # A database adopted from before migrations (create_all) may have them already.
        missing = [c for c in COLUMNS if c not in _existing(table)]
        if not missing:
            continue
        # Adding nullable columns is a plain ALTER TABLE on SQLite too: no table rebuild.
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in missing:
                batch_op.add_column(sa.Column(column, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place; rebuilding verifier_api_key would have to drop
    # a table verifier_log references.
    recreate = 'never' if op.get_bind().dialect.name == 'sqlite' else 'auto'
    for table in TABLES:
        present = [c for c in reversed(COLUMNS) if c in _existing(table)]
        with op.batch_alter_table(table, schema=None, recreate=recreate) as batch_op:
            for column in present:
                batch_op.drop_column(column)
