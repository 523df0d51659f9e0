"""The office's certificate search: by number, applicant name, ID number, issue date,
matter and status, narrowed to what the signed-in person may read (issuer.auth)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from issuer.auth import Principal
from records.models import Certificate
from records.lookups import normalise_number

PAGE_SIZE = 25
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class SearchQuery:
    number: str = ""
    name: str = ""
    id_number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    matter: str = ""
    status: str = ""
    page: int = 1

    @property
    def empty(self) -> bool:
        return not (self.number or self.name or self.id_number or self.date_from or self.date_to or self.matter
                    or self.status)


def _like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (its own % and _ match only themselves)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(engine: Engine, who: Principal, q: SearchQuery) -> tuple[list[Certificate], int]:
    """One page of matching certificates (newest first) and how many match in all."""
    query = who.visible(select(Certificate))
    if q.number:
        query = query.where(Certificate.number == normalise_number(q.number))
    if q.name:
        query = query.where(col(Certificate.applicant_name).like(f"%{_like(q.name)}%", escape="\\"))
    if q.id_number:
        value = q.id_number.strip().upper()
        if not ID_NUMBER.match(value):
            return [], 0
        # The ID number is in the stored data (JSON as pydantic wrote it): matched as a whole
        # value, never as a fragment, so a search cannot enumerate numbers digit by digit.
        query = query.where(col(Certificate.data_json).like(f'%"id_number":"{value}"%'))
    if q.date_from:
        query = query.where(Certificate.issued_at >= dt.datetime.combine(q.date_from, dt.time(), dt.UTC))
    if q.date_to:
        query = query.where(Certificate.issued_at < dt.datetime.combine(q.date_to + dt.timedelta(days=1), dt.time(),
                                                                        dt.UTC))
    if q.matter:
        query = query.where(Certificate.matter == q.matter)
    if q.status:
        query = query.where(Certificate.status == q.status)
    with Session(engine) as s:
        total = s.exec(select(func.count()).select_from(query.subquery())).one()
        rows = s.exec(query.order_by(col(Certificate.issued_at).desc())
                      .offset((q.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return list(rows), total
