"""Certificates record who issued them (a notary reads and acts on their own only) and
the PAdES level they were signed at (a correction keeps it); audit events record the
office they concern (the log is listed by office); the result of an uploaded PDF is
kept for a day under a random id (its result page has an address)

Revision ID: 0005
Revises: 0004

Ownership is by person (a token holder id), never by name. Existing tokens of one name in
one office become one holder (until now they were treated as one person); existing
certificates take their issuer from the audit log's issue or correct event (actor
"role:name" for the API, the operator for the CLI) and, when the API issued them, that
person's holder; drafts likewise from their creator.
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


def _add(table: str, *columns: tuple[str, sa.types.TypeEngine, bool]) -> None:
    """Add the columns a table lacks (a database adopted from create_all may have them),
    with an index where asked."""
    present = {c['name'] for c in sa.inspect(op.get_bind()).get_columns(table)}
    missing = [c for c in columns if c[0] not in present]
    if not missing:
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, type_, indexed in missing:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
            if indexed:
                batch_op.create_index(batch_op.f(f'ix_{table}_{name}'), [name], unique=False)


def upgrade() -> None:
    bind = op.get_bind()
    text = sqlmodel.sql.sqltypes.AutoString
    _add('certificate', ('issued_by', text(length=120), False), ('issued_by_holder', sa.Uuid(), True),
         ('pades_level', text(length=8), False))
    _add('certificate_draft', ('created_by_holder', sa.Uuid(), True))
    _add('issuer_token', ('holder_id', sa.Uuid(), True))
    _add('audit_event', ('office_code', text(length=64), True))
    if 'verifier_result' not in sa.inspect(bind).get_table_names():
        op.create_table('verifier_result',
                        sa.Column('id', sa.Uuid(), nullable=False),
                        sa.Column('report_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
                        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
                        sa.PrimaryKeyConstraint('id'))
        with op.batch_alter_table('verifier_result', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_verifier_result_created_at'), ['created_at'], unique=False)

    by_uuid = lambda statement: sa.text(statement).bindparams(  # noqa: E731
        *(sa.bindparam(name, type_=sa.Uuid()) for name in ('id', 'holder')))
    # Tokens of one name in one office were one person until now: one holder each.
    holders: dict[tuple[str | None, str], uuid.UUID] = {}
    for token_id, name, office in bind.execute(sa.text(
            "SELECT id, name, office_code FROM issuer_token WHERE holder_id IS NULL")).all():
        holder = holders.setdefault((office, name), uuid.uuid4())
        bind.execute(by_uuid("UPDATE issuer_token SET holder_id = :holder WHERE id = :id"),
                     {'holder': holder, 'id': token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(str(token_id))})
    # Certificates: their issuer from the audit log's issue or correct event, and that
    # person's holder when the API issued them.
    events = bind.execute(sa.text(
        "SELECT target, actor, action FROM audit_event WHERE action IN ('issue', 'correct') ORDER BY seq")).all()
    offices = {str(cid): office for cid, office in bind.execute(sa.text("SELECT id, office_code FROM certificate"))}
    offices.update({str(uuid.UUID(str(k))): v for k, v in list(offices.items())})
    for target, actor, _action in events:
        name = _issuer(actor)[:120]
        role = actor.partition(':')[0]
        holder = holders.get((offices.get(target), name)) if role in ('notary', 'office_admin') else None
        bind.execute(by_uuid("UPDATE certificate SET issued_by = :by, issued_by_holder = :holder "
                             "WHERE id = :id AND issued_by IS NULL"), {'by': name, 'holder': holder,
                                                                      'id': uuid.UUID(target)})
    for draft_id, created_by, office in bind.execute(sa.text(
            "SELECT id, created_by, office_code FROM certificate_draft WHERE created_by_holder IS NULL")).all():
        holder = holders.get((office, _issuer(created_by)))
        if holder is not None:
            bind.execute(by_uuid("UPDATE certificate_draft SET created_by_holder = :holder WHERE id = :id"),
                         {'holder': holder, 'id': draft_id if isinstance(draft_id, uuid.UUID) else uuid.UUID(str(draft_id))})


def downgrade() -> None:
    sqlite_never = 'never' if op.get_bind().dialect.name == 'sqlite' else 'auto'
    for table, column in (('certificate_draft', 'created_by_holder'), ('issuer_token', 'holder_id')):
        with op.batch_alter_table(table, schema=None, recreate=sqlite_never) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
            batch_op.drop_column(column)
    op.drop_table('verifier_result')
    recreate_audit = 'never' if op.get_bind().dialect.name == 'sqlite' else 'auto'
    with op.batch_alter_table('audit_event', schema=None, recreate=recreate_audit) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_office_code'))
        batch_op.drop_column('office_code')
    # SQLite drops a column in place; rebuilding certificate would have to drop a table
    # that other tables reference.
    recreate = 'never' if op.get_bind().dialect.name == 'sqlite' else 'auto'
    with op.batch_alter_table('certificate', schema=None, recreate=recreate) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_issued_by_holder'))
        batch_op.drop_column('issued_by_holder')
        batch_op.drop_column('pades_level')
        batch_op.drop_column('issued_by')
