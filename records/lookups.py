"""Finding a certificate by what a person has in hand: its number (as typed), its id, or
the fingerprint of its PDF."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from .models import Certificate


def normalise_number(number: str) -> str:
    """Accept full-width brackets and stray spaces as typed by hand."""
    return number.strip().replace("（", "(").replace("）", ")").replace(" ", "")


def find_by_number(session: Session, number: str) -> Certificate | None:
    if "\x00" in number:  # no number holds one, and PostgreSQL refuses NUL in any text it is sent
        return None
    return session.exec(select(Certificate).where(Certificate.number == normalise_number(number))).first()


def find_by_reference(session: Session, reference: str) -> Certificate | None:
    """The certificate with this id (UUID) or number, as a clerk types either."""
    try:
        return session.get(Certificate, uuid.UUID(reference.strip()))
    except ValueError:
        return find_by_number(session, reference)


def find_by_digest(session: Session, digests: list[str]) -> Certificate | None:
    """The certificate whose issued PDF has one of these SHA-256 digests."""
    if not digests:
        return None
    return session.exec(select(Certificate).where(col(Certificate.document_sha256).in_(digests))).first()
