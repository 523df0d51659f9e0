"""Claims on a certificate being corrected or a draft being issued.

A correction signs its successor outside any transaction, so the old certificate cannot
stay locked meanwhile. Instead the change claims it in a short transaction (after checking
it may be changed), and the transaction that stores the successor removes the claim. A
second correction (or a second press on a draft's issue button) that arrives meanwhile
finds the claim and is refused before it takes a number; a claim whose holder is gone
(processes.holder) no longer counts.

A revocation is never held up by a claim: it is the urgent change (a certificate found to
be false), and it is safe, because the correction's storing transaction reads the status
again under the row lock and is refused if the certificate was revoked meanwhile.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from processes.holder import holder_gone, new_holder
from storage.clock import database_now
from storage.sessions import write_session

from .models import ChangeClaim

log = logging.getLogger(__name__)


def certificate_subject(certificate_id: uuid.UUID) -> str:
    return f"certificate:{certificate_id}"


def draft_subject(draft_id: uuid.UUID) -> str:
    return f"draft:{draft_id}"


def claimed(s: Session, subject: str) -> bool:
    """Whether a live holder has claimed ``subject`` (a change under way)."""
    claim = s.get(ChangeClaim, subject)
    return claim is not None and not holder_gone(claim.holder, claim.claimed_at, database_now(s))


def claim(s: Session, subject: str) -> str | None:
    """Claim ``subject`` in the caller's write transaction (which has locked the subject's
    row); the holder to consume or release it with, or None if a live holder has it. A
    claim left by a holder that is gone is taken over."""
    if claimed(s, subject):
        return None
    holder, now = new_holder(), database_now(s)
    existing = s.get(ChangeClaim, subject)
    if existing is not None:
        existing.holder, existing.claimed_at = holder, now
        s.add(existing)
    else:
        s.add(ChangeClaim(subject=subject, holder=holder, claimed_at=now))
    return holder


def consume(s: Session, subject: str, holder: str) -> bool:
    """Remove the claim in the storing transaction; False if it was taken over (its holder
    was judged gone), and then nothing may be stored."""
    result = s.execute(delete(ChangeClaim).where(col(ChangeClaim.subject) == subject,
                                                 col(ChangeClaim.holder) == holder))
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult


def release(engine: Engine, subject: str, holder: str) -> None:
    """Drop the claim after a failure (best effort: a claim left behind stops counting once
    its process is gone)."""
    try:
        with write_session(engine) as s:
            s.execute(delete(ChangeClaim).where(col(ChangeClaim.subject) == subject,
                                                col(ChangeClaim.holder) == holder))
            s.commit()
    except Exception:  # noqa: BLE001 - the change's own error is the one to report
        log.warning("the claim on %s could not be dropped now", subject, exc_info=True)
