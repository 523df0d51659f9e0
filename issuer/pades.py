"""PAdES signing of the rendered certificate with pyHanko."""

from __future__ import annotations

import asyncio
import io
from contextlib import nullcontext
from concurrent.futures import ThreadPoolExecutor

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper

from keys.store import OfficeSigner

SIGNATURE_FIELD = "NotarySignature"
# Room for the CMS blob (EC signature + three certificates, plus an RFC 3161 token with
# the TSA's RSA certificate for B-T). Giving it up front spares pyHanko a second signing
# pass to size the signature (DESIGN.md: ~2x throughput).
BYTES_RESERVED_B = 8192
BYTES_RESERVED_T = 16384


def _pdf_signer(office: OfficeSigner, office_name: str, timestamper: TimeStamper | None) -> signers.PdfSigner:
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="电子公证书 Electronic notarial certificate",
        location=office_name,
        name=office_name,
    )
    return signers.PdfSigner(meta, signer=office.signer, timestamper=timestamper)


def sign_pdf(pdf: bytes, office: OfficeSigner, office_name: str, timestamper: TimeStamper | None = None) -> bytes:
    """PAdES signature over the whole document: B-T with a ``timestamper``, else B-B.

    pyHanko's synchronous API runs its own event loop (``asyncio.run``), which fails inside
    a running loop; called from one (async code, or a test driving a browser), the signing
    moves to a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _sign_blocking(pdf, office, office_name, timestamper)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_sign_blocking, pdf, office, office_name, timestamper).result()


def _reserved(timestamper: TimeStamper | None) -> int:
    return BYTES_RESERVED_T if timestamper is not None else BYTES_RESERVED_B


def _sign_blocking(pdf: bytes, office: OfficeSigner, office_name: str, timestamper: TimeStamper | None) -> bytes:
    signer = _pdf_signer(office, office_name, timestamper)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    with office.lock or nullcontext():
        out = signer.sign_pdf(writer, bytes_reserved=_reserved(timestamper))
    return out.getvalue()


async def async_sign_pdf(pdf: bytes, office: OfficeSigner, office_name: str,
                         timestamper: TimeStamper | None = None) -> bytes:
    """The same, for use inside a running event loop (FastAPI routes)."""
    signer = _pdf_signer(office, office_name, timestamper)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = await signer.async_sign_pdf(writer, bytes_reserved=_reserved(timestamper))
    return out.getvalue()
