"""The body of a webhook: ``{"type", "timestamp", "data"}`` as Standard Webhooks suggests.

Built when it is sent, for its receiver: the holder's name and ID number only to a receiver
entitled to personal data, a download link valid from now, and the anchor receipt."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlmodel import Session

from anchoring.status import anchor_status
from records.check_codes import verify_url
from records.matters import MATTERS
from records.models import Certificate

from .links import make_link
from .models import EventKind, FeedEvent, FeedReceiver


@dataclass(frozen=True)
class LinkMaker:
    key: bytes
    base_url: str
    lifetime: dt.timedelta


def message_id(event: FeedEvent) -> str:
    """The ``webhook-id``: the same for every attempt and replay, so a receiver can drop repeats."""
    return f"msg_{event.id.hex}"


def body(s: Session, event: FeedEvent, receiver: FeedReceiver, links: LinkMaker, now: dt.datetime) -> bytes:
    """The JSON body of ``event`` for ``receiver``."""
    data = json.loads(event.data_json)
    if not receiver.personal_data:
        # A revocation's free-text note may name people: verifiers see it only with the access code.
        data.pop("note", None)
    data["office_code"] = event.office_code
    if event.certificate_id is not None:
        data["certificate_id"] = str(event.certificate_id)
        cert = s.get(Certificate, event.certificate_id)
        if cert is not None:
            data["office_name"] = cert.office_name
            data["verify_url"] = verify_url(links.base_url.rstrip("/"), cert.id, cert.check_code)  # the QR's URL
            if event.kind == EventKind.ISSUED.value:
                data.update(_issued(s, cert, receiver, links, now))
    message = {"type": event.kind, "timestamp": event.created_at.astimezone(dt.timezone.utc).isoformat(),
               "data": data}
    return json.dumps(message, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _issued(s: Session, cert: Certificate, receiver: FeedReceiver, links: LinkMaker, now: dt.datetime) -> dict:
    matter = MATTERS.get(cert.matter)
    expires = now + links.lifetime
    found: dict = {
        "matter_title_zh": matter.title_zh if matter else cert.matter,
        "matter_title_en": matter.title_en if matter else cert.matter,
    }
    anchored = anchor_status(s, cert.id)
    found["receipt"] = anchored.receipt.model_dump(mode="json") if anchored and anchored.receipt else None
    if receiver.personal_data:
        stored = json.loads(cert.data_json)
        found["holder"] = {"name": cert.applicant_name, "id_number": stored.get("id_number")}
        # The PDF names the holder and their ID number: its link goes where they may go.
        found["download"] = {"url": make_link(links.key, links.base_url, cert.id, receiver.id, expires),
                             "expires_at": expires.astimezone(dt.timezone.utc).isoformat()}
    return found
