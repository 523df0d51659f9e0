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


def format_number(year: int, office_abbrev: str, serial: int) -> str:
    return f"({year}){office_abbrev}证字第{serial:06d}号"


def mask_number(number: str) -> str:
    """Public form: keeps year and office, hides most of the serial, e.g. (2026)沪东证字第0001**号."""
    head, sep, tail = number.partition("第")
    if not sep or len(tail) < 3:
        return number
    digits = tail.rstrip("号")
    return f"{head}第{digits[:-2]}**号"


def file_name(number: str) -> str:
    """A file name for the certificate with this number: ``2026-沪东证字第000123号.pdf``
    (brackets dropped; nothing a shell or another operating system would stumble on)."""
    safe = number.replace("（", "(").replace("）", ")").replace("(", "").replace(")", "-", 1)
    return "".join(ch for ch in safe if ch.isalnum() or ch in "-_") + ".pdf"
