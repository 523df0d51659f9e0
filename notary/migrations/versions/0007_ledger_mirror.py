"""The ledger mirror: the registry's events, the recent block hashes and the cursor of the
follower (anchoring.follower)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = sa.inspect(op.get_bind()).get_table_names()
    text = sqlmodel.sql.sqltypes.AutoString
    if 'ledger_cursor' not in tables:
        op.create_table('ledger_cursor',
                        sa.Column('contract', text(length=42), nullable=False),
                        sa.Column('chain_id', sa.Integer(), nullable=False),
                        sa.Column('block_number', sa.BigInteger(), nullable=False),
                        sa.Column('block_hash', text(length=66), nullable=False),
                        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                        sa.PrimaryKeyConstraint('contract'))
    if 'ledger_block' not in tables:
        op.create_table('ledger_block',
                        sa.Column('contract', text(length=42), nullable=False),
                        sa.Column('number', sa.BigInteger(), nullable=False),
                        sa.Column('hash', text(length=66), nullable=False),
                        sa.PrimaryKeyConstraint('contract', 'number'))
    if 'ledger_event' not in tables:
        op.create_table('ledger_event',
                        sa.Column('contract', text(length=42), nullable=False),
                        sa.Column('block_number', sa.BigInteger(), nullable=False),
                        sa.Column('log_index', sa.Integer(), nullable=False),
                        sa.Column('tx_hash', text(length=66), nullable=False),
                        sa.Column('kind', text(length=40), nullable=False),
                        sa.Column('office', sa.Integer(), nullable=True),
                        sa.Column('root', text(length=64), nullable=True),
                        sa.Column('leaf', text(length=64), nullable=True),
                        sa.Column('fingerprint', text(length=64), nullable=True),
                        sa.Column('data', text(), nullable=False),
                        sa.PrimaryKeyConstraint('contract', 'block_number', 'log_index'))
        with op.batch_alter_table('ledger_event', schema=None) as batch_op:
            for column in ('kind', 'office', 'root', 'leaf', 'fingerprint'):
                batch_op.create_index(batch_op.f(f'ix_ledger_event_{column}'), [column], unique=False)


def downgrade() -> None:
    op.drop_table('ledger_event')
    op.drop_table('ledger_block')
    op.drop_table('ledger_cursor')
