"""The document part of verification: parse the PDF and check its signature. A pure
function of the bytes and the trust roots, so it can run in a sandboxed process and its
result can be cached by the file's SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509

from .checks import signature_checks
from .errors import MalformedPdf, UnsignedPdf
from .intake import SignedPdf, open_signed_pdf
from .report import Check, CheckName, CheckStatus
from .revisions import Change, audit_later_revisions


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


def analyse_pdf(data: bytes, trust_roots_der: list[bytes], max_bytes: int,
                crls_der: Sequence[bytes] = ()) -> PdfAnalysis:
    """Raises a VerifierError (a 4xx) for input that is not a readable, signed PDF. A file
    that was signed (it still carries a signature's /ByteRange) but whose signature or
    structure no longer reads is no such input: it is a FAILED document, reported so."""
    try:
        pdf = open_signed_pdf(data, max_bytes)
    except (MalformedPdf, UnsignedPdf) as exc:
        if b"/ByteRange" not in data:
            raise
        return _broken_signature(data, exc)
    # Signing order: the first signature is the office's certification; after it only
    # document timestamps may follow (a second signature of any other kind is a change).
    sig = pdf.signatures[0]
    roots = [asn1_x509.Certificate.load(d) for d in trust_roots_der]
    archives = [s for s in pdf.signatures[1:] if s.sig_object_type == "/DocTimeStamp"]
    changes = later_changes(pdf, sig)
    if sig.sig_object_type != "/Sig":
        changes.insert(0, Change(0, "the first signature is a timestamp, not the office's signature",
                                 "第一个签名是时间戳而非公证处签名"))
    for extra in pdf.signatures[1:]:
        if extra.sig_object_type != "/DocTimeStamp":
            changes.append(Change(extra.signed_revision, "a second signature was added after the office's signature",
                                  "公证处签名之后被添加了第二个签名"))
    facts = signature_checks(sig, roots, crls_der, archives, _unique(changes))
    return PdfAnalysis(
        candidate_digests=pdf.candidate_digests(), integrity=facts.integrity, trust=facts.trust,
        timestamp=facts.timestamp, signer_name=facts.signer_name,
        signer_cert_der=facts.signer_cert.dump() if facts.signer_cert is not None else None,
        claimed_time=facts.claimed_time, timestamp_time=facts.timestamp_time,
    )


def _broken_signature(data: bytes, exc: Exception) -> PdfAnalysis:
    """The analysis of a signed file whose signature no longer reads: removed, unlisted,
    or its structure damaged after signing (published Universal Signature Forgery and
    Incremental Saving Attack variants open in viewers all the same)."""
    what = ("the signature field was removed or its signature is unreadable" if isinstance(exc, UnsignedPdf)
            else "the file's structure was damaged after signing")
    zh = "签名域被删除或签名无法读取" if isinstance(exc, UnsignedPdf) else "文件结构在签署后被破坏"
    return PdfAnalysis(
        candidate_digests=[hashlib.sha256(data).hexdigest()],
        integrity=Check.of(CheckName.DOCUMENT_INTEGRITY, CheckStatus.INVALID, "SIGNATURE_BROKEN",
                           changes=[Change(-1, what, zh).as_dict()]),
        trust=Check.of(CheckName.SIGNER_TRUST, CheckStatus.SKIPPED, "SIGNER_NOT_CHECKED"),
        timestamp=Check.of(CheckName.TIMESTAMP, CheckStatus.SKIPPED, "NOT_CHECKED"),
        signer_name=None, signer_cert_der=None, claimed_time=None, timestamp_time=None,
    )


def later_changes(pdf: SignedPdf, sig) -> list[Change]:
    """What the revisions after the certification signature change, beyond LTV data."""
    try:
        signed_revision = sig.signed_revision
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        return [Change(0, f"the signature's revision cannot be found ({type(exc).__name__})",
                       "无法确定签名所覆盖的修订版本")]
    return audit_later_revisions(pdf.reader, pdf.data, signed_revision)


def _unique(changes: list[Change]) -> list[Change]:
    seen: dict[tuple[str, str], Change] = {}
    for c in changes:
        seen.setdefault((c.en, c.zh), c)
    return list(seen.values())
