"""What the database raises when it is restarting, unreachable or busy: an outage, nothing
the request did (answered 503 DATABASE_UNAVAILABLE, errors.DatabaseUnavailable)."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError

OUTAGES = (OperationalError, InterfaceError)
