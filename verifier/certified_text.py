"""What a preservation certificate (保全证书) certifies about the evidence, read from the
text of its signed pages: the SHA-256 fingerprint and the time of the trusted timestamp.

The certificate carries its data only as printed text (records/matters/evidence.py,
``statement``), so that is what is read, and only from a PDF whose office signature has
been checked. Whether it is a preservation certificate at all is the document's subject,
which the office sets (issuer/render.py), never text a submitter typed. The statement's
own phrases anchor the reading; the submitter's free text (name, description) sits on the
same pages and could repeat a phrase with another fingerprint, so each phrase must occur
exactly once, or the reading is ambiguous and nothing is taken from it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import pypdfium2 as pdfium

from records.matters.evidence import CHINA, EvidencePreservationInput

# The Chinese statement's phrases (EvidencePreservationInput.statement); a paragraph of up
# to three lines is never split over two pages, so each reads whole once spaces are removed.
FINGERPRINT_PHRASE = "该电子数据的SHA-256数字指纹为："
TIMESTAMP_PHRASE = "可信时间戳证明该数字指纹于"
_TIME = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日(\d{2}):(\d{2}):(\d{2})（北京时间）已经存在")
_HEX64 = re.compile(r"[0-9a-f]{64}(?![0-9a-f])")
MAX_TEXT_PAGES = 50


@dataclass(frozen=True)
class EvidenceClaims:
    """``kind``: "preservation" (both read), "other" (not a preservation certificate),
    "ambiguous" (a phrase occurs more than once) or "unreadable"."""

    kind: str
    sha256: str | None = None
    timestamp_time: dt.datetime | None = None  # to the second, as printed (Beijing time)


def page_text(pdf: bytes, max_pages: int = MAX_TEXT_PAGES) -> str:
    """The text of the pages, in drawing order, with every space and line break removed
    (a fingerprint wraps over lines)."""
    return document_text(pdf, max_pages)[1]


def document_text(pdf: bytes, max_pages: int = MAX_TEXT_PAGES) -> tuple[str, str]:
    """The document's subject (its information dictionary's) and its pages' text as
    :func:`page_text` gives it."""
    doc = pdfium.PdfDocument(pdf)
    try:
        subject = str(doc.get_metadata_dict().get("Subject", ""))
        parts = []
        for index in range(min(len(doc), max_pages)):
            page = doc[index]
            try:
                text = page.get_textpage()
                try:
                    parts.append(text.get_text_range())
                finally:
                    text.close()
            finally:
                page.close()
    finally:
        doc.close()
    return subject, "".join(ch for ch in "".join(parts) if not ch.isspace() and ch.isprintable())


def statement_phrase_in(text: str) -> str | None:
    """The statement phrase (fingerprint or timestamp) that ``text`` holds, read as this
    module reads a page (spaces and unprintable characters dropped) and after NFKC, so
    that full-width or spaced look-alikes count too; None when it holds neither. Free text
    that holds one would make the certificate state a second fingerprint or time: for a
    reader, and for the evidence package, which is then ambiguous and never passes."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace() and ch.isprintable())
    return next((phrase for phrase in (FINGERPRINT_PHRASE, TIMESTAMP_PHRASE)
                 if unicodedata.normalize("NFKC", phrase) in folded), None)


def evidence_claims(pdf: bytes) -> EvidenceClaims:
    """The fingerprint and timestamp time a certificate's signed pages state."""
    try:
        subject, text = document_text(pdf)
    except pdfium.PdfiumError:
        return EvidenceClaims("unreadable")
    if subject != EvidencePreservationInput.title_zh:
        return EvidenceClaims("other")  # whatever its free text says
    fingerprints, times = text.count(FINGERPRINT_PHRASE), text.count(TIMESTAMP_PHRASE)
    if fingerprints > 1 or times > 1:
        return EvidenceClaims("ambiguous")
    digest = _HEX64.match(text, text.find(FINGERPRINT_PHRASE) + len(FINGERPRINT_PHRASE)) if fingerprints else None
    when = _TIME.match(text, text.find(TIMESTAMP_PHRASE) + len(TIMESTAMP_PHRASE)) if times else None
    if digest is None or when is None:
        return EvidenceClaims("unreadable")
    year, month, day, hour, minute, second = (int(g) for g in when.groups())
    try:
        at = dt.datetime(year, month, day, hour, minute, second, tzinfo=CHINA)
    except ValueError:
        return EvidenceClaims("unreadable")
    return EvidenceClaims("preservation", digest.group(0), at)
