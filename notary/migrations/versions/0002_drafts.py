"""Certificate drafts

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate_draft',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('matter', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('data_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('certificate_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('certificate_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_draft_office_code'), ['office_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_draft_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('certificate_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_draft_state'))
        batch_op.drop_index(batch_op.f('ix_certificate_draft_office_code'))

    op.drop_table('certificate_draft')
