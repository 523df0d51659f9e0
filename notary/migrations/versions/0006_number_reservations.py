"""Numbers are reserved in a short transaction and consumed when the certificate is stored
(signing happens between, outside any transaction); a correction or a draft's issuance
claims its subject first

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = sa.inspect(op.get_bind()).get_table_names()
    text = sqlmodel.sql.sqltypes.AutoString
    if 'number_reservation' not in tables:
        op.create_table('number_reservation',
                        sa.Column('office_code', text(length=64), nullable=False),
                        sa.Column('year', sa.Integer(), nullable=False),
                        sa.Column('serial', sa.Integer(), nullable=False),
                        sa.Column('holder', text(length=120), nullable=True),
                        sa.Column('reserved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                        sa.PrimaryKeyConstraint('office_code', 'year', 'serial'))
    if 'change_claim' not in tables:
        op.create_table('change_claim',
                        sa.Column('subject', text(length=80), nullable=False),
                        sa.Column('holder', text(length=120), nullable=False),
                        sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                        sa.PrimaryKeyConstraint('subject'))


def downgrade() -> None:
    op.drop_table('change_claim')
    op.drop_table('number_reservation')
