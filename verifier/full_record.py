"""The full certificate record, shown only to someone holding the access code: the
particulars and statement as certified, and previews of the pages to compare with a
printout."""

from __future__ import annotations

import base64
import io
import json

import pypdfium2 as pdfium

from errors import NotaryError
from pydantic import BaseModel

from records.matters import MATTERS
from records.translation import Untranslated
from records.models import Certificate

from .report import CertificateSummary

PREVIEW_DPI = 96
MAX_PREVIEW_PAGES = 4


class CertificateRecord(BaseModel):
    summary: CertificateSummary
    number: str
    particulars: list[tuple[str, str]]
    statement: list[str]
    statement_en: list[str] | None = None  # a translation for readers of English; the Chinese is the certificate
    notary: str
    revocation_note: str | None = None  # the clerk's words on a revocation: shown with the access code only
    previews: list[str] = []  # data: URIs of PNG page images


def page_previews(pdf: bytes, dpi: int = PREVIEW_DPI, max_pages: int = MAX_PREVIEW_PAGES) -> list[str]:
    """PNG images of the first ``max_pages`` pages, as data: URIs."""
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for index in range(min(len(doc), max_pages)):
            buf = io.BytesIO()
            doc[index].render(scale=dpi / 72).to_pil().save(buf, format="PNG", optimize=True)
            out.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
        return out
    finally:
        doc.close()


def full_record(cert: Certificate, summary: CertificateSummary, pdf: bytes | None = None) -> CertificateRecord:
    model = MATTERS[cert.matter]
    # A stored record is shown as it was issued, even if the text rules tightened since.
    matter = model.model_validate(json.loads(cert.data_json), context={"stored_record": True})
    return CertificateRecord(
        summary=summary, number=cert.number, particulars=matter.particulars(), statement=matter.statement(),
        statement_en=_translated(matter),
        notary=cert.notary, revocation_note=cert.revocation_note, previews=page_previews(pdf) if pdf else [],
    )


def _translated(matter) -> list[str] | None:
    """The statement in English, when every value in it can be put into English (free text
    recorded in Chinese only cannot: then the page shows the Chinese alone)."""
    try:
        return matter.statement_en()
    except (NotaryError, Untranslated, KeyError, ValueError):
        return None
