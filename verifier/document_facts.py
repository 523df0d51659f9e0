"""The document part of a stored certificate's report, checked once and kept.

A lookup by id, fingerprint or number asks about a PDF this service holds. Its integrity,
signer trust and timestamp are the same at every lookup, so the full check of the stored
PDF (verifier.analysis, in the sandbox) runs at the first lookup and its result is kept in
``verifier_document_check``. It is checked again when its *basis* changes (other trust
roots, or revocation lists that revoke another certificate: re-signing a list with the same
entries changes nothing, or a new ``CHECKS_VERSION``), after ``MAX_AGE``, and when the signing
certificate expires, as validity depends on time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import crl as asn1_crl
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from keys.crl import crl_version
from keys.store import certificate_fingerprint
from storage.clock import utcnow
from storage.sessions import write_session

from .models import DocumentCheck
from .report import Check

log = logging.getLogger("notary.verifier")
MAX_AGE = dt.timedelta(days=1)
BASIS_SECONDS = 5.0  # a new revocation list reaches lookups within this
# Part of every basis: raise it when what a document check finds changes (a fix to the
# analysis reaches kept checks at once, not a day later).
CHECKS_VERSION = "1"


@dataclass(frozen=True)
class DocumentFacts:
    """What the stored PDF's signature says: the first three checks of the report."""

    integrity: Check
    trust: Check
    timestamp: Check
    signer_name: str | None
    signer_fingerprint: bytes | None
    claimed_time: dt.datetime | None
    timestamp_time: dt.datetime | None
    signer_not_after: dt.datetime | None = None  # the check is kept no longer than this

    @property
    def best_time(self) -> dt.datetime | None:
        return self.timestamp_time or self.claimed_time

    @property
    def checks(self) -> list[Check]:
        return [self.integrity, self.trust, self.timestamp]


class Basis:
    """The trust roots and revoked certificates a document check was made under, as one
    digest; read again from the revocation lists every ``BASIS_SECONDS``."""

    def __init__(self, trust_roots_der: list[bytes], crls: Callable[[], list[bytes]] | None):
        self._roots = hashlib.sha256(b"".join(sorted(trust_roots_der))).digest()
        self._crls = crls
        self._lock = threading.Lock()
        self._cached: tuple[float, str, str] | None = None  # (when, crl version, digest)

    def current(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < BASIS_SECONDS:
                return self._cached[2]
            crls = self._crls() if self._crls is not None else []
            version = crl_version(crls)
            if self._cached is not None and self._cached[1] == version:
                digest = self._cached[2]
            else:
                revoked = "\n".join(sorted(revoked_entries(crls)))
                digest = hashlib.sha256(self._roots + f"{CHECKS_VERSION}\n{revoked}".encode()).hexdigest()
            self._cached = (now, version, digest)
            return digest


def revoked_entries(crls: list[bytes]) -> set[str]:
    """Every (issuer, serial) the lists revoke, as text: what a trust decision depends on."""
    entries = set()
    for der in crls:
        tbs = asn1_crl.CertificateList.load(der)["tbs_cert_list"]
        issuer = tbs["issuer"].sha256.hex()
        for revoked in tbs["revoked_certificates"] or []:
            entries.add(f"{issuer}:{revoked['user_certificate'].native}")
    return entries


def kept_facts(row: DocumentCheck | None, basis: str) -> DocumentFacts | None:
    """A certificate's kept document check, if it is still good for ``basis``."""
    if row is None or row.basis != basis or row.valid_until <= utcnow():
        return None
    integrity, trust, timestamp = (Check.model_validate(c) for c in json.loads(row.checks_json))
    return DocumentFacts(integrity, trust, timestamp, row.signer_name,
                         bytes.fromhex(row.signer_fingerprint) if row.signer_fingerprint else None,
                         row.claimed_time, row.timestamp_time)


def keep_facts(engine, certificate_id: uuid.UUID, basis: str, facts: DocumentFacts) -> None:
    """Keep (or replace) a certificate's document check. Two lookups of a new certificate
    at once both check it; the second to write is simply dropped."""
    now = utcnow()
    # Validity depends on time: a signing certificate that expires is checked again then.
    until = min(now + MAX_AGE, facts.signer_not_after) if facts.signer_not_after else now + MAX_AGE
    row = DocumentCheck(certificate_id=certificate_id, basis=basis, checked_at=now, valid_until=until,
                        signer_name=facts.signer_name,
                        signer_fingerprint=facts.signer_fingerprint.hex() if facts.signer_fingerprint else None,
                        claimed_time=facts.claimed_time, timestamp_time=facts.timestamp_time,
                        checks_json=json.dumps([c.model_dump(mode="json") for c in facts.checks]))
    try:
        with write_session(engine) as s:
            s.merge(row)
            s.commit()
    except IntegrityError:
        pass
    except SQLAlchemyError as exc:  # keeping it only saves the next lookup some work
        log.warning("document check not kept: %s", type(exc).__name__)


def facts_of_analysis(analysis) -> DocumentFacts:
    """The kept form of a full analysis (verifier.analysis.PdfAnalysis)."""
    cert = analysis.signer_cert
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native if cert is not None else None
    return DocumentFacts(analysis.integrity, analysis.trust, analysis.timestamp, analysis.signer_name,
                         certificate_fingerprint(cert) if cert is not None else None,
                         analysis.claimed_time, analysis.timestamp_time, not_after)
