"""Registries' subscriptions: a registry's API key subscribes to certificates it has
accepted, and its receiver (configured by the operator: ``notary feed add --api-key``) then
gets a signed webhook when one is revoked or corrected (feed.fanout).

The rule: a key may subscribe only to a certificate it has verified itself, that is, one
with a row in ``verifier_log`` for this key and certificate, whatever that verification's
result (a registry that saw "revoked" may still want to hear of a correction, and one that
saw "anchor pending" certainly does). A certificate that exists but was not verified by the
key is refused exactly like one that does not exist (same code, same message, no id): a
registry cannot learn by subscribing that a certificate exists.

Nothing here holds personal data: subscriptions are (key, certificate) pairs; listings show
a certificate's number and status; the audit log and the metrics get counts."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func
from sqlalchemy import select as select_columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from errors import NotaryError
from feed.errors import NotSubscribable
from feed.models import RegistrySubscription
from observability.metrics import REGISTRY_SUBSCRIPTIONS
from records import audit
from records.models import Certificate
from storage.clock import utcnow
from storage.sessions import write_session

from .errors import BadSubscriptionRef, SubscriptionNotFound
from .models import VerificationLog

SUBSCRIBE_MAX = 1000  # certificates a call, as the batch API's items
PAGE_SIZE = 100
REF_MAX_CHARS = 64  # a fingerprint; an id is 32 or 36
_FINGERPRINT = re.compile(r"[0-9a-fA-F]{64}")
_ID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Ref:
    """A certificate as a registry names it: by id or by its PDF's SHA-256 (lower-case)."""

    text: str
    certificate_id: uuid.UUID | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The answer for one ref: subscribed (``certificate_id``, ``new`` unless it already was,
    the certificate's ``status``), or ``refused`` with the error a client sees."""

    ref: str
    certificate_id: uuid.UUID | None = None
    status: str | None = None
    new: bool = False
    refused: NotaryError | None = None


@dataclass(frozen=True)
class Subscription:
    """One line of a key's listing: public facts only."""

    certificate_id: uuid.UUID
    number: str | None  # None only for a certificate no longer stored
    status: str | None
    successor_id: uuid.UUID | None
    subscribed_at: dt.datetime


@dataclass(frozen=True)
class SubscriptionPage:
    page: int
    per_page: int
    total: int
    subscriptions: list[Subscription]


def parse_ref(text: str) -> Ref:
    """A certificate id (UUID, with or without hyphens) or a document fingerprint (64 hex
    digits); BadSubscriptionRef for anything else (NUL bytes, spaces and all)."""
    if not isinstance(text, str) or len(text) > REF_MAX_CHARS:
        raise BadSubscriptionRef("a certificate is named by its id (UUID) or its PDF's SHA-256 (64 hex digits)",
                                 "请以公证书编号 ID（UUID）或 PDF 的 SHA-256 指纹（64 位十六进制）指明公证书")
    if _FINGERPRINT.fullmatch(text):
        return Ref(text, sha256=text.lower())
    if _ID.fullmatch(text):
        return Ref(text, certificate_id=uuid.UUID(text))
    raise BadSubscriptionRef(f"{text[:20]!r} is neither a certificate id (UUID) nor a SHA-256 fingerprint",
                             "既不是公证书 ID（UUID），也不是 SHA-256 指纹")


def subscribe(engine: Engine, api_key_id: uuid.UUID, refs: Sequence[str], *, actor: str | None = None) -> list[Outcome]:
    """Subscribe the key to each certificate it has verified, in the order of ``refs`` (at
    most SUBSCRIBE_MAX; a malformed ref refuses the whole call with BadSubscriptionRef).
    Subscribing again is no change (``new`` is False). Refused refs (unknown, or not
    verified by this key) get NotSubscribable, the same for both. ``actor`` names the
    registry in the audit log (one event a call that added any)."""
    if len(refs) > SUBSCRIBE_MAX:
        raise BadSubscriptionRef(f"at most {SUBSCRIBE_MAX} certificates a call",
                                 f"每次最多订阅 {SUBSCRIBE_MAX} 份公证书")
    parsed = [parse_ref(r) for r in refs]
    ids = {p.certificate_id for p in parsed if p.certificate_id is not None}
    digests = {p.sha256 for p in parsed if p.sha256 is not None}
    with Session(engine) as s:
        certs = _certificates(s, ids, digests)
        by_digest = {c.document_sha256: c.id for c in certs.values()}
        wanted = {cid for cid in (_resolve(p, certs, by_digest) for p in parsed) if cid is not None}
        verified = _verified_by(s, api_key_id, wanted)
        already = _subscribed(s, api_key_id, verified)
    # A repeat (everything already subscribed) writes nothing and takes no write lock.
    added = _add(engine, api_key_id, verified - already, actor)
    outcomes = []
    for p in parsed:
        cid = _resolve(p, certs, by_digest)
        if cid is None or cid not in verified:
            outcomes.append(Outcome(p.text, refused=NotSubscribable()))
        else:
            outcomes.append(Outcome(p.text, certificate_id=cid, status=certs[cid].status, new=cid in added))
    refused = sum(o.refused is not None for o in outcomes)
    if added:
        REGISTRY_SUBSCRIPTIONS.labels("added").inc(len(added))
    if refused:
        REGISTRY_SUBSCRIPTIONS.labels("refused").inc(refused)
    return outcomes


@dataclass(frozen=True)
class _Found:
    id: uuid.UUID
    document_sha256: str
    status: str


def _certificates(s: Session, ids: set[uuid.UUID], digests: set[str]) -> dict[uuid.UUID, _Found]:
    """The stored certificates among these ids and fingerprints (three columns each)."""
    found: dict[uuid.UUID, _Found] = {}
    columns = (col(Certificate.id), col(Certificate.document_sha256), col(Certificate.status))
    for column, values in ((col(Certificate.id), ids), (col(Certificate.document_sha256), digests)):
        if values:
            for cid, digest, status in s.exec(select(*columns).where(column.in_(values))):
                found[cid] = _Found(cid, digest, status)
    return found


def _resolve(ref: Ref, certs: dict[uuid.UUID, _Found], by_digest: dict[str, uuid.UUID]) -> uuid.UUID | None:
    if ref.certificate_id is not None:
        return ref.certificate_id if ref.certificate_id in certs else None
    return by_digest.get(ref.sha256 or "")


def _verified_by(s: Session, api_key_id: uuid.UUID, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``ids`` this key has a verification logged for (any indication)."""
    if not ids:
        return set()
    rows = s.exec(select(VerificationLog.certificate_id).distinct()
                  .where(VerificationLog.api_key_id == api_key_id, col(VerificationLog.certificate_id).in_(ids)))
    return {cid for cid in rows if cid is not None}


def _subscribed(s: Session, api_key_id: uuid.UUID, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    return set(s.exec(select(RegistrySubscription.certificate_id).where(
        RegistrySubscription.api_key_id == api_key_id, col(RegistrySubscription.certificate_id).in_(ids))))


def _add(engine: Engine, api_key_id: uuid.UUID, ids: set[uuid.UUID], actor: str | None) -> set[uuid.UUID]:
    """Insert these pairs; returns the certificates newly subscribed. Concurrent calls for
    the same pair both succeed: the unique pair makes the second one nothing."""
    if not ids:
        return set()
    with write_session(engine) as s:
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # In one order, so that two calls inserting overlapping pairs cannot deadlock.
        values = [{"id": uuid.uuid4(), "api_key_id": api_key_id, "certificate_id": cid, "created_at": utcnow()}
                  for cid in sorted(ids)]
        statement = (insert(RegistrySubscription).values(values)
                     .on_conflict_do_nothing(index_elements=["api_key_id", "certificate_id"])
                     .returning(col(RegistrySubscription.certificate_id)))
        added = {row[0] for row in s.execute(statement)}
        if added:
            audit.append(s, (actor or f"apikey:{api_key_id}")[:120], "subscription.add", str(api_key_id),
                         {"certificates": len(added)})
        s.commit()
    return added


def unsubscribe(engine: Engine, api_key_id: uuid.UUID, certificate_id: uuid.UUID, *, actor: str | None = None) -> None:
    """End this key's subscription to the certificate; SubscriptionNotFound if it has none
    (whoever else subscribed to it)."""
    with write_session(engine) as s:
        result = s.execute(delete(RegistrySubscription).where(
            col(RegistrySubscription.api_key_id) == api_key_id,
            col(RegistrySubscription.certificate_id) == certificate_id))
        if not getattr(result, "rowcount", 0):
            s.rollback()
            raise SubscriptionNotFound()
        audit.append(s, (actor or f"apikey:{api_key_id}")[:120], "subscription.remove", str(certificate_id),
                     {"api_key": str(api_key_id)})
        s.commit()
    REGISTRY_SUBSCRIPTIONS.labels("removed").inc()


def list_subscriptions(engine: Engine, api_key_id: uuid.UUID, page: int = 1) -> SubscriptionPage:
    """One page (PAGE_SIZE, oldest first) of this key's subscriptions, with each
    certificate's number, current status and successor (a corrected one's)."""
    if page < 1:
        raise ValueError("pages are numbered from 1")
    mine = col(RegistrySubscription.api_key_id) == api_key_id
    with Session(engine) as s:
        total = s.exec(select(func.count()).select_from(RegistrySubscription).where(mine)).one()
        # Five columns: SQLModel's select is typed for at most four.
        query = (select_columns(col(RegistrySubscription.certificate_id), col(RegistrySubscription.created_at),
                                col(Certificate.number), col(Certificate.status), col(Certificate.superseded_by))
                 .join(Certificate, col(Certificate.id) == col(RegistrySubscription.certificate_id), isouter=True)
                 .where(mine)
                 .order_by(col(RegistrySubscription.created_at), col(RegistrySubscription.certificate_id))
                 .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
        rows = s.execute(query).all()
    return SubscriptionPage(page=page, per_page=PAGE_SIZE, total=int(total), subscriptions=[
        Subscription(certificate_id=cid, number=number, status=status, successor_id=successor, subscribed_at=at)
        for cid, at, number, status, successor in rows])
