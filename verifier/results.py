"""Reports of uploaded PDFs, kept for a day under a random id.

An upload is a POST; its answer redirects to the result's own address (post/redirect/get),
so the page can be reloaded, shown in the other language and downloaded as a signed report
without the file being sent again. The id is random (122 bits): only whoever uploaded the
file, or was given the link, finds the result, and it carries no personal data anyway."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from storage.clock import utcnow
from storage.sessions import write_session

from .models import VerificationResult
from .report import Report

KEPT_FOR = dt.timedelta(days=1)


def keep(engine: Engine, report: Report) -> uuid.UUID:
    """Store ``report``; returns its id. Results older than a day go at the same time."""
    row = VerificationResult(report_json=report.model_dump_json())
    result_id = row.id
    with write_session(engine) as s:
        s.exec(delete(VerificationResult).where(col(VerificationResult.created_at) < utcnow() - KEPT_FOR))
        s.add(row)
        s.commit()
    return result_id


def kept(engine: Engine, result_id: uuid.UUID) -> Report | None:
    """The stored report, or None when there is none (never was, or older than a day)."""
    with Session(engine) as s:
        row = s.get(VerificationResult, result_id)
    if row is None:
        return None
    if row.created_at < utcnow() - KEPT_FOR:  # stored times come back aware, in UTC
        return None
    return Report.model_validate_json(row.report_json)
