"""PAdES signing of the rendered certificate with pyHanko."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from keys.store import OfficeSigner

SIGNATURE_FIELD = "NotarySignature"
# Room for the CMS blob (EC signature + three certificates). Giving it up front spares
# pyHanko a second signing pass to size the signature (DESIGN.md: ~2x throughput).
BYTES_RESERVED = 8192


def _pdf_signer(office: OfficeSigner, office_name: str) -> signers.PdfSigner:
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="电子公证书 Electronic notarial certificate",
        location=office_name,
        name=office_name,
    )
    return signers.PdfSigner(meta, signer=office.signer)


def sign_pdf(pdf: bytes, office: OfficeSigner, office_name: str) -> bytes:
    """PAdES B-B signature over the whole document.

    pyHanko's synchronous API runs its own event loop (``asyncio.run``), which fails inside
    a running loop; called from one (async code, or a test driving a browser), the signing
    moves to a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _sign_blocking(pdf, office, office_name)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_sign_blocking, pdf, office, office_name).result()


def _sign_blocking(pdf: bytes, office: OfficeSigner, office_name: str) -> bytes:
    signer = _pdf_signer(office, office_name)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = signer.sign_pdf(writer, bytes_reserved=BYTES_RESERVED)
    return out.getvalue()


async def async_sign_pdf(pdf: bytes, office: OfficeSigner, office_name: str) -> bytes:
    """The same, for use inside a running event loop (FastAPI routes)."""
    signer = _pdf_signer(office, office_name)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = await signer.async_sign_pdf(writer, bytes_reserved=BYTES_RESERVED)
    return out.getvalue()
