"""The document part of verification: parse the PDF and check its signature. A pure
function of the bytes and the trust roots, so it can run in a sandboxed process and its
result can be cached by the file's SHA-256."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509

from .checks import signature_checks
from .intake import open_signed_pdf
from .report import Check


@dataclass(frozen=True)
class PdfAnalysis:
    candidate_digests: list[str]
    integrity: Check
    trust: Check
    timestamp: Check
    signer_name: str | None
    signer_cert_der: bytes | None
    claimed_time: dt.datetime | None
    timestamp_time: dt.datetime | None

    @property
    def signer_cert(self) -> asn1_x509.Certificate | None:
        return asn1_x509.Certificate.load(self.signer_cert_der) if self.signer_cert_der else None

    @property
    def best_time(self) -> dt.datetime | None:
        return self.timestamp_time or self.claimed_time


def analyse_pdf(data: bytes, trust_roots_der: list[bytes], max_bytes: int, crls_der: list[bytes] = ()) -> PdfAnalysis:
    """Raises a VerifierError (a 4xx) for input that is not a readable, signed PDF."""
    pdf = open_signed_pdf(data, max_bytes)
    sig = next((s for s in pdf.signatures if s.sig_object_type == "/Sig"), pdf.signatures[0])
    roots = [asn1_x509.Certificate.load(d) for d in trust_roots_der]
    archive = next((s for s in pdf.signatures if s.sig_object_type == "/DocTimeStamp"), None)
    facts = signature_checks(sig, roots, crls_der, archive)
    return PdfAnalysis(
        candidate_digests=pdf.candidate_digests(), integrity=facts.integrity, trust=facts.trust,
        timestamp=facts.timestamp, signer_name=facts.signer_name,
        signer_cert_der=facts.signer_cert.dump() if facts.signer_cert is not None else None,
        claimed_time=facts.claimed_time, timestamp_time=facts.timestamp_time,
    )
