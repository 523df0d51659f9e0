"""Schema as first released (tables made by create_all before migrations)

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('anchor_batch',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('root', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('tree_size', sa.Integer(), nullable=False),
    sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('chain_id', sa.Integer(), nullable=True),
    sa.Column('contract', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
    sa.Column('commitment', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('tx_nonce', sa.Integer(), nullable=True),
    sa.Column('max_fee_per_gas', sa.BigInteger(), nullable=True),
    sa.Column('max_priority_fee_per_gas', sa.BigInteger(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('block_number', sa.Integer(), nullable=True),
    sa.Column('block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('block_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('root', name='uq_anchor_batch_root')
    )
    with op.batch_alter_table('anchor_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anchor_batch_state'), ['state'], unique=False)

    op.create_table('anchor_leaf_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Integer(), nullable=False),
    sa.Column('successor_leaf', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('anchor_leaf_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anchor_leaf_action_certificate_id'), ['certificate_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_anchor_leaf_action_state'), ['state'], unique=False)

    op.create_table('audit_event',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('details', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('hash')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_target'), ['target'], unique=False)

    op.create_table('certificate',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('office_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('matter', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('applicant_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('notary', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('data_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('revocation_reason', sa.Integer(), nullable=True),
    sa.Column('revocation_note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('fee_exempt', sa.Boolean(), nullable=False),
    sa.Column('fee_note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('accepting_office', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('supersedes', sa.Uuid(), nullable=True),
    sa.Column('superseded_by', sa.Uuid(), nullable=True),
    sa.Column('document_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('signer_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('check_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('access_code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('issued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('office_code', 'year', 'serial', name='uq_certificate_number')
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_document_sha256'), ['document_sha256'], unique=True)
        batch_op.create_index(batch_op.f('ix_certificate_matter'), ['matter'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_number'), ['number'], unique=True)
        batch_op.create_index(batch_op.f('ix_certificate_superseded_by'), ['superseded_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_supersedes'), ['supersedes'], unique=False)

    op.create_table('certificate_counter',
    sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('office_code', 'year')
    )
    op.create_table('issuer_idempotency',
    sa.Column('token_id', sa.Uuid(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('request_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_id', 'key')
    )
    op.create_table('issuer_token',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('issuer_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_token_token_hash'), ['token_hash'], unique=True)

    op.create_table('verifier_api_key',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('items_per_minute', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('verifier_api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verifier_api_key_key_hash'), ['key_hash'], unique=True)

    op.create_table('anchor_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('document_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('leaf_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=True),
    sa.Column('leaf_index', sa.Integer(), nullable=True),
    sa.Column('audit_path', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['anchor_batch.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('anchor_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anchor_outbox_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_anchor_outbox_certificate_id'), ['certificate_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_anchor_outbox_document_sha256'), ['document_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_anchor_outbox_leaf_hash'), ['leaf_hash'], unique=False)

    op.create_table('certificate_document',
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], ),
    sa.PrimaryKeyConstraint('certificate_id')
    )
    op.create_table('verifier_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('api_key_id', sa.Uuid(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('certificate_id', sa.Uuid(), nullable=True),
    sa.Column('indication', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['verifier_api_key.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('verifier_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verifier_log_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verifier_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_verifier_log_certificate_id'), ['certificate_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('verifier_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verifier_log_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_verifier_log_at'))
        batch_op.drop_index(batch_op.f('ix_verifier_log_api_key_id'))

    op.drop_table('verifier_log')
    op.drop_table('certificate_document')
    with op.batch_alter_table('anchor_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anchor_outbox_leaf_hash'))
        batch_op.drop_index(batch_op.f('ix_anchor_outbox_document_sha256'))
        batch_op.drop_index(batch_op.f('ix_anchor_outbox_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_anchor_outbox_batch_id'))

    op.drop_table('anchor_outbox')
    with op.batch_alter_table('verifier_api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verifier_api_key_key_hash'))

    op.drop_table('verifier_api_key')
    with op.batch_alter_table('issuer_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_token_token_hash'))

    op.drop_table('issuer_token')
    op.drop_table('issuer_idempotency')
    op.drop_table('certificate_counter')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_supersedes'))
        batch_op.drop_index(batch_op.f('ix_certificate_superseded_by'))
        batch_op.drop_index(batch_op.f('ix_certificate_number'))
        batch_op.drop_index(batch_op.f('ix_certificate_matter'))
        batch_op.drop_index(batch_op.f('ix_certificate_document_sha256'))

    op.drop_table('certificate')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_target'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
    with op.batch_alter_table('anchor_leaf_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anchor_leaf_action_state'))
        batch_op.drop_index(batch_op.f('ix_anchor_leaf_action_certificate_id'))

    op.drop_table('anchor_leaf_action')
    with op.batch_alter_table('anchor_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anchor_batch_state'))

    op.drop_table('anchor_batch')
