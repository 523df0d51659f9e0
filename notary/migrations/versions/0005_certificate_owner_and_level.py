"""Certificates record who issued them (a notary reads and acts on their own only) and
the PAdES level they were signed at (a correction keeps it); audit events record the
office they concern (the log is listed by office); the result of an uploaded PDF is
kept for a day under a random id (its result page has an address)

Revision ID: 0005
Revises: 0004

Existing certificates take their issuer from the audit log's issue or correct event, whose
actor is "role:name" for the API and the operator for the CLI.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _issuer(actor: str) -> str:
    role, sep, name = actor.partition(':')
    return name if sep and role in ('notary', 'office_admin') else actor


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c['name'] for c in sa.inspect(bind).get_columns('certificate')}
    if 'issued_by' not in columns:  # a database adopted from create_all may have it already
        with op.batch_alter_table('certificate', schema=None) as batch_op:
            batch_op.add_column(sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
            batch_op.add_column(sa.Column('pades_level', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
            batch_op.create_index(batch_op.f('ix_certificate_issued_by'), ['issued_by'], unique=False)
    if 'office_code' not in {c['name'] for c in sa.inspect(bind).get_columns('audit_event')}:
        with op.batch_alter_table('audit_event', schema=None) as batch_op:
            batch_op.add_column(sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
            batch_op.create_index(batch_op.f('ix_audit_event_office_code'), ['office_code'], unique=False)
    if 'verifier_result' not in sa.inspect(bind).get_table_names():
        op.create_table('verifier_result',
                        sa.Column('id', sa.Uuid(), nullable=False),
                        sa.Column('report_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
                        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                        sa.PrimaryKeyConstraint('id'))
        with op.batch_alter_table('verifier_result', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_verifier_result_created_at'), ['created_at'], unique=False)
    events = bind.execute(sa.text(
        "SELECT target, actor FROM audit_event WHERE action IN ('issue', 'correct') ORDER BY seq")).all()
    update = sa.text("UPDATE certificate SET issued_by = :by WHERE id = :id AND issued_by IS NULL").bindparams(
        sa.bindparam('id', type_=sa.Uuid()))
    for target, actor in events:
        bind.execute(update, {'by': _issuer(actor)[:120], 'id': uuid.UUID(target)})


def downgrade() -> None:
    op.drop_table('verifier_result')
    recreate_audit = 'never' if op.get_bind().dialect.name == 'sqlite' else 'auto'
    with op.batch_alter_table('audit_event', schema=None, recreate=recreate_audit) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_office_code'))
        batch_op.drop_column('office_code')
    # SQLite drops a column in place; rebuilding certificate would have to drop a table
    # that other tables reference.
    recreate = 'never' if op.get_bind().dialect.name == 'sqlite' else 'auto'
    with op.batch_alter_table('certificate', schema=None, recreate=recreate) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_issued_by'))
        batch_op.drop_column('pades_level')
        batch_op.drop_column('issued_by')
