"""The feed (receivers, event outbox, deliveries, registry subscriptions) and preserved
evidence

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Each table only when missing: a database made before migrations may hold them (create_all).
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if 'feed_event' not in tables:
        op.create_table('feed_event',
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('certificate_id', sa.Uuid(), nullable=True),
        sa.Column('data_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('fanned_out_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('id')
        )
        with op.batch_alter_table('feed_event', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_feed_event_certificate_id'), ['certificate_id'], unique=False)
            batch_op.create_index(batch_op.f('ix_feed_event_fanned_out_at'), ['fanned_out_at'], unique=False)

    if 'feed_receiver' not in tables:
        op.create_table('feed_receiver',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('api_key_id', sa.Uuid(), nullable=True),
        sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('personal_data', sa.Boolean(), nullable=False),
        sa.Column('event_kinds', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('secret_sealed', sa.LargeBinary(), nullable=False),
        sa.Column('previous_secret_sealed', sa.LargeBinary(), nullable=True),
        sa.Column('previous_secret_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('disabled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('feed_receiver', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_feed_receiver_api_key_id'), ['api_key_id'], unique=False)
            batch_op.create_index(batch_op.f('ix_feed_receiver_office_code'), ['office_code'], unique=False)

    if 'preserved_evidence' not in tables:
        op.create_table('preserved_evidence',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('certificate_id', sa.Uuid(), nullable=True),
        sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('submitter_token_id', sa.Uuid(), nullable=False),
        sa.Column('submitter_holder', sa.Uuid(), nullable=True),
        sa.Column('submitter_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('timestamp_token', sa.LargeBinary(), nullable=False),
        sa.Column('timestamp_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('file_sealed', sa.LargeBinary(), nullable=True),
        sa.Column('retention_until', sa.Date(), nullable=False),
        sa.Column('purged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('certificate_id')
        )
        with op.batch_alter_table('preserved_evidence', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_preserved_evidence_office_code'), ['office_code'], unique=False)
            batch_op.create_index(batch_op.f('ix_preserved_evidence_sha256'), ['sha256'], unique=False)
            batch_op.create_index(batch_op.f('ix_preserved_evidence_submitter_holder'), ['submitter_holder'], unique=False)

    if 'registry_subscription' not in tables:
        op.create_table('registry_subscription',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('api_key_id', sa.Uuid(), nullable=False),
        sa.Column('certificate_id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('api_key_id', 'certificate_id')
        )
        with op.batch_alter_table('registry_subscription', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_registry_subscription_api_key_id'), ['api_key_id'], unique=False)
            batch_op.create_index(batch_op.f('ix_registry_subscription_certificate_id'), ['certificate_id'], unique=False)

    if 'feed_delivery' not in tables:
        op.create_table('feed_delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_seq', sa.Integer(), nullable=False),
        sa.Column('receiver_id', sa.Uuid(), nullable=False),
        sa.Column('stream', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('delivered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('dead_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['event_seq'], ['feed_event.seq'], ),
        sa.ForeignKeyConstraint(['receiver_id'], ['feed_receiver.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_seq', 'receiver_id')
        )
        with op.batch_alter_table('feed_delivery', schema=None) as batch_op:
            batch_op.create_index('ix_feed_delivery_due', ['state', 'next_attempt_at'], unique=False)
            batch_op.create_index('ix_feed_delivery_stream', ['receiver_id', 'stream', 'event_seq'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('feed_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_delivery_stream')
        batch_op.drop_index('ix_feed_delivery_due')

    op.drop_table('feed_delivery')
    with op.batch_alter_table('registry_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_subscription_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_registry_subscription_api_key_id'))

    op.drop_table('registry_subscription')
    with op.batch_alter_table('preserved_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preserved_evidence_submitter_holder'))
        batch_op.drop_index(batch_op.f('ix_preserved_evidence_sha256'))
        batch_op.drop_index(batch_op.f('ix_preserved_evidence_office_code'))

    op.drop_table('preserved_evidence')
    with op.batch_alter_table('feed_receiver', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_receiver_office_code'))
        batch_op.drop_index(batch_op.f('ix_feed_receiver_api_key_id'))

    op.drop_table('feed_receiver')
    with op.batch_alter_table('feed_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_event_fanned_out_at'))
        batch_op.drop_index(batch_op.f('ix_feed_event_certificate_id'))

    op.drop_table('feed_event')
