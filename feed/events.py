"""Appending events to the outbox, inside the transaction that makes the change: the event
commits with the change or not at all, so none is lost and none is made up."""

from __future__ import annotations

import json
import uuid

from sqlmodel import Session

from .models import EventKind, FeedEvent


def append(s: Session, kind: EventKind, office_code: str, certificate_id: uuid.UUID | None,
           data: dict) -> FeedEvent:
    """Add one event (no commit). ``data``: what every receiver may read (never the holder's
    name or ID number, which deliveries add for receivers entitled to them)."""
    event = FeedEvent(kind=kind.value, office_code=office_code, certificate_id=certificate_id,
                      data_json=json.dumps(data, ensure_ascii=False, sort_keys=True))
    s.add(event)
    return event


def stream_of(event: FeedEvent) -> str:
    """The ordering key of an event: its certificate, or its office for office events."""
    return str(event.certificate_id) if event.certificate_id is not None else f"office:{event.office_code}"
