"""Tables of the feed: receivers, the event outbox, one delivery per event and receiver, and
registries' subscriptions to certificates."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.clock import utcnow


class ReceiverKind(str, Enum):
    PLATFORM = "platform"  # an office's receiver (the one-stop platform): every event of the office
    REGISTRY = "registry"  # a registry's receiver: events of the certificates its API key subscribed to


class EventKind(str, Enum):
    ISSUED = "certificate.issued"
    CORRECTED = "certificate.corrected"
    REVOKED = "certificate.revoked"
    KEY_ROTATED = "office.key_rotated"


class DeliveryState(str, Enum):
    PENDING = "pending"  # waiting for its turn, its time, or a worker
    DELIVERED = "delivered"  # the receiver answered 2xx
    DEAD = "dead"  # undelivered for a day (feed_dead_after_hours); replayed by hand


class FeedReceiver(SQLModel, table=True):
    """Where events go. The secret is kept sealed (keys.sealing) under the receiver's id; a
    rotated-out secret keeps signing beside the new one until ``previous_secret_until``."""

    __tablename__ = "feed_receiver"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=16)
    office_code: str | None = Field(default=None, max_length=64, index=True)  # platform receivers
    api_key_id: uuid.UUID | None = Field(default=None, index=True)  # registry receivers
    url: str = Field(max_length=2000)
    personal_data: bool = False  # entitled to the holder's name and ID number
    event_kinds: str = Field(default="*", max_length=200)  # comma-separated EventKind values, or *
    secret_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    previous_secret_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    previous_secret_until: dt.datetime | None = None
    created_by: str = Field(max_length=120)
    created_at: dt.datetime = Field(default_factory=utcnow)
    disabled_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None  # a registry's receiver ends with its API key


class FeedEvent(SQLModel, table=True):
    """One change, appended in the change's own transaction (feed.events.append). Holds no
    personal data: a delivery reads the holder from the certificate, per receiver."""

    __tablename__ = "feed_event"

    seq: int | None = Field(default=None, primary_key=True)  # delivery order within a certificate
    id: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)  # the webhook-id, kept across retries
    kind: str = Field(max_length=40)
    office_code: str = Field(max_length=64)
    certificate_id: uuid.UUID | None = Field(default=None, index=True)
    data_json: str
    created_at: dt.datetime = Field(default_factory=utcnow)
    fanned_out_at: dt.datetime | None = Field(default=None, index=True)


class FeedDelivery(SQLModel, table=True):
    """One event on its way to one receiver. ``stream``: the certificate (or ``office:X`` for
    office events); a delivery waits while an earlier one of its receiver and stream is pending."""

    __tablename__ = "feed_delivery"
    __table_args__ = (
        UniqueConstraint("event_seq", "receiver_id"),
        Index("ix_feed_delivery_due", "state", "next_attempt_at"),
        Index("ix_feed_delivery_stream", "receiver_id", "stream", "event_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_seq: int = Field(foreign_key="feed_event.seq")
    receiver_id: uuid.UUID = Field(foreign_key="feed_receiver.id")
    stream: str = Field(max_length=80)
    state: str = Field(default=DeliveryState.PENDING.value, max_length=16)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    claimed_until: dt.datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=160)  # processes.holder
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    created_at: dt.datetime = Field(default_factory=utcnow)
    delivered_at: dt.datetime | None = None
    dead_at: dt.datetime | None = None


class RegistrySubscription(SQLModel, table=True):
    """A registry's API key asked to hear when this certificate is revoked or corrected."""

    __tablename__ = "registry_subscription"
    __table_args__ = (UniqueConstraint("api_key_id", "certificate_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    api_key_id: uuid.UUID = Field(index=True)
    certificate_id: uuid.UUID = Field(index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
