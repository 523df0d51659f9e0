"""Lookups from the ledger mirror: the node's head and the time of the follower's last word
on the cursor, each mirrored event's block time, and the document checks of each stored
certificate (verifier.document_facts)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    text = sqlmodel.sql.sqltypes.AutoString
    if 'head_block' not in {c['name'] for c in inspector.get_columns('ledger_cursor')}:
        with op.batch_alter_table('ledger_cursor', schema=None) as batch_op:
            batch_op.add_column(sa.Column('head_block', sa.BigInteger(), nullable=True))
            batch_op.add_column(sa.Column('checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    if 'block_time' not in {c['name'] for c in inspector.get_columns('ledger_event')}:
        with op.batch_alter_table('ledger_event', schema=None) as batch_op:
            batch_op.add_column(sa.Column('block_time', sa.BigInteger(), nullable=True))
        # The mirror is derived from the ledger: read it again from the start, with block times.
        for table in ('ledger_event', 'ledger_block', 'ledger_cursor'):
            op.execute(sa.text(f'DELETE FROM {table}'))
    if 'verifier_document_check' not in inspector.get_table_names():
        op.create_table('verifier_document_check',
                        sa.Column('certificate_id', sa.Uuid(), nullable=False),
                        sa.Column('basis', text(length=64), nullable=False),
                        sa.Column('checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                        sa.Column('valid_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                        sa.Column('signer_name', text(length=200), nullable=True),
                        sa.Column('signer_fingerprint', text(length=64), nullable=True),
                        sa.Column('claimed_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
                        sa.Column('timestamp_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
                        sa.Column('checks_json', text(), nullable=False),
                        sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id']),
                        sa.PrimaryKeyConstraint('certificate_id'))


def downgrade() -> None:
    op.drop_table('verifier_document_check')
    with op.batch_alter_table('ledger_event', schema=None) as batch_op:
        batch_op.drop_column('block_time')
    with op.batch_alter_table('ledger_cursor', schema=None) as batch_op:
        batch_op.drop_column('checked_at')
        batch_op.drop_column('head_block')
