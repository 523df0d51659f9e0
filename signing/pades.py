"""PAdES signing of the rendered certificate with pyHanko.

Levels (ETSI EN 319 142-1): B-B (signature only), B-T (plus an RFC 3161 signature
timestamp, the default), B-LT (plus the certificates and CRLs needed to validate it, in the
document security store) and B-LTA (plus a document timestamp over all of that, so the
validation data itself is dated and the archive can be re-timestamped before algorithms
age).
"""

from __future__ import annotations

import asyncio
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from enum import StrEnum

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from keys.store import OfficeSigner


class _HandedOverRevocationData(logging.Filter):
    """pyHanko warns when validation data is embedded without fetching; here that is the
    design (the development CA's CRL is handed over), so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_HandedOverRevocationData())

SIGNATURE_FIELD = "NotarySignature"
ARCHIVE_TIMESTAMP_FIELD = "NotaryArchiveTimestamp"
class SignatureLevel(StrEnum):
    """PAdES baseline levels, in increasing order (ETSI EN 319 142-1)."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def long_term(self) -> bool:
        """B-LT and B-LTA embed the validation data (DSS)."""
        return self in (SignatureLevel.B_LT, SignatureLevel.B_LTA)

    def at_least(self, other: str) -> bool:
        return LEVELS.index(self) >= LEVELS.index(SignatureLevel(other))


LEVELS = tuple(SignatureLevel)
# Room for the CMS blob (EC signature + three certificates, plus an RFC 3161 token with
# the TSA's RSA certificate for B-T). Giving it up front spares pyHanko a second signing
# pass to size the signature (DESIGN.md: ~2x throughput).
BYTES_RESERVED_B = 8192
BYTES_RESERVED_T = 16384


@dataclass(frozen=True)
class LongTermMaterial:
    """What B-LT and B-LTA embed: the chain up to the trust roots and the current CRLs.

    ``crls`` empty: pyHanko fetches revocation data from the URLs in the certificates (a
    production CA); the development CA's CRL is handed over directly, so signing works
    whether or not the service that publishes it is running."""

    trust_roots: list[bytes] = field(repr=False)  # DER: the material crosses to signing processes
    crls: list[bytes] = field(repr=False, default_factory=list)
    archive_timestamp: bool = False  # B-LTA

    def validation_context(self) -> ValidationContext:
        # soft-fail: the TSA's certificate carries no revocation pointer; the office
        # certificate's CRL is embedded because it is given here.
        roots = [asn1_x509.Certificate.load(der) for der in self.trust_roots]
        return ValidationContext(trust_roots=roots, crls=list(self.crls), allow_fetching=not self.crls,
                                 revocation_mode="soft-fail")


def _pdf_signer(office: OfficeSigner, office_name: str, timestamper: TimeStamper | None,
                long_term: LongTermMaterial | None) -> signers.PdfSigner:
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="电子公证书 Electronic notarial certificate",
        location=office_name,
        name=office_name,
        # A certification signature that permits no changes (DocMDP P=1): a viewer shows the
        # document as certified, and anything but long-term-validation data added later
        # (DSS, document timestamps, which PAdES allows after P=1) breaks it.
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        embed_validation_info=long_term is not None,
        validation_context=long_term.validation_context() if long_term is not None else None,
        use_pades_lta=long_term is not None and long_term.archive_timestamp,
        timestamp_field_name=ARCHIVE_TIMESTAMP_FIELD if long_term is not None and long_term.archive_timestamp else None,
    )
    return signers.PdfSigner(meta, signer=office.signer, timestamper=timestamper)


def sign_pdf(pdf: bytes, office: OfficeSigner, office_name: str, timestamper: TimeStamper | None = None,
             long_term: LongTermMaterial | None = None) -> bytes:
    """PAdES certification signature over the whole document: B-T with a ``timestamper``, else B-B;
    B-LT / B-LTA with ``long_term`` (which needs a timestamper).

    pyHanko's synchronous API runs its own event loop (``asyncio.run``), which fails inside
    a running loop; called from one (async code, or a test driving a browser), the signing
    moves to a helper thread."""
    if long_term is not None and timestamper is None:
        raise ValueError("B-LT and B-LTA need a timestamper")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _sign_blocking(pdf, office, office_name, timestamper, long_term)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_sign_blocking, pdf, office, office_name, timestamper, long_term).result()


def _reserved(timestamper: TimeStamper | None) -> int:
    return BYTES_RESERVED_T if timestamper is not None else BYTES_RESERVED_B


def _sign_blocking(pdf: bytes, office: OfficeSigner, office_name: str, timestamper: TimeStamper | None,
                   long_term: LongTermMaterial | None) -> bytes:
    signer = _pdf_signer(office, office_name, timestamper, long_term)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    with office.lock or nullcontext():
        out = signer.sign_pdf(writer, bytes_reserved=_reserved(timestamper))
    return out.getvalue()


def level_of(pdf: bytes) -> SignatureLevel:
    """The PAdES level a certificate we issued was signed at, read back from the PDF (for
    certificates stored before the level was recorded): a document timestamp after the
    signature is B-LTA, a DSS without one B-LT, a signature timestamp B-T, else B-B."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = reader.embedded_signatures
    if any(s.sig_object.get("/Type") == "/DocTimeStamp" for s in signatures):
        return SignatureLevel.B_LTA
    if "/DSS" in reader.root:
        return SignatureLevel.B_LT
    if signatures:
        unsigned = signatures[0].signer_info["unsigned_attrs"]
        if unsigned.native and any(a["type"].native == "signature_time_stamp_token" for a in unsigned):
            return SignatureLevel.B_T
    return SignatureLevel.B_B
