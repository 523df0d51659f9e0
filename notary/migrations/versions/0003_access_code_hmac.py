"""Access codes hashed with a keyed HMAC: a longer column for the scheme prefix

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite does not enforce VARCHAR lengths, and changing one means rebuilding the
        # table that certificate documents reference: nothing to do there.
        return
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.alter_column('access_code_hash',
               existing_type=sa.VARCHAR(length=64),
               type_=sqlmodel.sql.sqltypes.AutoString(length=96),
               existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.alter_column('access_code_hash',
               existing_type=sqlmodel.sql.sqltypes.AutoString(length=96),
               type_=sa.VARCHAR(length=64),
               existing_nullable=True)

