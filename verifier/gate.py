"""The guards every public verification route shares: per-client rate limits and upload
slots for work that costs (uploads, signed reports), access-code checks counted per
certificate and per client, the QR link's check, and the forgery leads these routes find
(verifier.leads: a failed upload, a lookup of a certificate that does not exist).

One gate serves the JSON API (verifier.api) and the pages (verifier.pages), so a limit
cannot be walked around by switching from one to the other."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from records import audit
from records.access import access_code_matches, hash_access_code
from records.check_codes import check_code, check_code_matches
from records.lookups import normalise_number
from records.models import Certificate

from . import leads
from .client_address import client_address, client_bucket, parse_networks
from .errors import EmptyUpload, NotAPdf, VerifierBusy, WrongAccessCode
from .intake import check_size, upload_too_large
from .microcache import MicroCache
from .ratelimit import make_limiters
from .report import Report
from .report_pdf import signed_report
from .service import VerifierContext, verify_digest, verify_pdf

PDF_TYPES = {"application/pdf", "application/octet-stream", "application/x-pdf"}
# What an unknown certificate's access code is compared with, so that it costs the same.
NO_CERTIFICATE = uuid.UUID(int=0)
DUMMY_HASH = hash_access_code(b"\x00" * 32, NO_CERTIFICATE, "AAAAAAAA")


class Gate:
    """``uploads_per_minute``: PDF uploads (and signed reports) a client may ask for;
    ``upload_slots``: those verified at once, each holding one worker thread, so they never
    take the threads that issuing and lookups run on (more wait, up to
    ``upload_wait_seconds``, then 503)."""

    def __init__(self, ctx: VerifierContext, qr_key: bytes, *, lookup_cache_seconds: float = 1.0,
                 redis_url: str | None = None, limits_prefix: str = "notary:", uploads_per_minute: float = 60,
                 upload_slots: int = 4, upload_wait_seconds: float = 30.0, trusted_proxies: Sequence[str] = ()) -> None:
        self.ctx, self.qr_key = ctx, qr_key
        self.limiter, failures = make_limiters(redis_url, limits_prefix)
        # Per certificate (or number asked for): many addresses cannot share out the guesses.
        # Per client, more generous: a court behind one proxy address is many people.
        self.per_certificate = failures
        self.per_client = make_limiters(redis_url, limits_prefix + "client:", max_failures=100)[1]
        self.proxies = parse_networks(list(trusted_proxies))
        self.lookups = MicroCache(lookup_cache_seconds)
        self.slots = anyio.CapacityLimiter(upload_slots)
        self.uploads_per_minute, self.upload_wait_seconds = uploads_per_minute, upload_wait_seconds

    def client(self, request: Request) -> str:
        """The key a client's requests are counted under (see client_address, client_bucket)."""
        return client_bucket(client_address(request, self.proxies))

    def count_upload(self, request: Request) -> None:
        """One upload (or signed report) of this client: 429 past its allowance a minute."""
        self.limiter.take(f"upload:{self.client(request)}", 1, self.uploads_per_minute)

    async def _in_slot(self, work: Callable[[], Any]) -> Any:
        try:
            with anyio.fail_after(self.upload_wait_seconds):
                await self.slots.acquire()
        except TimeoutError:
            raise VerifierBusy("the verifier is busy; try again shortly", "核验服务繁忙，请稍后再试") from None
        try:
            # pyHanko's synchronous validation runs its own event loop: keep it off ours.
            return await run_in_threadpool(work)
        finally:
            self.slots.release()

    async def verify_uploaded(self, request: Request) -> Report:
        """Rate-limited per client, read within the size limit, verified in an upload slot;
        noted as a forgery lead when it is one (its hash and claimed office, not the file)."""
        self.count_upload(request)  # before a byte is read
        data = await read_pdf_body(request, self.ctx.max_upload_bytes)
        report: Report = await self._in_slot(lambda: verify_pdf(self.ctx, data))
        leads.note_report(self.ctx.engine, "upload", report)
        return report

    def digest_report(self, sha256: str) -> Report:
        """The report for a document fingerprint; one this registry never issued is noted
        as a forgery lead (weak evidence on its own, but counted per claimed office with the
        rest, and a flood of them is seen)."""
        report = verify_digest(self.ctx, sha256)
        if report.certificate is None:  # only a fingerprint never issued has no certificate
            leads.note_lead(self.ctx.engine, "fingerprint", leads.NOT_FOUND, document_sha256=sha256)
        return report

    async def signed_report_pdf(self, request: Request, make_report: Callable[[], Report]) -> Response:
        """Verify and sign a report PDF for anyone who asks: as costly as an upload, so it is
        counted with the client's uploads and signed in an upload slot."""
        self.count_upload(request)
        font, signer = self.ctx.font_path, self.ctx.report_signer
        assert font is not None and signer is not None  # a server's context has both (Runtime.verifier_context)
        pdf = await self._in_slot(lambda: signed_report(make_report(), font, signer))
        return report_pdf_response(pdf)

    def open_record(self, request: Request, cert: Certificate | None, code: str | None, asked: str) -> Certificate:
        """An access code from the public (form or JSON), counted against the client's address."""
        client = self.client(request)
        return self.open_record_as(client, f"public:{client}", cert, code, asked)

    def open_record_as(self, client: str, actor: str, cert: Certificate | None, code: str | None,
                       asked: str, *, route: str = "number", api_key_id: uuid.UUID | None = None) -> Certificate:
        """Check an access code. Wrong codes count against the certificate (``asked``: its
        number or id as asked for, so unknown numbers count too) and against ``client``. An
        unknown certificate gets the same answer, status and work as a wrong code, and is
        noted as a forgery lead of ``route`` (written by the lead writer, so that it takes no
        time here); a wrong code for a certificate that exists is none. A right code is
        audited as ``actor`` (the record that follows is personal data)."""
        subject = failure_subject(cert, asked)
        self.per_client.check(client)
        self.per_certificate.check(subject)
        matches = access_code_matches(self.qr_key, cert.id if cert else NO_CERTIFICATE, code,
                                      cert.access_code_hash if cert else DUMMY_HASH)
        if cert is None or not matches:
            self.per_client.fail(client)
            self.per_certificate.fail(subject)
            if cert is None:
                leads.note_lead(self.ctx.engine, route, leads.NOT_FOUND, api_key_id=api_key_id, claimed_number=asked)
            raise WrongAccessCode("no certificate matches this number and access code", "公证书编号与查验码不符")
        audit.record(self.ctx.engine, actor, "record.open", str(cert.id), {"number": cert.number},
                     office=cert.office_code)
        return cert

    def qr_target(self, certificate_id: str, code: str | None) -> Certificate | None:
        """The certificate a QR link points at, or None for a made-up id or check code
        (noted as a forgery lead: a QR code that leads nowhere was printed by someone)."""
        try:
            cid: uuid.UUID | None = uuid.UUID(certificate_id)
        except ValueError:
            cid = None
        cert = None
        if cid is not None and check_code_matches(self.qr_key, cid, code):
            # The row only: the pages that follow read the PDF once, when they verify it.
            with Session(self.ctx.engine) as s:
                cert = s.get(Certificate, cid)
        if cert is None:
            leads.note_lead(self.ctx.engine, "qr", leads.NOT_FOUND, certificate_id=cid)
        return cert

    def successor_url(self, report: Report) -> str | None:
        """The corrected certificate's own verify page (its QR link)."""
        if report.successor_id is None:
            return None
        return f"/v/{report.successor_id}?c={check_code(self.qr_key, report.successor_id)}"


def failure_subject(cert: Certificate | None, asked: str) -> str:
    """What wrong access codes count against: the certificate itself when it exists (however
    its number was typed, or reached by its QR id), else the number as the lookup reads it."""
    if cert is not None:
        return f"cert:{cert.id}"
    return "cert:" + hashlib.sha256(normalise_number(asked).encode()).hexdigest()


def report_pdf_response(pdf: bytes) -> Response:
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="verification-report.pdf"'})


async def read_pdf_body(request: Request, limit: int) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "multipart/form-data":
            form = await request.form(max_files=1, max_fields=4)
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise EmptyUpload("send the PDF in the multipart field named 'file'",
                                  "请在名为 file 的表单字段中上传 PDF")
            data = await upload.read(limit + 1)
        elif content_type in PDF_TYPES:
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise upload_too_large(limit)
                chunks.append(chunk)
            data = b"".join(chunks)
        else:
            raise NotAPdf(f"unsupported content type '{content_type or 'none'}': upload a PDF",
                          "不支持的内容类型，请上传 PDF 文件")
    except ClientDisconnect:
        raise EmptyUpload("the upload was interrupted", "上传中断") from None
    check_size(data, limit)
    return data
