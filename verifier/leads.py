"""Forgery leads (issue #16): verifications that suggest a forgery, kept for the regulator.

A lead is an upload FAILED because the document was altered, signed by a key outside the
notarial PKI or not registered for an office, or is not anchored; or a lookup (QR link,
number, fingerprint, batch item) of a certificate that does not exist. A lead keeps when,
which route, the registry's API key, the number and office claimed and the document's
hash: never the uploaded file, never the client's address.

Recording a lead never changes or slows an answer. The routes hand it to one background
thread per process (:func:`note_lead`): a lookup of a made-up number must cost what a wrong
access code costs (verifier.gate), and a database that hangs must not hold a lookup.
Errors are logged and dropped, and each process writes at most ``BUDGET_PER_MINUTE``
leads a minute; more are only counted in ``notary_forgery_leads_total``, so a flood of
made-up lookups fills neither the table nor the lookups' time."""

from __future__ import annotations

import datetime as dt
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from observability.metrics import FORGERY_LEADS
from records.lookups import normalise_number
from records.models import Certificate
from signing.text_safety import visible
from storage.sessions import read_session, write_session

from .models import ForgeryLead
from .report import CheckStatus, Indication, Report

log = logging.getLogger("notary.verifier")

ROUTES = frozenset({"upload", "qr", "number", "fingerprint", "batch"})
NOT_FOUND = "NOT_FOUND"  # the reason of a lookup of a certificate that does not exist

# The check codes that make a FAILED report a lead: each says the document is not one this
# registry issued as it is. Only an INVALID check counts (ANCHOR_NOT_ON_CHAIN is SKIPPED,
# "being re-anchored", for the registry's own receipts).
LEAD_CODES = frozenset({
    # document_integrity: the file is not the one that was signed.
    "SIGNATURE_BROKEN", "MODIFIED_AFTER_SIGNING", "COVERAGE_INCOMPLETE",
    # signer_trust: signed by a key outside the notarial PKI.
    "SIGNER_UNTRUSTED",
    # office_binding: the key is no office's on the ledger, or was not at the signing time
    # (signed after its retirement, before its registration, outside its window).
    "OFFICE_KEY_UNKNOWN", "OFFICE_KEY_REVOKED", "OFFICE_KEY_REGISTERED_LATER", "OFFICE_KEY_OUT_OF_WINDOW",
    # anchor_inclusion: not issued through this registry, or its anchor is not this one.
    "ANCHOR_NOT_FOUND", "ANCHOR_NOT_ON_CHAIN", "ANCHOR_PROOF_INVALID", "ANCHOR_OTHER_OFFICE",
    "RECEIPT_LEAF_MISMATCH", "RECEIPT_OFFICE_MISMATCH", "RECEIPT_WRONG_LEDGER", "RECEIPT_OTHER_DOCUMENT",
})
# Not leads: REVOKED and SUPERSEDED (the office's own decision), OFFICE_SUSPENDED (the
# regulator's); SIGNER_REVOKED (a CA's revocation fails the genuine documents signed before
# it just the same; signing after a key's retirement is OFFICE_KEY_REVOKED above);
# TIMESTAMP_INVALID and ARCHIVE_TIMESTAMP_INVALID on their own (a trust question about the
# TSA: a timestamp forged into a genuine file changes the file, so one of the codes above
# comes with it); NOT_A_CERTIFICATE (a genuine report of this service, uploaded as a
# certificate); and what is ERROR, never FAILED (LEDGER_*, STATUS_UNKNOWN, NODES_DISAGREE).

BUDGET_PER_MINUTE = 600
_BATCH = 100  # leads written in one transaction at most
_SHA256 = re.compile(r"[0-9a-f]{64}")
# A number in the notarial style (records.numbers.format_number), once normalised; the part
# before 证字 is the office's abbreviation, e.g. (2026)沪东证字第000123号.
_NUMBER = re.compile(r"\((\d{4})\)(.{1,20}?)证字第(\d{1,12})号")
_TABLE = ForgeryLead.__table__  # type: ignore[attr-defined]  # table models have one


class Budget:
    """At most ``per_minute`` leads a minute: a token bucket that holds a minute's worth and
    refills evenly, so a burst of real leads is kept whole and a flood costs one minute's."""

    def __init__(self, per_minute: int = BUDGET_PER_MINUTE, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._tokens, self._at = float(per_minute), clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """One lead's worth, if there is one left."""
        with self._lock:
            now = self.clock()
            self._tokens = min(float(self.per_minute), self._tokens + (now - self._at) * self.per_minute / 60)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


budget = Budget()  # this process's; tests put their own in its place


# ---------------------------------------------------------------------------- what is a lead

def lead_reason(report: Report) -> str | None:
    """The code that makes a finished report a forgery lead (the first such check, in the
    report's order), or None when it is none: not FAILED, or FAILED only for a reason that
    is not about the document being forged (revoked or corrected by its office, say)."""
    if report.indication is not Indication.FAILED:
        return None
    return next((c.code for c in report.checks if c.status is CheckStatus.INVALID and c.code in LEAD_CODES), None)


def is_lead(report: Report) -> bool:
    """Whether a finished report is a forgery lead (see :func:`lead_reason`)."""
    return lead_reason(report) is not None


def claimed_office_of(report: Report) -> str | None:
    """The office an uploaded PDF claims: the record's, when one of its revisions is a
    certificate this registry issued; else the ledger's office for its signing key; else the
    signer's name written in it (a forger's certificate copies the office's name)."""
    if report.certificate is not None:
        return report.certificate.office
    return report.office or report.signer


def number_claims(number: str) -> tuple[int, str] | None:
    """The year and office abbreviation a certificate number claims, or None when it is not
    in the notarial style."""
    found = _NUMBER.fullmatch(normalise_number(number))
    return (int(found.group(1)), found.group(2)) if found else None


# ---------------------------------------------------------------------------- recording

def record_lead(engine: Engine, route: str, reason: str, *, api_key_id: uuid.UUID | None = None,
                claimed_number: str | None = None, claimed_office: str | None = None,
                certificate_id: uuid.UUID | None = None, document_sha256: str | None = None) -> bool:
    """Write one lead now, within this process's budget; True when it was written. Never
    raises: a lead that cannot be made or written is logged and counted. Claimed text is
    cleaned (control and invisible characters shown as ``[U+XXXX]``) and cut to its
    column; a number's office, when not given, is derived from its abbreviation."""
    try:
        lead = _lead(route, reason, api_key_id, claimed_number, claimed_office, certificate_id, document_sha256)
        return _admit(lead) and _write(engine, [lead]) == 1
    except Exception:  # a lead must never fail a verification
        log.exception("forgery lead not recorded")
        return False


def note_lead(engine: Engine, route: str, reason: str, *, api_key_id: uuid.UUID | None = None,
              claimed_number: str | None = None, claimed_office: str | None = None,
              certificate_id: uuid.UUID | None = None, document_sha256: str | None = None) -> None:
    """:func:`record_lead` off the request's path: the budget is taken now, the lead is
    written by this process's lead writer thread (see :func:`wait_for_pending`)."""
    try:
        lead = _lead(route, reason, api_key_id, claimed_number, claimed_office, certificate_id, document_sha256)
        if _admit(lead) and not _writer.submit(engine, lead):
            FORGERY_LEADS.labels(_label(lead.route), "not_written").inc()
    except Exception:  # a lead must never fail a verification
        log.exception("forgery lead not recorded")


def note_report(engine: Engine, route: str, report: Report, *, api_key_id: uuid.UUID | None = None) -> None:
    """Note a finished report as a lead if it is one (nothing to do for any other: the
    price on a lookup that passes is one comparison)."""
    reason = lead_reason(report)
    if reason is None:
        return
    note_lead(engine, route, reason, api_key_id=api_key_id, claimed_office=claimed_office_of(report),
              certificate_id=report.certificate.id if report.certificate is not None else None,
              document_sha256=report.document_sha256)


def wait_for_pending(timeout: float = 10.0) -> bool:
    """Wait until the leads noted so far are written (or given up); False on timeout."""
    return _writer.wait(timeout)


def _lead(route: str, reason: str, api_key_id: Any, claimed_number: Any, claimed_office: Any,
          certificate_id: Any, document_sha256: Any) -> ForgeryLead:
    number = _clean(normalise_number(str(claimed_number)[:256]), "claimed_number") if claimed_number else None
    digest = str(document_sha256).strip().lower() if document_sha256 else None
    return ForgeryLead(route=_clean(route, "route") or "?", reason=_clean(reason, "reason") or "?",
                       api_key_id=_uuid(api_key_id), claimed_number=number,
                       claimed_office=_clean(claimed_office, "claimed_office"), certificate_id=_uuid(certificate_id),
                       document_sha256=digest if digest and _SHA256.fullmatch(digest) else None)


def _clean(text: Any, column: str) -> str | None:
    """Text from outside as its column can hold it and a console can show it: only what
    fits is read (a huge string is never scanned whole), control and invisible characters
    become a visible ``[U+XXXX]`` (NUL, which PostgreSQL refuses, and lone surrogates, which
    UTF-8 cannot encode, among them), and what is still too long is cut with an ellipsis."""
    if text is None:
        return None
    size = int(_TABLE.c[column].type.length)
    shown = visible(str(text)[:size + 1].strip())
    if len(shown) > size:
        shown = shown[:size - 1] + "…"
    return shown or None


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)[:64])
    except ValueError:
        return None  # a made-up id that is not even a UUID: the route and reason say enough


def _label(route: str) -> str:
    # Metric labels stay bounded whatever a caller passes.
    return route if route in ROUTES else "other"


def _admit(lead: ForgeryLead) -> bool:
    if budget.take():
        return True
    FORGERY_LEADS.labels(_label(lead.route), "over_budget").inc()
    return False


def _write(engine: Engine, leads: list[ForgeryLead]) -> int:
    """Insert ``leads`` in one transaction; how many were written (0 on any error)."""
    routes = [_label(lead.route) for lead in leads]  # read now: the commit expires the rows
    try:
        for lead in leads:
            if lead.claimed_office is None and lead.claimed_number is not None:
                lead.claimed_office = _office_of_number(engine, lead.claimed_number)
        with write_session(engine) as s:
            s.add_all(leads)
            s.commit()
    except Exception:  # the database down, the disk full, an engine closed: the answer stands
        log.warning("%d forgery lead(s) not written", len(leads), exc_info=True)
        for route in routes:
            FORGERY_LEADS.labels(route, "not_written").inc()
        return 0
    for route in routes:
        FORGERY_LEADS.labels(route, "recorded").inc()
    return len(leads)


_office_names: dict[tuple[str, str], str] = {}


def _office_of_number(engine: Engine, number: str) -> str | None:
    """The office a number claims: the name of the office whose certificates of that year
    carry its abbreviation, else the abbreviation itself; None when it is no such number.
    One read on the number's index (a range, not LIKE); names found are remembered."""
    claims = number_claims(number)
    if claims is None:
        return None
    year, abbreviation = claims
    key = (engine.url.render_as_string(), abbreviation)
    if key in _office_names:
        return _office_names[key]
    prefix = f"({year}){abbreviation}证字第"
    try:
        with Session(engine) as s:
            # Digits sort before 号: every number with this prefix lies in [prefix, prefix + 号).
            rows = s.exec(select(Certificate.number, Certificate.office_name)
                          .where(col(Certificate.number) >= prefix, col(Certificate.number) < prefix + "号")
                          .limit(5)).all()
    except Exception:
        log.warning("office of a claimed number not looked up", exc_info=True)
        return abbreviation
    name = next((office for found, office in rows if number_claims(found) == claims), None)
    if name is None:
        return abbreviation
    if len(_office_names) > 256:  # made-up abbreviations never get here: only those found
        _office_names.clear()
    _office_names[key] = name
    return name


class _Writer:
    """One daemon thread per process that writes noted leads, up to ``_BATCH`` in one
    transaction. The queue holds at most a minute's budget: a database too slow for that
    loses leads (counted), never a request's time."""

    def __init__(self, size: int) -> None:
        self._queue: queue.Queue[tuple[Engine, ForgeryLead]] = queue.Queue(maxsize=size)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, engine: Engine, lead: ForgeryLead) -> bool:
        with self._lock:
            # Started on first use, and again in a process forked after it ran.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="forgery-leads", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((engine, lead))
        except queue.Full:
            return False
        return True

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                groups: dict[int, tuple[Engine, list[ForgeryLead]]] = {}
                for engine, lead in batch:
                    groups.setdefault(id(engine), (engine, []))[1].append(lead)
                for engine, leads in groups.values():
                    _write(engine, leads)
            except Exception:  # _write logs its own; this thread must outlive anything else
                log.exception("forgery lead writer")
            finally:
                for _ in batch:
                    self._queue.task_done()


_writer = _Writer(BUDGET_PER_MINUTE)


# ---------------------------------------------------------------------------- the regulator's reading

MAX_PAGE = 500


def _within(query: Any, since: dt.datetime | None, until: dt.datetime | None, office: str | None = None) -> Any:
    if since is not None:
        query = query.where(col(ForgeryLead.at) >= since)
    if until is not None:
        query = query.where(col(ForgeryLead.at) < until)
    if office is not None:
        query = query.where(col(ForgeryLead.claimed_office) == office)
    return query


def list_leads(engine: Engine, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
               office: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[ForgeryLead], int]:
    """Leads newest first, a page of them (``limit`` at most 500), and how many match in
    all. ``since`` is inclusive, ``until`` exclusive; ``office`` is the claimed office,
    exactly as :func:`counts_by_claimed_office` names it."""
    limit, offset = max(1, min(limit, MAX_PAGE)), max(0, offset)
    with read_session(engine) as s:
        total = s.exec(_within(select(func.count()).select_from(ForgeryLead), since, until, office)).one()
        rows = s.exec(_within(select(ForgeryLead), since, until, office)
                      .order_by(col(ForgeryLead.at).desc(), col(ForgeryLead.id).desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def counts_by_claimed_office(engine: Engine, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                             limit: int = MAX_PAGE) -> list[tuple[str | None, str, int]]:
    """(claimed office, reason, count) of the leads in the period, most first (ties by
    office, then reason; leads claiming no office last among equals). ``limit`` bounds the
    answer: made-up numbers can claim as many offices as they like."""
    count = func.count().label("n")
    query = _within(select(ForgeryLead.claimed_office, ForgeryLead.reason, count), since, until) \
        .group_by(col(ForgeryLead.claimed_office), col(ForgeryLead.reason)).order_by(count.desc()) \
        .limit(max(1, limit))
    with Session(engine) as s:
        rows = [(office, reason, int(n)) for office, reason, n in s.exec(query).all()]
    # The databases order NULLs differently: the order among equal counts is made here.
    return sorted(rows, key=lambda r: (-r[2], r[0] is None, r[0] or "", r[1]))
