"""The delivery worker: fan out, claim due deliveries, post them, record the answers.

At least once: a delivery is claimed for a lease, posted, then marked; a worker killed in
between leaves the claim to expire and another worker posts it again, with the same
``webhook-id``. In order per receiver and certificate: a delivery is claimed only when no
earlier delivery of its receiver and stream (its certificate) is still pending, so a retry
holds back what follows it. A delivery still failing a day (``dead_after``) after its event
is dead-lettered and stops holding the others; ``replay`` puts it back in line."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy import and_, exists, or_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from anchoring.models import AnchorBatch, OutboxEntry
from processes.holder import holder_gone, new_holder
from observability.metrics import FEED_DELIVERIES, FEED_DELIVERY_SECONDS
from records.models import Certificate
from storage.clock import utcnow
from storage.sessions import write_session
from webhooks import signature

from . import fanout, payloads
from .addresses import check_host
from .errors import BadReceiver
from .models import DeliveryState, FeedDelivery, FeedEvent, FeedReceiver
from .payloads import LinkMaker
from .receivers import signing_secrets

log = logging.getLogger("notary.feed")

MAX_BACKOFF_SECONDS = 3600.0
FIRST_BACKOFF_SECONDS = 5.0


@dataclass(frozen=True)
class FeedConfig:
    sealing_key: bytes
    links: LinkMaker
    timeout_seconds: float = 10.0
    dead_after: dt.timedelta = dt.timedelta(hours=24)
    allow_insecure: bool = False
    concurrency: int = 16
    claim_size: int = 64


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: 5 s doubling to an hour, with ±20 % jitter so that a
    receiver back from an outage is not hit by every retry at once; a receiver's
    ``Retry-After`` is honoured up to the same hour."""
    base = min(FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    if retry_after is not None:
        base = min(max(base, retry_after), MAX_BACKOFF_SECONDS)
        # The receiver's wait is a floor: jitter adds to it, never retries before it.
        return base * random.uniform(1.0, 1.2)
    return base * random.uniform(0.8, 1.2)


@dataclass
class _Attempt:
    delivery_id: int
    receiver_name: str  # plain values only: the rows are expired once the claim commits
    url: str
    body: bytes
    headers: dict[str, str]
    event_created: dt.datetime
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None


class FeedWorker:
    """Delivers the feed. Several may run (in several processes): claims keep them apart."""

    def __init__(self, engine: Engine, config: FeedConfig, name: str | None = None,
                 client: httpx.Client | None = None):
        self.engine = engine
        self.config = config
        self.name = name or new_holder()  # processes.holder: a claim of a process gone is taken at once
        self.client = client or httpx.Client(timeout=config.timeout_seconds, follow_redirects=False,
                                             limits=httpx.Limits(max_connections=config.concurrency * 2))
        self.pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="feed-post")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    # ------------------------------------------------------------------ one pass

    def run_once(self) -> int:
        """Fan out new events, then post every delivery now due; returns how many were posted."""
        fanout.fan_out(self.engine)
        attempts = self._claim()
        if not attempts:
            return 0
        list(self.pool.map(self._post, attempts))
        self._record(attempts)
        return len(attempts)

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        """Pass after pass until ``stop``; a failing pass (database away) is logged and retried."""
        while not stop.is_set():
            try:
                posted = self.run_once()
            except Exception:  # noqa: BLE001 - the worker outlives a bad pass; the next one retries
                log.exception("feed pass failed")
                posted = 0
            if not posted:
                stop.wait(poll_seconds)

    # ------------------------------------------------------------------ claiming

    def _lease(self) -> dt.timedelta:
        # Long enough for every post of a claim to time out, with room to record them.
        return dt.timedelta(seconds=self.config.timeout_seconds * 2 + 30)

    def _claim(self) -> list[_Attempt]:
        now = utcnow()
        earlier = aliased(FeedDelivery)
        blocked = exists().where(and_(col(earlier.receiver_id) == col(FeedDelivery.receiver_id),
                                      col(earlier.stream) == col(FeedDelivery.stream),
                                      col(earlier.state) == DeliveryState.PENDING.value,
                                      col(earlier.event_seq) < col(FeedDelivery.event_seq)))
        # A disabled receiver's deliveries wait in the table: left in the query, a backlog of
        # them as large as a claim filled every claim, and nobody else got anything.
        live = col(FeedDelivery.receiver_id).in_(select(FeedReceiver.id).where(
            col(FeedReceiver.disabled_at).is_(None),
            or_(col(FeedReceiver.expires_at).is_(None), col(FeedReceiver.expires_at) > now)))
        # A claim is free when its lease ran out, or at once when its holder is a process of
        # this machine that has ended (killed mid-pass): its deliveries go out in seconds.
        free = or_(col(FeedDelivery.claimed_until).is_(None), col(FeedDelivery.claimed_until) < now,
                   col(FeedDelivery.claimed_by).startswith(self.name.split("/", 1)[0] + "/"))
        with Session(self.engine) as s:  # most passes find nothing due: look before taking the write lock
            if s.exec(select(FeedDelivery.id).where(FeedDelivery.state == DeliveryState.PENDING.value,
                                                    col(FeedDelivery.next_attempt_at) <= now,
                                                    live).limit(1)).first() is None:
                return []
        with write_session(self.engine) as s:
            query = (select(FeedDelivery)
                     .where(FeedDelivery.state == DeliveryState.PENDING.value,
                            col(FeedDelivery.next_attempt_at) <= now, live, free, ~blocked)
                     # Room for claims of live processes of this machine, skipped below.
                     .order_by(col(FeedDelivery.event_seq)).limit(self.config.claim_size * 3))
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=FeedDelivery)  # type: ignore[arg-type]
            rows = [r for r in s.exec(query) if self._claimable(r, now)][:self.config.claim_size]
            taken: list[tuple[FeedDelivery, FeedEvent, FeedReceiver]] = []
            streams: set[tuple[object, str]] = set()
            # The claim's events in one query, and its changes written at the commit: one
            # query and one UPDATE per row (autoflushed before the next read) were most of a pass.
            found = {e.seq: e for e in s.exec(select(FeedEvent).where(col(FeedEvent.seq).in_({r.event_seq for r in rows})))}
            # What the bodies read (certificates, their anchor batches), read once for the claim
            # and kept referenced (the session's identity map holds objects weakly): each body's
            # reads then find them in the session instead of asking the database again.
            certificate_ids = {e.certificate_id for e in found.values() if e.certificate_id is not None}
            kept = [*s.exec(select(Certificate).where(col(Certificate.id).in_(certificate_ids))),
                    *s.exec(select(AnchorBatch).where(col(AnchorBatch.id).in_(
                        select(OutboxEntry.batch_id).where(col(OutboxEntry.certificate_id).in_(certificate_ids)))))]
            with s.no_autoflush:
                for row in rows:
                    if (row.receiver_id, row.stream) in streams:
                        continue  # one at a time per stream, even within a claim
                    receiver = s.get(FeedReceiver, row.receiver_id)
                    event = found.get(row.event_seq)
                    if receiver is None or event is None or receiver.disabled_at is not None:
                        continue
                    streams.add((row.receiver_id, row.stream))
                    row.claimed_until, row.claimed_by = now + self._lease(), self.name
                    s.add(row)
                    taken.append((row, event, receiver))
                attempts = [self._prepare(s, row, event, receiver, now) for row, event, receiver in taken]
            s.commit()
            del kept
        return attempts

    def _claimable(self, row: FeedDelivery, now: dt.datetime) -> bool:
        if row.claimed_until is None or row.claimed_until < now:
            return True
        lease = self._lease()
        return row.claimed_by is not None and row.claimed_by != self.name \
            and holder_gone(row.claimed_by, row.claimed_until - lease, now, stale_after=lease)

    def _prepare(self, s: Session, row: FeedDelivery, event: FeedEvent, receiver: FeedReceiver,
                 now: dt.datetime) -> _Attempt:
        assert row.id is not None
        body = payloads.body(s, event, receiver, self.config.links, now)
        headers = signature.headers(signing_secrets(receiver, self.config.sealing_key, now),
                                    payloads.message_id(event), body)
        headers["content-type"] = "application/json"
        headers["user-agent"] = "enotary-feed/1"
        return _Attempt(row.id, receiver.name, receiver.url, body, headers, event.created_at)

    # ------------------------------------------------------------------ posting

    def _post(self, attempt: _Attempt) -> None:
        try:
            if not self.config.allow_insecure:
                parts = urllib.parse.urlsplit(attempt.url)
                check_host(parts.hostname or "", parts.port or 443)  # again: the name may point elsewhere now
            with self.client.stream("POST", attempt.url, content=attempt.body, headers=attempt.headers) as response:
                attempt.status = response.status_code
                if not 200 <= response.status_code < 300:
                    attempt.error = f"HTTP {response.status_code}"
                    attempt.retry_after = _retry_after(response.headers.get("retry-after"))
                _skim(response, time.monotonic() + self.config.timeout_seconds)
        except BadReceiver as exc:
            attempt.error = exc.message[:300]
        except httpx.TimeoutException:
            attempt.error = "timed out"
        except httpx.HTTPError as exc:
            attempt.error = f"{type(exc).__name__}: {exc}"[:300]

    # ------------------------------------------------------------------ recording

    def _record(self, attempts: list[_Attempt]) -> None:
        now = utcnow()
        with write_session(self.engine) as s, s.no_autoflush:
            rows = {r.id: r for r in s.exec(select(FeedDelivery).where(
                col(FeedDelivery.id).in_([a.delivery_id for a in attempts])))}  # one read, not one per row
            for a in attempts:
                row = rows.get(a.delivery_id)
                if row is None or row.state != DeliveryState.PENDING.value:
                    continue  # replayed or recorded by a worker that took over the claim
                row.attempts += 1
                row.claimed_until, row.claimed_by = None, None
                row.last_status, row.last_error = a.status, a.error
                if a.error is None:
                    row.state, row.delivered_at = DeliveryState.DELIVERED.value, now
                    FEED_DELIVERIES.labels("delivered").inc()
                    FEED_DELIVERY_SECONDS.observe(max((now - a.event_created).total_seconds(), 0.0))
                elif now - row.created_at >= self.config.dead_after:
                    row.state, row.dead_at = DeliveryState.DEAD.value, now
                    FEED_DELIVERIES.labels("dead").inc()
                    log.warning("feed delivery %s to %s dead-lettered after %d attempts: %s", row.id,
                                a.receiver_name, row.attempts, a.error)
                else:
                    row.next_attempt_at = now + dt.timedelta(seconds=backoff(row.attempts, a.retry_after))
                    FEED_DELIVERIES.labels("failed").inc()
                s.add(row)
            s.commit()


ANSWER_BYTES = 64 * 1024


def _skim(response: httpx.Response, deadline: float) -> None:
    """Read the answer's body, so that the connection can be used again, but no more than
    ANSWER_BYTES and not past ``deadline``: the receiver's answer is its status. Read whole,
    a body sent a byte at a time (each within the timeout) or without end held the pass, and
    every other receiver's deliveries with it, for as long as the receiver liked."""
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > ANSWER_BYTES or time.monotonic() > deadline:
                return  # the connection is closed, not reused
    except httpx.HTTPError:
        pass  # the status is in; what follows it does not change the outcome


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date (RFC 9110);
    None for anything else. ASCII digits only: "²" is a digit to str.isdigit but not to
    float(), and raising here lost the records of the whole pass."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max((when - utcnow()).total_seconds(), 0.0)


def run_until_idle(worker: FeedWorker, deadline_seconds: float = 30.0,
                   settled: Callable[[], bool] | None = None) -> None:
    """Pass until nothing is due (and ``settled`` holds, when given) or the deadline: for
    the CLI and tests."""
    end = time.monotonic() + deadline_seconds
    while time.monotonic() < end:
        if worker.run_once() == 0 and (settled is None or settled()):
            return
        time.sleep(0.05)
