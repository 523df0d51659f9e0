"""Reads of a certificate by a signed-in principal (API token or console session): the
principal's right to read it is checked, and the read is appended to the audit log before
anything is handed out (if the log cannot be written, the read fails rather than go
unrecorded)."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Engine
from sqlmodel import Session

from records import audit
from records.errors import CertificateNotFound
from records.models import Certificate, CertificateDocument

from .auth import Principal


def read_certificate(engine: Engine, who: Principal, certificate_id: uuid.UUID, action: str, *,
                     via: str | None = None) -> Certificate:
    """The certificate if ``who`` may read it (another office's is reported as missing), its
    read audited as ``action`` (``via``: the console, for the record)."""
    with Session(engine) as s:
        cert = s.get(Certificate, certificate_id)
    if cert is None:
        raise CertificateNotFound("no certificate with this id", "没有此编号的公证书")
    who.check_read(cert)
    audit.record(engine, who.actor, action, str(cert.id), {"number": cert.number, **({"via": via} if via else {})},
                 office=cert.office_code)
    return cert


def signed_pdf(engine: Engine, cert: Certificate) -> bytes:
    """The signed PDF as issued (read it with read_certificate first)."""
    with Session(engine) as s:
        doc = s.get(CertificateDocument, cert.id)
    assert doc is not None  # stored with the certificate, in the same transaction, never deleted
    return doc.pdf
