"""The regulator's statistics: per office, matter and month, what was issued, corrected,
revoked, fee-exempt and refused, how long anchoring took, and how often registries and
courts verified.

Definitions (one row per office, matter and month; a month is a calendar month in
``utc_offset``'s time, China Standard Time (UTC+8, no daylight saving) unless asked
otherwise, and ``since``/``until`` are days in that time, ``since`` included, ``until``
excluded):

- **issued**: certificates whose ``issued_at`` falls in the month, corrections included.
- **corrected**: of those, the ones that correct (supersede) another certificate
  (``supersedes`` set). A correction is also counted in ``issued``; the certificate it
  replaces is not counted in ``revoked``.
- **revoked**: certificates revoked (status ``revoked``) whose ``revoked_at`` falls in the
  month, whenever they were issued; superseded ones (corrected) are not revocations.
- **fee_exempt**: of the certificates issued in the month, the fee-exempt ones (免费).
- **policy_refusals**: issue attempts refused by one of the office's rules (audit events
  ``policy.refuse``, issuer.service) in the month, by the event's office and the matter in
  its details. A draft's check refuses nothing.
- **anchored** / **pending_anchors**: of the certificates issued in the month, those whose
  Merkle batch is confirmed on the ledger now, and those not (yet): anchored +
  pending_anchors = issued.
- **anchor_delay_avg_s** / **anchor_delay_max_s**: for the anchored ones, seconds from the
  certificate's ``issued_at`` to its batch's ``confirmed_at`` (when the anchoring worker
  saw the batch's transaction with enough confirmations; both times are this service's
  clock, unlike the block's own timestamp). None when none is anchored.
- **verifications**: rows of the batch API's log (verifier_log: registries and courts, by
  API key) about a certificate of the office and matter, by the month of the
  verification. Lookups that found no certificate belong to no office: they count only in
  ``verifications_by_key``.

Grouping is done in SQL, one query per source (certificates with their anchoring, revocations,
refusals, verifications), with a small dialect-aware month expression (SQLite ``strftime``,
PostgreSQL ``to_char`` in UTC shifted by the offset) and delay expression (``julianday`` /
``EXTRACT(epoch …)``), all literal so that the GROUP BY repeats the SELECT's expression
exactly. Only grouped rows (offices × matters × months) reach Python, where the four are
merged: the volume of certificates and, above all, of verifications (a registry may verify
millions a year) never crosses the wire. The refusals' matter lives in the event's JSON
details, which SQLite and PostgreSQL read differently: they are grouped by the details text
itself (few distinct values) and parsed here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Float, and_, case, cast, extract, func, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from anchoring.models import AnchorBatch, BatchState, OutboxEntry
from issuer.policy import REFUSAL_ACTION
from records.audit import AuditEvent
from records.models import Certificate, CertificateStatus
from storage.sessions import read_session
from verifier.models import ApiKey, VerificationLog

# The regulator's calendar: China Standard Time, UTC+8 all year.
CHINA_STANDARD_TIME = dt.timedelta(hours=8)

# SQLModel tables are SQLAlchemy tables: queried through Core, rows come back as tuples.
_CERTIFICATES = Certificate.__table__  # type: ignore[attr-defined]
_OUTBOX_ROWS = OutboxEntry.__table__  # type: ignore[attr-defined]
_BATCHES = AnchorBatch.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_LOGS = VerificationLog.__table__  # type: ignore[attr-defined]
_KEYS = ApiKey.__table__  # type: ignore[attr-defined]
_CERT, _OUTBOX, _BATCH, _AUDIT, _LOG, _KEY = (t.c for t in (_CERTIFICATES, _OUTBOX_ROWS, _BATCHES, _EVENTS, _LOGS,
                                                            _KEYS))


@dataclass(frozen=True)
class Totals:
    """The sum of several rows; the average delay is weighted by the anchored count."""

    issued: int = 0
    corrected: int = 0
    revoked: int = 0
    fee_exempt: int = 0
    policy_refusals: int = 0
    anchor_delay_avg_s: float | None = None
    anchor_delay_max_s: float | None = None
    verifications: int = 0
    anchored: int = 0
    pending_anchors: int = 0


@dataclass(frozen=True)
class _Place:
    office_code: str
    matter: str
    month: str  # YYYY-MM


@dataclass(frozen=True)
class MonthRow(Totals, _Place):
    """One office's figures for one matter in one month (see the module's definitions): its
    place (office, matter, month) first, then the figures of Totals."""


@dataclass
class _Acc:
    issued: int = 0
    corrected: int = 0
    revoked: int = 0
    fee_exempt: int = 0
    policy_refusals: int = 0
    verifications: int = 0
    anchored: int = 0
    pending_anchors: int = 0
    delay_sum: float = 0.0
    delay_max: float | None = None

    def add_delays(self, anchored: int, avg: float | None, mx: float | None) -> None:
        self.anchored += anchored
        if anchored and avg is not None:
            self.delay_sum += float(avg) * anchored
        if mx is not None:
            self.delay_max = float(mx) if self.delay_max is None else max(self.delay_max, float(mx))

    @property
    def delay_avg(self) -> float | None:
        return self.delay_sum / self.anchored if self.anchored else None


def _offset_minutes(utc_offset: dt.timedelta) -> int:
    seconds = utc_offset.total_seconds()
    if seconds % 60 or abs(seconds) > 14 * 3600:
        raise ValueError("utc_offset must be whole minutes, at most 14 hours either way")
    return int(seconds // 60)


def _month(column, dialect: str, minutes: int) -> ColumnElement:
    """``YYYY-MM`` of an aware timestamp column, in UTC shifted by ``minutes``. Literal
    throughout (no bound parameters), so the same expression in GROUP BY is the SELECT's."""
    if dialect == "postgresql":
        shifted = func.timezone(literal_column("'UTC'"), column) + literal_column(f"interval '{minutes} minutes'")
        return func.to_char(shifted, literal_column("'YYYY-MM'"))
    return func.strftime(literal_column("'%Y-%m'"), column, literal_column(f"'{minutes:+d} minutes'"))


def _seconds_between(later, earlier, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return cast(extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * literal_column("86400.0")


def _bounds(since: dt.date | None, until: dt.date | None,
            utc_offset: dt.timedelta) -> tuple[dt.datetime | None, dt.datetime | None]:
    zone = dt.timezone(utc_offset)
    start = dt.datetime.combine(since, dt.time(), tzinfo=zone) if since is not None else None
    end = dt.datetime.combine(until, dt.time(), tzinfo=zone) if until is not None else None
    return start, end


def _within(column, start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def monthly_statistics(engine: Engine, *, office: str | None = None, since: dt.date | None = None,
                       until: dt.date | None = None,
                       utc_offset: dt.timedelta = CHINA_STANDARD_TIME) -> list[MonthRow]:
    """The rows of every office (or of ``office``) with anything to count between ``since``
    (included) and ``until`` (excluded), ordered by month, office and matter. See the
    module's docstring for what each figure means."""
    dialect = engine.dialect.name
    minutes = _offset_minutes(utc_offset)
    start, end = _bounds(since, until, utc_offset)
    acc: dict[tuple[str, str, str], _Acc] = {}

    def row(office_code: str | None, matter: str | None, month: str) -> _Acc:
        return acc.setdefault((office_code or "", matter or "", month), _Acc())

    # Certificates issued, with their batch if it is confirmed.
    month = _month(_CERT.issued_at, dialect, minutes)
    delay = _seconds_between(_BATCH.confirmed_at, _CERT.issued_at, dialect)
    joined = _CERTIFICATES.outerjoin(_OUTBOX_ROWS, _OUTBOX.certificate_id == _CERT.id).outerjoin(
        _BATCHES, and_(_BATCH.id == _OUTBOX.batch_id, _BATCH.state == BatchState.CONFIRMED,
                              _BATCH.confirmed_at.is_not(None)))
    issued_q = select(
        _CERT.office_code, _CERT.matter, month, func.count(),
        func.sum(case((_CERT.supersedes.is_not(None), 1), else_=0)),
        func.sum(case((_CERT.fee_exempt, 1), else_=0)),
        func.count(delay), func.avg(delay), func.max(delay),
    ).select_from(joined).where(*_within(_CERT.issued_at, start, end))
    # Revocations, by when they happened.
    revoked_month = _month(_CERT.revoked_at, dialect, minutes)
    revoked_q = select(_CERT.office_code, _CERT.matter, revoked_month, func.count()).where(
        _CERT.status == CertificateStatus.REVOKED, _CERT.revoked_at.is_not(None),
        *_within(_CERT.revoked_at, start, end))
    # Refusals: the matter is in the details (JSON), grouped as text and read below.
    refused_month = _month(_AUDIT.at, dialect, minutes)
    refused_q = select(_AUDIT.office_code, _AUDIT.target, _AUDIT.details, refused_month, func.count()).where(
        _AUDIT.action == REFUSAL_ACTION, *_within(_AUDIT.at, start, end))
    # Verifications of the office's certificates.
    verified_month = _month(_LOG.at, dialect, minutes)
    verified_q = select(_CERT.office_code, _CERT.matter, verified_month, func.count()).select_from(
        _LOGS.join(_CERTIFICATES, _CERT.id == _LOG.certificate_id)).where(*_within(_LOG.at, start, end))
    if office is not None:
        issued_q = issued_q.where(_CERT.office_code == office)
        revoked_q = revoked_q.where(_CERT.office_code == office)
        refused_q = refused_q.where(_AUDIT.office_code == office)
        verified_q = verified_q.where(_CERT.office_code == office)
    issued_q = issued_q.group_by(_CERT.office_code, _CERT.matter, month)
    revoked_q = revoked_q.group_by(_CERT.office_code, _CERT.matter, revoked_month)
    refused_q = refused_q.group_by(_AUDIT.office_code, _AUDIT.target, _AUDIT.details, refused_month)
    verified_q = verified_q.group_by(_CERT.office_code, _CERT.matter, verified_month)

    with read_session(engine) as s:
        for office_code, matter, m, issued, corrected, exempt, anchored, avg, mx in s.execute(issued_q):
            r = row(office_code, matter, m)
            r.issued += issued
            r.corrected += int(corrected or 0)
            r.fee_exempt += int(exempt or 0)
            r.pending_anchors += issued - anchored
            r.add_delays(anchored, avg, mx)
        for office_code, matter, m, n in s.execute(revoked_q):
            row(office_code, matter, m).revoked += n
        for office_code, target, details, m, n in s.execute(refused_q):
            try:
                matter = json.loads(details).get("matter") or target
            except (ValueError, AttributeError):
                matter = target
            row(office_code, str(matter), m).policy_refusals += n
        for office_code, matter, m, n in s.execute(verified_q):
            row(office_code, matter, m).verifications += n

    return [MonthRow(office_code=o, matter=mt, month=m, issued=a.issued, corrected=a.corrected, revoked=a.revoked,
                     fee_exempt=a.fee_exempt, policy_refusals=a.policy_refusals, anchor_delay_avg_s=a.delay_avg,
                     anchor_delay_max_s=a.delay_max, verifications=a.verifications, anchored=a.anchored,
                     pending_anchors=a.pending_anchors)
            for (o, mt, m), a in sorted(acc.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1]))]


def _total(rows: Iterable[MonthRow]) -> Totals:
    a = _Acc()
    for r in rows:
        a.issued += r.issued
        a.corrected += r.corrected
        a.revoked += r.revoked
        a.fee_exempt += r.fee_exempt
        a.policy_refusals += r.policy_refusals
        a.verifications += r.verifications
        a.pending_anchors += r.pending_anchors
        a.add_delays(r.anchored, r.anchor_delay_avg_s, r.anchor_delay_max_s)
    return Totals(issued=a.issued, corrected=a.corrected, revoked=a.revoked, fee_exempt=a.fee_exempt,
                  policy_refusals=a.policy_refusals, anchor_delay_avg_s=a.delay_avg, anchor_delay_max_s=a.delay_max,
                  verifications=a.verifications, anchored=a.anchored, pending_anchors=a.pending_anchors)


def totals(rows: Iterable[MonthRow]) -> Totals:
    """Every row added up."""
    return _total(rows)


def totals_by_office(rows: Iterable[MonthRow]) -> dict[str, Totals]:
    """Each office's rows added up, by office code in order."""
    grouped: dict[str, list[MonthRow]] = {}
    for r in rows:
        grouped.setdefault(r.office_code, []).append(r)
    return {k: _total(grouped[k]) for k in sorted(grouped)}


def totals_by_matter(rows: Iterable[MonthRow]) -> dict[str, Totals]:
    """Each matter's rows added up, by matter key in order."""
    grouped: dict[str, list[MonthRow]] = {}
    for r in rows:
        grouped.setdefault(r.matter, []).append(r)
    return {k: _total(grouped[k]) for k in sorted(grouped)}


def totals_by_month(rows: Iterable[MonthRow], months: Iterable[str] | None = None) -> dict[str, Totals]:
    """Each month's rows added up, in order. ``months`` (e.g. ``month_range(since, until)``):
    these months are all present, those without rows as zeros, so that a chart has no gaps."""
    grouped: dict[str, list[MonthRow]] = {m: [] for m in months or ()}
    for r in rows:
        grouped.setdefault(r.month, []).append(r)
    return {k: _total(grouped[k]) for k in sorted(grouped)}


def month_range(since: dt.date, until: dt.date) -> list[str]:
    """The months (``YYYY-MM``) of the days from ``since`` (included) to ``until`` (excluded)."""
    if until <= since:
        return []
    last = until - dt.timedelta(days=1)
    months = []
    year, month = since.year, since.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def verifications_by_key(engine: Engine, since: dt.date | None = None, until: dt.date | None = None, *,
                         office: str | None = None,
                         utc_offset: dt.timedelta = CHINA_STANDARD_TIME) -> list[tuple[str, int]]:
    """How many items each registry or court verified through the batch API between
    ``since`` (included) and ``until`` (excluded), by the API key's name (keys that share a
    name, e.g. one replacing another, count together), most first. Every logged item counts,
    found or not; with ``office``, only those about that office's certificates."""
    start, end = _bounds(since, until, utc_offset)
    n = func.count(_LOG.id)
    source = _LOGS.join(_KEYS, _KEY.id == _LOG.api_key_id)
    query = select(_KEY.name, n).where(*_within(_LOG.at, start, end))
    if office is not None:
        source = source.join(_CERTIFICATES, _CERT.id == _LOG.certificate_id)
        query = query.where(_CERT.office_code == office)
    query = query.select_from(source).group_by(_KEY.name)
    with read_session(engine) as s:
        counted = [(str(name), int(count)) for name, count in s.execute(query)]
    return sorted(counted, key=lambda kv: (-kv[1], kv[0]))
