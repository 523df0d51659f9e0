"""Certificate numbers in the notarial style, e.g. ``(2026)沪东证字第000123号``.

Serials are per office and per year and gap-free, but no transaction stays open while a
certificate is rendered, signed and timestamped (seconds, and a network call). So a number
goes through three short transactions:

1. **reserve**: the counter row is locked for a moment; numbers given back earlier are
   taken first (lowest first), then the counter moves on. Each reserved number is a
   ``number_reservation`` row naming its holder, this process.
2. **consume**: the transaction that stores the certificate deletes the reservation (only
   if this process still holds it), so a number is on a certificate or reserved, never both
   and never lost.
3. **release** (the signing failed): the number is given back; numbers given back at the top
   of the counter are taken off it, so a failure leaves the counter as it was.

A holder that died (a SIGKILL between reserve and consume) leaves its numbers reserved;
the next reservation finds them, sees the holder gone (processes.holder) and hands them out
again, so the hole closes with the next certificate. A number given back after its year
ended can never be issued (a certificate carries its real date): the first reservation of
the new year voids it (作废), with an audit event, so every number is accounted for.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from processes.holder import holder_gone, new_holder
from records import audit
from storage.clock import database_now
from storage.sessions import write_session

from .errors import NumberReservationLost
from .models import CertificateCounter, NumberReservation

log = logging.getLogger(__name__)

VOID = "void"  # the holder of a number voided because its year ended unissued
RELEASE_RETRIES = (1, 5, 30, 120, 600)  # seconds before each new try to give numbers back


@dataclass
class Reservation:
    """Serials reserved by this process for one issuance (in the order they are used)."""

    office_code: str
    year: int
    serials: list[int]
    holder: str = field(default_factory=new_holder)
    consumed: bool = False

    def consume(self, s: Session) -> None:
        """Delete the reservation in the storing transaction ``s``; raises
        NumberReservationLost if another process took the numbers back meanwhile (this
        one was judged gone), and then nothing may be stored."""
        result = s.execute(delete(NumberReservation).where(
            col(NumberReservation.office_code) == self.office_code, col(NumberReservation.year) == self.year,
            col(NumberReservation.serial).in_(self.serials), col(NumberReservation.holder) == self.holder))
        if result.rowcount != len(self.serials):  # type: ignore[attr-defined]  # CursorResult
            raise NumberReservationLost()
        self.consumed = True


def reserve(engine: Engine, office_code: str, year: int, count: int = 1) -> Reservation:
    """Reserve ``count`` serials in one short transaction: numbers given back or left by a
    dead holder first, lowest first, then new ones from the counter."""
    if count < 1:
        raise ValueError("count must be at least 1")
    holder = new_holder()
    with write_session(engine) as s:
        now = database_now(s)
        last = _lock_counter(s, office_code, year)
        _void_ended_years(s, office_code, year, now)
        taken: list[int] = []
        candidates = _reclaimable(s, office_code, year, now)
        if candidates:
            # Only rows still free or still held by the holder judged gone: a holder that
            # committed its certificate at this very moment keeps its number (RETURNING).
            wanted = sorted(candidates)[:count]
            taken = sorted(s.execute(update(NumberReservation).where(
                col(NumberReservation.office_code) == office_code, col(NumberReservation.year) == year,
                col(NumberReservation.serial).in_(wanted),
                or_(col(NumberReservation.holder).is_(None),
                    col(NumberReservation.holder).in_({candidates[n] for n in wanted if candidates[n]})))
                .values(holder=holder, reserved_at=now).returning(col(NumberReservation.serial))).scalars())
        fresh = list(range(last + 1, last + 1 + count - len(taken)))
        if fresh:
            s.add_all([NumberReservation(office_code=office_code, year=year, serial=n, holder=holder, reserved_at=now)
                       for n in fresh])
            s.execute(update(CertificateCounter).where(
                col(CertificateCounter.office_code) == office_code, col(CertificateCounter.year) == year)
                .values(last_serial=fresh[-1]))
        s.commit()
    return Reservation(office_code, year, taken + fresh, holder)


def release(engine: Engine, reservation: Reservation, attempt: int = 0) -> None:
    """Give the reservation's numbers back. Numbers already stored are not touched: only
    rows this reservation still holds are given back. If the database cannot be reached
    now, this is tried again in the background: this process is alive, so no one else
    would take the numbers back until it ends."""
    try:
        with write_session(engine) as s:
            last = _lock_counter(s, reservation.office_code, reservation.year)
            s.execute(update(NumberReservation).where(
                col(NumberReservation.office_code) == reservation.office_code,
                col(NumberReservation.year) == reservation.year,
                col(NumberReservation.serial).in_(reservation.serials),
                col(NumberReservation.holder) == reservation.holder).values(holder=None))
            _trim(s, reservation.office_code, reservation.year, last)
            s.commit()
    except Exception:  # noqa: BLE001 - the issuance's own error is the one to report
        if attempt >= len(RELEASE_RETRIES):
            log.error("numbers %s of %s/%s could not be given back; they return when this process ends",
                      reservation.serials, reservation.office_code, reservation.year, exc_info=True)
            return
        log.warning("numbers %s of %s/%s could not be given back now; trying again in %s s",
                    reservation.serials, reservation.office_code, reservation.year, RELEASE_RETRIES[attempt])
        retry = threading.Timer(RELEASE_RETRIES[attempt], release, (engine, reservation, attempt + 1))
        retry.daemon = True
        retry.start()


@contextmanager
def reserved(engine: Engine, office_code: str, year: int, count: int = 1) -> Iterator[Reservation]:
    """A reservation given back if the block fails (even after consuming it: the storing
    transaction then rolled back, and the numbers are still reserved) or ends without
    consuming it."""
    reservation = reserve(engine, office_code, year, count)
    try:
        yield reservation
    except BaseException:
        release(engine, reservation)
        raise
    if not reservation.consumed:  # a caller that returned without storing
        release(engine, reservation)


def _lock_counter(s: Session, office_code: str, year: int) -> int:
    """The counter's last serial, its row locked for this transaction (created at 0)."""
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    s.execute(insert(CertificateCounter).values(office_code=office_code, year=year, last_serial=0)
              .on_conflict_do_nothing(index_elements=["office_code", "year"]))
    return int(s.exec(select(CertificateCounter.last_serial).where(
        col(CertificateCounter.office_code) == office_code, col(CertificateCounter.year) == year)
        .with_for_update()).one())


def _reclaimable(s: Session, office_code: str, year: int, now: dt.datetime) -> dict[int, str | None]:
    """The serials free for the taking: given back (None), or held by a holder that is gone
    (that holder, so the taking can check it still holds them)."""
    rows = s.exec(select(NumberReservation).where(
        col(NumberReservation.office_code) == office_code, col(NumberReservation.year) == year)).all()
    found: dict[int, str | None] = {}
    for r in rows:
        if r.holder is None:
            found[r.serial] = None
        elif r.holder != VOID and holder_gone(r.holder, r.reserved_at, now):
            found[r.serial] = r.holder
    gone = sorted(n for n, h in found.items() if h is not None)
    if gone:
        log.warning("numbers %s of %s/%s were reserved by a process that is gone; they are taken again",
                    gone, office_code, year)
    return found


def _void_ended_years(s: Session, office_code: str, year: int, now: dt.datetime) -> None:
    """Numbers of a year that has ended, given back or left by a dead holder, can never be
    issued (a certificate carries its real year): they are voided (作废), once, with an
    audit event, so the register accounts for every number."""
    rows = s.exec(select(NumberReservation).where(
        col(NumberReservation.office_code) == office_code, col(NumberReservation.year) < year,
        or_(col(NumberReservation.holder).is_(None), col(NumberReservation.holder) != VOID))).all()
    dead = [r for r in rows if r.holder is None or holder_gone(r.holder, r.reserved_at, now)]
    for r in dead:
        r.holder, r.reserved_at = VOID, now
        s.add(r)
    for ended in sorted({r.year for r in dead}):
        numbers = sorted(r.serial for r in dead if r.year == ended)
        audit.append(s, "system", "number.void", f"{office_code}/{ended}",
                     {"year": ended, "serials": numbers, "why": "given back after the year ended"}, office=office_code)
        log.warning("numbers %s of %s/%s were never issued and the year has ended: voided", numbers, office_code, ended)


def _trim(s: Session, office_code: str, year: int, last: int) -> None:
    """Take numbers given back at the top of the counter off it, so a failed issuance
    leaves the counter where it was."""
    free = set(s.exec(select(NumberReservation.serial).where(
        col(NumberReservation.office_code) == office_code, col(NumberReservation.year) == year,
        col(NumberReservation.holder).is_(None))).all())
    top = last
    while top in free:
        top -= 1
    if top != last:
        s.execute(delete(NumberReservation).where(
            col(NumberReservation.office_code) == office_code, col(NumberReservation.year) == year,
            col(NumberReservation.serial) > top))
        s.execute(update(CertificateCounter).where(
            col(CertificateCounter.office_code) == office_code, col(CertificateCounter.year) == year)
            .values(last_serial=top))
