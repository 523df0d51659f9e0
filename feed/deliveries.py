"""Reading and replaying deliveries: for ``notary feed list|replay`` and the office
administrator's page."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from records import audit
from storage.clock import utcnow
from storage.sessions import write_session

from .errors import DeliveryNotFound
from .models import DeliveryState, FeedDelivery, FeedEvent, FeedReceiver


@dataclass(frozen=True)
class DeliveryView:
    id: int
    event_id: uuid.UUID
    kind: str
    certificate_id: uuid.UUID | None
    receiver_id: uuid.UUID
    receiver_name: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime


def list_deliveries(engine: Engine, *, office_code: str | None = None, receiver_id: uuid.UUID | None = None,
                    state: str | None = None, limit: int = 100) -> list[DeliveryView]:
    """The newest deliveries first (of an office's receivers, one receiver, or one state)."""
    with Session(engine) as s:
        query = (select(FeedDelivery, FeedEvent, FeedReceiver)
                 .join(FeedEvent, col(FeedEvent.seq) == FeedDelivery.event_seq)
                 .join(FeedReceiver, col(FeedReceiver.id) == FeedDelivery.receiver_id)
                 .order_by(col(FeedDelivery.id).desc()).limit(max(1, min(limit, 1000))))
        if office_code is not None:
            query = query.where(FeedReceiver.office_code == office_code)
        if receiver_id is not None:
            query = query.where(FeedDelivery.receiver_id == receiver_id)
        if state is not None:
            query = query.where(FeedDelivery.state == state)
        return [DeliveryView(d.id or 0, e.id, e.kind, e.certificate_id, r.id, r.name, d.state, d.attempts,
                             d.last_status, d.last_error, d.created_at, d.delivered_at, d.next_attempt_at)
                for d, e, r in s.exec(query)]


def counts(engine: Engine, office_code: str | None = None) -> dict[uuid.UUID, dict[str, int]]:
    """Per receiver: how many deliveries are pending, delivered, dead."""
    with Session(engine) as s:
        query = (select(FeedDelivery.receiver_id, FeedDelivery.state, func.count())
                 .join(FeedReceiver, col(FeedReceiver.id) == FeedDelivery.receiver_id)
                 .group_by(col(FeedDelivery.receiver_id), col(FeedDelivery.state)))
        if office_code is not None:
            query = query.where(FeedReceiver.office_code == office_code)
        found: dict[uuid.UUID, dict[str, int]] = {}
        for receiver_id, state, n in s.exec(query):
            found.setdefault(receiver_id, {k.value: 0 for k in DeliveryState})[state] = n
        return found


def replay(engine: Engine, actor: str, *, delivery_id: int | None = None, event_id: uuid.UUID | None = None,
           receiver_id: uuid.UUID | None = None, dead_of_receiver: bool = False,
           office_code: str | None = None) -> int:
    """Put deliveries back in line, to be posted again with their original ``webhook-id``
    and in their original order: one delivery, every delivery of one event (to one receiver
    when given), or every dead delivery of one receiver. Returns how many; DeliveryNotFound
    when none matched. Audited."""
    with write_session(engine) as s:
        query = select(FeedDelivery).join(FeedReceiver, col(FeedReceiver.id) == FeedDelivery.receiver_id)
        if delivery_id is not None:
            query = query.where(FeedDelivery.id == delivery_id)
        elif event_id is not None:
            query = query.join(FeedEvent, col(FeedEvent.seq) == FeedDelivery.event_seq).where(FeedEvent.id == event_id)
        elif dead_of_receiver and receiver_id is not None:
            query = query.where(FeedDelivery.state == DeliveryState.DEAD.value)
        else:
            raise DeliveryNotFound()
        if receiver_id is not None:
            query = query.where(FeedDelivery.receiver_id == receiver_id)
        if office_code is not None:
            query = query.where(FeedReceiver.office_code == office_code)
        rows = list(s.exec(query))
        if not rows:
            raise DeliveryNotFound()
        now = utcnow()
        for row in rows:
            row.state, row.next_attempt_at, row.dead_at = DeliveryState.PENDING.value, now, None
            row.created_at, row.attempts, row.claimed_until, row.claimed_by = now, 0, None, None
            s.add(row)
        audit.append(s, actor, "feed.replay", str(event_id or delivery_id or receiver_id),
                     {"deliveries": [r.id for r in rows]}, office=office_code)
        s.commit()
        return len(rows)
