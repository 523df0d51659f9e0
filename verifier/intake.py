"""Turn untrusted bytes into a parsed, signed PDF, or a specific 4xx error."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from .errors import EmptyUpload, EncryptedPdf, MalformedPdf, NotAPdf, PdfTooComplex, UnsignedPdf, UploadTooLarge

# The PDF header may follow some junk, but within the first KiB (ISO 32000-1, 7.5.2 note).
HEADER_WINDOW = 1024
MAX_SIGNATURES = 16
# A notarial certificate has a handful of pages and a few hundred objects.
MAX_PAGES = 50
MAX_OBJECTS = 20_000
# Issued, signed, DSS and archive timestamp, then a renewal every few years.
MAX_REVISIONS = 100

# pyHanko logs every parse problem of a hostile file at WARNING; the caller reports them.
logging.getLogger("pyhanko.pdf_utils").setLevel(logging.ERROR)


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    reader: PdfFileReader
    signatures: list[EmbeddedPdfSignature]

    def candidate_digests(self) -> list[str]:
        """SHA-256 of the file, then of each earlier revision that ends where a signature's
        byte range ends (a file later extended by incremental updates, e.g. LTV data)."""
        digests = [hashlib.sha256(self.data).hexdigest()]
        ends = []
        for sig in self.signatures:
            try:
                br = [int(v) for v in sig.byte_range]
                ends.append(br[2] + br[3])
            except (TypeError, ValueError, IndexError, KeyError):
                continue  # a damaged /ByteRange: the integrity check reports it
        # A certificate issued at B-LTA ends with the DSS revision after its document
        # timestamp, not at a signature's end: every revision's end is a candidate too.
        # A signature's range usually ends where its revision does: hash each cut once.
        for end in dict.fromkeys(ends + self.revision_ends()):
            if 0 < end < len(self.data):
                d = hashlib.sha256(self.data[:end]).hexdigest()
                if d not in digests:
                    digests.append(d)
        return digests

    def revision_ends(self) -> list[int]:
        """Byte offsets where each revision ends: after the %%EOF (and its line end) that
        follows the revision's cross-reference data."""
        ends = []
        xrefs = self.reader.xrefs
        for revision in range(xrefs.total_revisions):
            start = xrefs.get_xref_container_info(revision).end_location
            eof = self.data.find(b"%%EOF", start)
            if eof < 0:
                continue
            end = eof + 5
            for newline in (b"\r\n", b"\n", b"\r"):
                if self.data.startswith(newline, end):
                    end += len(newline)
                    break
            ends.append(end)
        return ends


def upload_too_large(limit: int) -> UploadTooLarge:
    mb = f"{limit / (1024 * 1024):g}"
    return UploadTooLarge(f"the file is larger than the {mb} MB limit", f"文件超过 {mb} MB 的上限")


def check_size(data: bytes, limit: int) -> None:
    if len(data) > limit:
        raise upload_too_large(limit)


def _check_complexity(reader: PdfFileReader) -> None:
    if reader.xrefs.total_revisions > MAX_REVISIONS:
        # Revision-by-revision analysis is quadratic in their number (pyHanko's and ours).
        raise PdfTooComplex(f"the PDF has more than {MAX_REVISIONS} revisions", f"该 PDF 的修订版本超过 {MAX_REVISIONS} 个")
    total = sum(len(reader.xrefs.explicit_refs_in_revision(r)) for r in range(reader.xrefs.total_revisions))
    if total > MAX_OBJECTS:
        raise PdfTooComplex(f"the PDF has more than {MAX_OBJECTS:,} objects", f"该 PDF 对象数量超过 {MAX_OBJECTS:,} 个")
    pages = reader.root["/Pages"].get("/Count", 0)
    if not isinstance(pages, int) or pages > MAX_PAGES:
        raise PdfTooComplex(f"the PDF has more than {MAX_PAGES} pages", f"该 PDF 超过 {MAX_PAGES} 页")


def open_signed_pdf(data: bytes, max_bytes: int) -> SignedPdf:
    if not data:
        raise EmptyUpload("the uploaded file is empty", "上传的文件是空的")
    check_size(data, max_bytes)
    if b"%PDF-" not in data[:HEADER_WINDOW]:
        raise NotAPdf("the file is not a PDF document", "该文件不是 PDF 文件")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            raise EncryptedPdf(
                "the PDF is encrypted; a notarial certificate is never encrypted",
                "该 PDF 已加密，电子公证书不会加密",
            )
        _check_complexity(reader)
        signatures = list(reader.embedded_signatures)
    except (EncryptedPdf, PdfTooComplex):
        raise
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError, EOFError) as exc:
        raise MalformedPdf(
            "the PDF is damaged or truncated and cannot be read",
            "该 PDF 文件已损坏或不完整，无法读取",
        ) from exc
    if not signatures:
        raise UnsignedPdf(
            "the PDF has no electronic signature, so it is not an electronic notarial certificate",
            "该 PDF 没有电子签名，不是电子公证书",
        )
    if len(signatures) > MAX_SIGNATURES:
        raise MalformedPdf("the PDF has too many signatures", "该 PDF 的签名数量异常")
    return SignedPdf(data, reader, signatures)
