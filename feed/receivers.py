"""Receivers: add, list, disable, rotate a secret. Each secret is shown once, when made, and
kept sealed (keys.sealing) under the receiver's id."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from keys import sealing
from records import audit
from signing import text_safety
from storage.clock import utcnow
from storage.sessions import write_session
from webhooks.signature import new_secret

from .addresses import check_url
from .errors import BadReceiver, ReceiverNotFound
from .models import EventKind, FeedReceiver, ReceiverKind

SEALING_PURPOSE = b"notary feed receiver secret v1"
# After a rotation the old secret keeps signing beside the new one this long, so the
# receiver can switch without losing a message.
ROTATION_OVERLAP = dt.timedelta(hours=24)


def sealing_key(installation_secret: bytes) -> bytes:
    """The key that seals receivers' secrets."""
    return sealing.derive_key(installation_secret, SEALING_PURPOSE)


def add_receiver(engine: Engine, key: bytes, *, name: str, url: str, actor: str, office_code: str | None = None,
                 api_key_id: uuid.UUID | None = None, personal_data: bool = False,
                 kinds: Sequence[str] | None = None, allow_insecure: bool = False,
                 expires_at: dt.datetime | None = None) -> tuple[FeedReceiver, str]:
    """A new receiver and its secret (``whsec_…``, shown once). Either ``office_code`` (the
    office's platform receiver: every event of the office) or ``api_key_id`` (a registry's
    receiver: the revocations and corrections of the certificates that key subscribed to)."""
    if (office_code is None) == (api_key_id is None):
        raise BadReceiver("a receiver is either an office's (--office) or a registry's (--api-key)",
                          "接收方须为公证处的或登记机构的，二者选一")
    problems = text_safety.problems(name) if name else ["empty"]
    if not name or len(name) > 120 or problems:
        raise BadReceiver("the receiver's name must be 1 to 120 printable characters",
                          "接收方名称须为1至120个可打印字符")
    check_url(url, allow_insecure)
    chosen = _kinds(kinds)
    if api_key_id is not None and personal_data:
        raise BadReceiver("a registry's receiver gets no personal data", "登记机构接收方不接收个人信息")
    secret = new_secret()
    receiver = FeedReceiver(name=name, url=url, office_code=office_code, api_key_id=api_key_id,
                            kind=(ReceiverKind.PLATFORM if office_code else ReceiverKind.REGISTRY).value,
                            personal_data=personal_data, event_kinds=chosen, created_by=actor[:120],
                            secret_sealed=b"", expires_at=expires_at)
    receiver.secret_sealed = sealing.seal(key, secret.encode(), receiver.id.bytes)
    with write_session(engine) as s:
        s.add(receiver)
        audit.append(s, actor, "feed.receiver_add", str(receiver.id),
                     {"name": name, "url": url, "personal_data": personal_data, "kinds": chosen}, office=office_code)
        s.commit()
        s.refresh(receiver)
    return receiver, secret


def _kinds(kinds: Sequence[str] | None) -> str:
    if not kinds:
        return "*"
    known = {k.value for k in EventKind}
    wrong = [k for k in kinds if k not in known]
    if wrong:
        raise BadReceiver(f"unknown event kind(s) {', '.join(wrong)}; known: {', '.join(sorted(known))}",
                          f"未知的事件类型：{'、'.join(wrong)}")
    return ",".join(sorted(set(kinds)))


def wants(receiver: FeedReceiver, kind: str) -> bool:
    """Whether the receiver takes events of this kind."""
    return receiver.event_kinds == "*" or kind in receiver.event_kinds.split(",")


def list_receivers(engine: Engine, office_code: str | None = None) -> list[FeedReceiver]:
    """Every receiver (or an office's), oldest first."""
    with Session(engine) as s:
        query = select(FeedReceiver).order_by(col(FeedReceiver.created_at))
        if office_code is not None:
            query = query.where(FeedReceiver.office_code == office_code)
        return list(s.exec(query))


def find(s: Session, receiver_id: uuid.UUID, office_code: str | None = None) -> FeedReceiver:
    """The receiver (of that office, when given); ReceiverNotFound otherwise."""
    receiver = s.get(FeedReceiver, receiver_id)
    if receiver is None or (office_code is not None and receiver.office_code != office_code):
        raise ReceiverNotFound()
    return receiver


def disable_receiver(engine: Engine, receiver_id: uuid.UUID, actor: str, office_code: str | None = None) -> None:
    """Nothing more is posted to it, and its download links stop working. Its events keep
    being queued, and go out in order if it is enabled again."""
    with write_session(engine) as s:
        receiver = find(s, receiver_id, office_code)
        if receiver.disabled_at is None:
            receiver.disabled_at = utcnow()
            s.add(receiver)
            audit.append(s, actor, "feed.receiver_disable", str(receiver.id), {"name": receiver.name},
                         office=receiver.office_code)
        s.commit()


def disable_for_api_key(s: Session, api_key_id: uuid.UUID, actor: str) -> int:
    """Disable every receiver of a registry's API key, in the caller's transaction (the key
    is being revoked: a revoked registry hears nothing more). Returns how many."""
    found = list(s.exec(select(FeedReceiver).where(FeedReceiver.api_key_id == api_key_id,
                                                   col(FeedReceiver.disabled_at).is_(None))))
    for receiver in found:
        receiver.disabled_at = receiver.expires_at = utcnow()  # expired: never enabled again for this key
        s.add(receiver)
        audit.append(s, actor, "feed.receiver_disable", str(receiver.id), {"name": receiver.name, "api_key_revoked": True})
    return len(found)


def enable_receiver(engine: Engine, receiver_id: uuid.UUID, actor: str, office_code: str | None = None) -> None:
    with write_session(engine) as s:
        receiver = find(s, receiver_id, office_code)
        if receiver.disabled_at is not None:
            receiver.disabled_at = None
            s.add(receiver)
            audit.append(s, actor, "feed.receiver_enable", str(receiver.id), {"name": receiver.name},
                         office=receiver.office_code)
        s.commit()


def rotate_secret(engine: Engine, key: bytes, receiver_id: uuid.UUID, actor: str,
                  office_code: str | None = None, overlap: dt.timedelta = ROTATION_OVERLAP) -> str:
    """A new secret (returned, shown once). Messages are signed with both until ``overlap``
    has passed, then with the new one only."""
    secret = new_secret()
    with write_session(engine) as s:
        receiver = find(s, receiver_id, office_code)
        receiver.previous_secret_sealed = receiver.secret_sealed
        receiver.previous_secret_until = utcnow() + overlap
        receiver.secret_sealed = sealing.seal(key, secret.encode(), receiver.id.bytes)
        s.add(receiver)
        audit.append(s, actor, "feed.receiver_rotate", str(receiver.id), {"name": receiver.name},
                     office=receiver.office_code)
        s.commit()
    return secret


def signing_secrets(receiver: FeedReceiver, key: bytes, now: dt.datetime | None = None) -> list[str]:
    """The secrets to sign a message to the receiver with: the current one, and the previous
    one while the rotation overlap lasts."""
    found = [sealing.unseal(key, receiver.secret_sealed, receiver.id.bytes).decode()]
    if receiver.previous_secret_sealed is not None and receiver.previous_secret_until is not None \
            and (now or utcnow()) < receiver.previous_secret_until:
        found.append(sealing.unseal(key, receiver.previous_secret_sealed, receiver.id.bytes).decode())
    return found
