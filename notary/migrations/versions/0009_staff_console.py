"""The staff console: staff accounts and sessions, inspection draws and findings; the
verifier's forgery leads

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Each table only when missing: a database made before migrations may hold them (create_all).
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if 'inspection_draw' not in tables:
        op.create_table('inspection_draw',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('matter', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column('period_from', sa.Date(), nullable=False),
        sa.Column('period_to', sa.Date(), nullable=False),
        sa.Column('sample_size', sa.Integer(), nullable=False),
        sa.Column('population_size', sa.Integer(), nullable=False),
        sa.Column('population_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('chain_id', sa.BigInteger(), nullable=False),
        sa.Column('registry_address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
        sa.Column('population_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('commitment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('previous_commitment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('commit_tx', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
        sa.Column('commit_block', sa.BigInteger(), nullable=True),
        sa.Column('seed_block', sa.BigInteger(), nullable=True),
        sa.Column('seed_block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
        sa.Column('selected_json', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('drawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('commitment'),
        sa.UniqueConstraint('previous_commitment')
        )
    if 'staff_user' not in tables:
        op.create_table('staff_user',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('holder_id', sa.Uuid(), nullable=False),
        sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('totp_sealed', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('totp_last_step', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('failed_signins', sa.Integer(), nullable=False),
        sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('must_change_password', sa.Boolean(), nullable=False),
        sa.Column('disabled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('password_changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_signin_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_staff_user_holder_id'), 'staff_user', ['holder_id'], unique=False)
        op.create_index(op.f('ix_staff_user_office_code'), 'staff_user', ['office_code'], unique=False)
        op.create_index(op.f('ix_staff_user_username'), 'staff_user', ['username'], unique=True)
    if 'verifier_forgery_lead' not in tables:
        op.create_table('verifier_forgery_lead',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('api_key_id', sa.Uuid(), nullable=True),
        sa.Column('claimed_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('claimed_office', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column('certificate_id', sa.Uuid(), nullable=True),
        sa.Column('document_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_verifier_forgery_lead_api_key_id'), 'verifier_forgery_lead', ['api_key_id'], unique=False)
        op.create_index(op.f('ix_verifier_forgery_lead_at'), 'verifier_forgery_lead', ['at'], unique=False)
    if 'inspection_finding' not in tables:
        op.create_table('inspection_finding',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('draw_id', sa.Uuid(), nullable=False),
        sa.Column('certificate_id', sa.Uuid(), nullable=False),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], ),
        sa.ForeignKeyConstraint(['draw_id'], ['inspection_draw.id'], ),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index(op.f('ix_inspection_finding_draw_id'), 'inspection_finding', ['draw_id'], unique=False)
    if 'staff_session' not in tables:
        op.create_table('staff_session',
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('csrf_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('elevated_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], ),
        sa.PrimaryKeyConstraint('token_hash')
        )
        op.create_index(op.f('ix_staff_session_user_id'), 'staff_session', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_staff_session_user_id'), table_name='staff_session')
    op.drop_table('staff_session')
    op.drop_index(op.f('ix_inspection_finding_draw_id'), table_name='inspection_finding')
    op.drop_table('inspection_finding')
    op.drop_index(op.f('ix_verifier_forgery_lead_at'), table_name='verifier_forgery_lead')
    op.drop_index(op.f('ix_verifier_forgery_lead_api_key_id'), table_name='verifier_forgery_lead')
    op.drop_table('verifier_forgery_lead')
    op.drop_index(op.f('ix_staff_user_username'), table_name='staff_user')
    op.drop_index(op.f('ix_staff_user_office_code'), table_name='staff_user')
    op.drop_index(op.f('ix_staff_user_holder_id'), table_name='staff_user')
    op.drop_table('staff_user')
    op.drop_table('inspection_draw')
