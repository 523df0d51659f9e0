"""Fan-out: each new event becomes one delivery per receiver that should get it.

Events are taken in their order (``seq``). A certificate's ``issued`` event waits until its
anchor is confirmed, so that it carries the receipt; the later events of that certificate
wait behind it, so a receiver never hears of a revocation before the issue. One fan-out runs
at a time (an advisory lock on PostgreSQL; SQLite's write lock), in one transaction: the
deliveries and the event's mark commit together."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from anchoring.models import AnchorBatch, BatchState, OutboxEntry
from storage.clock import utcnow
from storage.sessions import write_session

from .events import stream_of
from .models import EventKind, FeedDelivery, FeedEvent, FeedReceiver, ReceiverKind, RegistrySubscription
from .receivers import wants

FANOUT_LOCK = 0x6665656466616E  # "feedfan": one fan-out at a time across processes
REGISTRY_KINDS = (EventKind.REVOKED.value, EventKind.CORRECTED.value)


def fan_out(engine: Engine, limit: int = 500) -> int:
    """Fan out up to ``limit`` waiting events; returns how many were fanned out."""
    with Session(engine) as s:  # most passes find nothing ready: look before taking the write lock
        if not _ready(s, limit):
            return 0
    with write_session(engine) as s:
        if engine.dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FANOUT_LOCK})
        ready = _ready(s, limit)  # again, under the lock: another worker may have done them
        if not ready:
            return 0
        now = utcnow()
        # A disabled receiver's deliveries are made and wait: enabled again, it gets what it
        # missed, in order. One whose registry key ended gets nothing more.
        receivers = [r for r in s.exec(select(FeedReceiver)) if r.expires_at is None or r.expires_at > now]
        # The deliveries are written together at the commit: flushed before each read, they
        # were one INSERT at a time (a third of a busy pass's time).
        with s.no_autoflush:
            for event in ready:
                assert event.seq is not None
                for receiver in _targets(s, event, receivers):
                    s.add(FeedDelivery(event_seq=event.seq, receiver_id=receiver.id, stream=stream_of(event),
                                       next_attempt_at=now))
                event.fanned_out_at = now
                s.add(event)
        s.commit()
        return len(ready)


def _ready(s: Session, limit: int) -> list[FeedEvent]:
    """The waiting events that may go now, in order: an issued event once its anchor is
    confirmed, and no event behind one of its certificate that waits. One query, whatever
    the number waiting (they were re-read one by one on every pass while anchors were due)."""
    rows = s.exec(select(FeedEvent, OutboxEntry.certificate_id, AnchorBatch.state)
                  .outerjoin(OutboxEntry, col(OutboxEntry.certificate_id) == col(FeedEvent.certificate_id))
                  .outerjoin(AnchorBatch, col(AnchorBatch.id) == col(OutboxEntry.batch_id))
                  .where(col(FeedEvent.fanned_out_at).is_(None))
                  .order_by(col(FeedEvent.seq)).limit(limit)).all()
    held: set[str] = set()
    ready = []
    for event, queued, state in rows:
        stream = stream_of(event)
        if stream in held:
            continue
        # A certificate that never entered the anchoring outbox would wait forever: it goes.
        if event.kind == EventKind.ISSUED.value and queued is not None and state != BatchState.CONFIRMED:
            held.add(stream)  # and every later event of this certificate
            continue
        ready.append(event)
    return ready


def _targets(s: Session, event: FeedEvent, receivers: list[FeedReceiver]) -> list[FeedReceiver]:
    found = [r for r in receivers if r.kind == ReceiverKind.PLATFORM.value and r.office_code == event.office_code
             and wants(r, event.kind)]
    if event.kind in REGISTRY_KINDS and event.certificate_id is not None:
        keys = set(s.exec(select(RegistrySubscription.api_key_id)
                          .where(RegistrySubscription.certificate_id == event.certificate_id)))
        found += [r for r in receivers if r.kind == ReceiverKind.REGISTRY.value and r.api_key_id in keys
                  and wants(r, event.kind)]
    return found
