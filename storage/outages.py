"""What the database raises when it is restarting, unreachable or busy: an outage, nothing
the request did (answered 503 DATABASE_UNAVAILABLE, errors.DatabaseUnavailable)."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeout

# The last: every pooled connection busy for the pool's timeout (a database that hangs).
OUTAGES = (OperationalError, InterfaceError, PoolTimeout)
