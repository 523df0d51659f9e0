"""The append-only, hash-chained audit log (全程留痕).

Every action on certificates appends one event in the same transaction as the action.
Each event's hash covers the previous one, so removing or editing an event breaks every
later hash; the head hash is anchored on the ledger with each batch (as the batch's
on-chain id), so even a rewrite of the whole chain is caught against the ledger."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading

from sqlalchemy import or_, text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from storage.clock import utcnow
from storage.sessions import write_session

GENESIS = "00" * 32
_PG_LOCK = 0x454E4F54  # "ENOT": serialises appends on PostgreSQL


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=40, index=True)
    target: str = Field(max_length=80, index=True)
    # The office the event concerns (None: none in particular, e.g. a registry's API key).
    office_code: str | None = Field(default=None, max_length=64, index=True)
    details: str = "{}"
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


def _digest(prev_hash: str, at: dt.datetime, actor: str, action: str, target: str, details: str,
            office_code: str | None = None) -> str:
    fields = [prev_hash, at.isoformat(), actor, action, target, details]
    if office_code is not None:  # events from before offices were recorded hash as they did
        fields.append(office_code)
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def head(session: Session) -> str:
    last = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    return last or GENESIS


def append(session: Session, actor: str, action: str, target: str, details: dict | None = None, *,
           office: str | None = None) -> AuditEvent:
    """Add an event in the caller's transaction (not committed)."""
    return append_many(session, [(actor, action, target, details)], office=office)[0]


def record(engine: Engine, actor: str, action: str, target: str, details: dict | None = None, *,
           office: str | None = None) -> None:
    """Append one event in a transaction of its own and commit it: for reads of personal
    data, logged before the data is handed out (if the log cannot be written, the read
    fails rather than go unrecorded)."""
    # On SQLite, this process's appends queue on a lock of their own: waiting in SQLite's
    # busy handler (which sleeps in growing steps) gave audited page reads second-long tails.
    with _queue_for(engine), write_session(engine) as s:
        append(s, actor, action, target, details, office=office)
        s.commit()


_QUEUES: dict[int, threading.Lock] = {}


def _queue_for(engine: Engine) -> threading.Lock | contextlib.nullcontext:
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    return _QUEUES.setdefault(id(engine), threading.Lock())


def append_many(session: Session, entries: list[tuple[str, str, str, dict | None]], *,
                office: str | None = None) -> list[AuditEvent]:
    """Add events (actor, action, target, details) of ``office`` in order, chained in
    memory from one read of the head, in the caller's transaction (not committed)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    prev = head(session)
    events = []
    for actor, action, target, details in entries:
        at = utcnow()
        body = json.dumps(details or {}, ensure_ascii=False, sort_keys=True)
        event = AuditEvent(at=at, actor=actor, action=action, target=target, office_code=office, details=body,
                           prev_hash=prev, hash=_digest(prev, at, actor, action, target, body, office))
        events.append(event)
        prev = event.hash
    session.add_all(events)
    session.flush()
    return events


def list_events(engine: Engine, *, office: str | None = None, actor: str | None = None, action: str | None = None,
                since: dt.datetime | None = None, until: dt.datetime | None = None, limit: int = 100,
                offset: int = 0) -> list[AuditEvent]:
    """Events, newest first, that match every filter given. ``actor`` matches the whole
    actor (``notary:王丽``) or the name after its role (``王丽``); ``action`` the action or
    its family (``token`` matches ``token.create`` and ``token.revoke``); ``since`` is
    inclusive, ``until`` exclusive."""
    query = select(AuditEvent)
    if office is not None:
        query = query.where(AuditEvent.office_code == office)
    if actor is not None:
        query = query.where(or_(col(AuditEvent.actor) == actor, col(AuditEvent.actor).endswith(":" + actor, autoescape=True)))
    if action is not None:
        query = query.where(or_(col(AuditEvent.action) == action,
                                col(AuditEvent.action).startswith(action + ".", autoescape=True)))
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    with Session(engine) as s:
        return list(s.exec(query.order_by(col(AuditEvent.seq).desc()).offset(offset).limit(limit)))


def verify_chain(engine: Engine) -> int | None:
    """The sequence number of the first event that does not chain, or None if all do."""
    prev = GENESIS
    with Session(engine) as s:
        for e in s.exec(select(AuditEvent).order_by(col(AuditEvent.seq))):
            at = e.at if e.at.tzinfo else e.at.replace(tzinfo=dt.timezone.utc)
            if e.prev_hash != prev or e.hash != _digest(prev, at, e.actor, e.action, e.target, e.details,
                                                        e.office_code):
                return e.seq
            prev = e.hash
    return None


def check_anchored_heads(engine: Engine, registry) -> list[str]:
    """Compare the audit heads committed with each confirmed batch against the ledger and
    the log. Returns the problems found (empty when the log matches the ledger)."""
    from anchoring.models import AnchorBatch, BatchState

    problems: list[str] = []
    with Session(engine) as s:
        hashes = set(s.exec(select(AuditEvent.hash)).all())
        batches = s.exec(select(AnchorBatch).where(AnchorBatch.state == BatchState.CONFIRMED,
                                                   col(AnchorBatch.commitment).is_not(None))).all()
    for b in batches:
        assert b.commitment is not None  # selected so
        if b.commitment != GENESIS and b.commitment not in hashes:
            problems.append(f"batch {b.id}: audit head {b.commitment[:16]}… is missing from the log")
        logs = registry.contract.events.RootAnchored().get_logs(
            from_block=b.block_number, to_block=b.block_number, argument_filters={"root": bytes.fromhex(b.root)})
        if not logs or logs[0]["args"]["batchId"].hex() != b.commitment:
            problems.append(f"batch {b.id}: the ledger does not carry audit head {b.commitment[:16]}…")
    return problems
