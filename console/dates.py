"""Dates as clerks type them: ISO days within the years certificates are dated in (beyond
them no certificate exists, and date arithmetic near year 1 or 9999 overflows)."""

from __future__ import annotations

import datetime as dt

FIRST_YEAR, LAST_YEAR = 1949, 2999


def in_calendar(day: dt.date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def parse_day(text: str | None, default: dt.date | None = None) -> dt.date | None:
    """``text`` as a date, or ``default`` for an empty, impossible or out-of-range one."""
    try:
        day = dt.date.fromisoformat(text) if text else None
    except ValueError:
        return default
    return day if day is not None and in_calendar(day) else default


CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")


def china_today() -> dt.date:
    """Today in China Standard Time, the calendar statistics and draws count in: from 16:00
    UTC the server's own date is still yesterday there."""
    return dt.datetime.now(CHINA_STANDARD_TIME).date()
