"""Certificate numbers in the notarial style, e.g. ``(2026)沪东证字第000123号``.

Serials are per office and per year, gap-free: the counter moves in the issuing
transaction, so a failed issuance rolls its number back with everything else.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from .models import CertificateCounter


def next_serial(session: Session, office_code: str, year: int) -> int:
    """Take the next serial in one atomic statement (it is also the transaction's first
    write, so concurrent issuers queue on the row rather than collide)."""
    return take_serials(session, office_code, year, 1)[0]


def take_serials(session: Session, office_code: str, year: int, count: int) -> range:
    """Take ``count`` consecutive serials in one atomic statement (for a batch)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(CertificateCounter)
        .values(office_code=office_code, year=year, last_serial=count)
        .on_conflict_do_update(
            index_elements=["office_code", "year"],
            set_={"last_serial": CertificateCounter.last_serial + count},
        )
        .returning(CertificateCounter.last_serial)
    )
    last = int(session.execute(stmt).scalar_one())
    return range(last - count + 1, last + 1)
