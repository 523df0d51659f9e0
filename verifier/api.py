"""Public verification: upload a PDF, a document fingerprint, a certificate number with
its access code, the QR landing page, and the batch API for registries."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session
import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from anchoring.receipt import AnchorReceipt
from anchoring.status import anchor_status
from issuer import audit
from issuer.access import access_code_matches, hash_access_code
from issuer.models import Certificate
from issuer.qr import check_code, check_code_matches
from issuer.service import find_by_number, normalise_number

from .apikeys import authenticate
from . import results
from .ratelimit import make_limiters
from .client_address import client_address, client_bucket, parse_networks
from .errors import EmptyUpload, NotAPdf, UnknownCertificate, VerifierBusy, VerifierError
from .microcache import MicroCache
from .intake import check_size, upload_too_large
from .models import VerificationLog
from .record import CertificateRecord, full_record
from .report_pdf import signed_report
from .checks import local_status_check
from .report import Report, Revocation, revocation_from
from .service import (VerifierContext, aware, not_issued_report, stored_certificate, summary, verify_certificate,
                      verify_digest, verify_pdf)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATIC_DIR = Path(__file__).parent / "static"  # the pages' style sheet and script, served at /static
PDF_TYPES = {"application/pdf", "application/octet-stream", "application/x-pdf"}
SHA256 = r"^[0-9a-fA-F]{64}$"
BATCH_MAX = 1000


# What an unknown certificate's access code is compared with, so that it costs the same.
NO_CERTIFICATE = uuid.UUID(int=0)
DUMMY_HASH = hash_access_code(b"\x00" * 32, NO_CERTIFICATE, "AAAAAAAA")


class BatchTooLarge(VerifierError):
    code = "BATCH_OVER_KEY_LIMIT"
    http_status = 422

    def __init__(self, per_minute: int):
        super().__init__(f"this API key may verify {per_minute} items a minute; send at most that many a call",
                         f"该 API 密钥每分钟最多核验 {per_minute} 项，请每次最多发送 {per_minute} 项")


class ResultExpired(VerifierError):
    code = "RESULT_EXPIRED"
    http_status = 404

    def __init__(self):
        super().__init__("this verification result is no longer kept (results are kept for a day); upload the file "
                         "again", "该核验结果已过保存期（保存一天），请重新上传文件")


class WrongAccessCode(VerifierError):
    code = "ACCESS_CODE_WRONG"
    http_status = 403


class HashRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern=SHA256, description="SHA-256 of the PDF, hex")


class NumberRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=5, max_length=64, description="e.g. (2026)沪东证字第000123号")
    access_code: str = Field(min_length=8, max_length=16)
    previews: bool = False


class RecordResponse(BaseModel):
    report: Report
    record: CertificateRecord


class BatchItem(BaseModel):
    """One certificate to check: by id, by the PDF's SHA-256, or by the number printed on
    the paper with its access code (the answer then carries the full record)."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID | None = None
    sha256: str | None = Field(None, pattern=SHA256)
    number: str | None = Field(None, min_length=5, max_length=64, description="e.g. (2026)沪东证字第000123号")
    access_code: str | None = Field(None, min_length=8, max_length=16, description="with a number only")

    @model_validator(mode="after")
    def _one(self):
        if sum(v is not None for v in (self.id, self.sha256, self.number)) != 1:
            raise ValueError("give exactly one of id, sha256, or number (with its access_code)")
        if (self.number is None) != (self.access_code is None):
            raise ValueError("a number goes with its access_code, and an access_code with a number")
        return self

    @property
    def target(self) -> str:
        return str(self.id or self.sha256 or self.number)


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[BatchItem] = Field(min_length=1, max_length=BATCH_MAX)


class BatchResult(BaseModel):
    input: BatchItem
    indication: str
    checks: dict[str, str] = {}  # check name -> code
    certificate: dict | None = None
    revocation: Revocation | None = None
    record: CertificateRecord | None = Field(None, description="the full record, for a number with its access code")
    error: dict | None = None


class BatchResponse(BaseModel):
    results: list[BatchResult]


def router(ctx: VerifierContext, qr_key: bytes, lookup_cache_seconds: float = 1.0, redis_url: str | None = None,
           limits_prefix: str = "notary:", uploads_per_minute: float = 60, upload_slots: int = 4,
           upload_wait_seconds: float = 30.0, trusted_proxies: list[str] = ()) -> APIRouter:
    """``uploads_per_minute``: PDF uploads a client may send; ``upload_slots``: uploads
    verified at once, each holding one worker thread, so uploads never take the threads
    that issuing and lookups run on (more wait, up to ``upload_wait_seconds``, then 503)."""
    r = APIRouter()
    limiter, failures = make_limiters(redis_url, limits_prefix)
    # Per certificate (or number asked for): many addresses cannot share out the guesses.
    # Per client, more generous: a court behind one proxy address is many people.
    per_certificate, per_client = failures, make_limiters(redis_url, limits_prefix + "client:", max_failures=100)[1]
    proxies = parse_networks(list(trusted_proxies))
    lookups = MicroCache(lookup_cache_seconds)
    slots = anyio.CapacityLimiter(upload_slots)

    async def verify_uploaded(request: Request) -> Report:
        """Rate-limited per client, read within the size limit, verified in an upload slot."""
        limiter.take(f"upload:{client_address(request, proxies)}", 1, uploads_per_minute)
        data = await _read_pdf_body(request, ctx.max_upload_bytes)
        try:
            with anyio.fail_after(upload_wait_seconds):
                await slots.acquire()
        except TimeoutError:
            raise VerifierBusy("the verifier is busy; try again shortly", "核验服务繁忙，请稍后再试") from None
        try:
            # pyHanko's synchronous validation runs its own event loop: keep it off ours.
            return await run_in_threadpool(verify_pdf, ctx, data)
        finally:
            slots.release()

    async def signed_report_pdf(request: Request, make_report: Callable[[], Report]) -> Response:
        """Verify and sign a report PDF for anyone who asks: as costly as an upload, so it is
        counted with the client's uploads and signed in an upload slot."""
        limiter.take(f"upload:{client_bucket(client_address(request, proxies))}", 1, uploads_per_minute)
        try:
            with anyio.fail_after(upload_wait_seconds):
                await slots.acquire()
        except TimeoutError:
            raise VerifierBusy("the verifier is busy; try again shortly", "核验服务繁忙，请稍后再试") from None
        try:
            return _report_pdf(await run_in_threadpool(
                lambda: signed_report(make_report(), ctx.font_path, ctx.report_signer)))
        finally:
            slots.release()

    def open_record(request: Request, cert: Certificate | None, code: str | None, asked: str) -> Certificate:
        """Check an access code. Wrong codes count against the certificate (``asked``: its
        number or id as asked for, so unknown numbers count too) and against the client. An
        unknown certificate gets the same answer, status and work as a wrong code. A right
        code is audited (the record that follows is personal data)."""
        client, subject = client_bucket(client_address(request, proxies)), failure_subject(cert, asked)
        per_client.check(client)
        per_certificate.check(subject)
        matches = access_code_matches(qr_key, cert.id if cert else NO_CERTIFICATE, code,
                                      cert.access_code_hash if cert else DUMMY_HASH)
        if cert is None or not matches:
            per_client.fail(client)
            per_certificate.fail(subject)
            raise WrongAccessCode("no certificate matches this number and access code",
                                  "公证书编号与查验码不符")
        # The full record is personal data: whoever opened it (the client address) is logged.
        audit.record(ctx.engine, f"public:{client}", "record.open", str(cert.id), {"number": cert.number},
                     office=cert.office_code)
        return cert

    # ------------------------------------------------------------ JSON API
    @r.post("/api/v1/verify", response_model=Report, tags=["verify"],
            summary="Verify a PDF certificate (multipart field `file`, or a raw application/pdf body)")
    async def verify_upload(request: Request) -> Report:
        return await verify_uploaded(request)

    @r.post("/api/v1/verify/report.pdf", tags=["verify"], response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}},
            summary="Verify an uploaded PDF and get the report as a PDF signed by the verification service")
    async def verify_upload_report(request: Request) -> Response:
        report = await verify_uploaded(request)
        return _report_pdf(await run_in_threadpool(signed_report, report, ctx.font_path, ctx.report_signer))

    @r.post("/api/v1/verify/hash", response_model=Report, tags=["verify"],
            summary="Verify by the document's SHA-256; the PDF never leaves its holder")
    async def verify_hash(body: HashRequest) -> Response:
        key = ("hash", body.sha256.lower())
        return _json(await lookups.through(key, lambda: verify_digest(ctx, body.sha256).model_dump_json().encode()))

    @r.post("/api/v1/verify/number", response_model=RecordResponse, tags=["verify"],
            summary="Certificate number plus access code: the report and the full record")
    def verify_number(body: NumberRequest, request: Request) -> RecordResponse:
        with Session(ctx.engine) as s:
            cert = find_by_number(s, body.number)
        cert = open_record(request, cert, body.access_code, body.number)
        _, pdf = stored_certificate(ctx, cert.id)
        report = verify_pdf(ctx, pdf)
        return RecordResponse(report=report, record=full_record(cert, summary(cert), pdf if body.previews else None))

    @r.post("/api/v1/verify/batch", response_model=BatchResponse, tags=["verify"],
            summary=f"Registries: up to {BATCH_MAX} ids, fingerprints or numbers with access codes a call, "
                    "with an API key")
    def verify_batch(body: BatchRequest, authorization: Annotated[str | None, Header()] = None) -> BatchResponse:
        key = authenticate(ctx.engine, authorization)
        if len(body.items) > key.items_per_minute:
            # It would never fit in the key's minute: a 429 would say "retry" for ever.
            raise BatchTooLarge(key.items_per_minute)
        limiter.take(str(key.id), len(body.items), key.items_per_minute)
        results, log_rows = [], []
        for item in body.items:
            record = None
            try:
                if item.number is not None:
                    report, record = batch_record(key, item)
                else:
                    report = verify_certificate_or_digest(ctx, item)
            except VerifierError as exc:
                results.append(BatchResult(input=item, indication="ERROR",
                                           error={"code": exc.code, "message": exc.message,
                                                  "message_zh": exc.message_zh}))
                log_rows.append(VerificationLog(api_key_id=key.id, target=item.target, indication="ERROR"))
                continue
            cert = report.certificate
            results.append(BatchResult(
                input=item, indication=report.indication.value,
                checks={c.name: c.code for c in report.checks},
                certificate=cert.model_dump(mode="json") if cert else None, revocation=report.revocation,
                record=record,
            ))
            log_rows.append(VerificationLog(api_key_id=key.id, target=item.target,
                                            certificate_id=cert.id if cert else None,
                                            indication=report.indication.value))
        with Session(ctx.engine) as s:
            s.add_all(log_rows)
            s.commit()
        return BatchResponse(results=results)

    def batch_record(key, item: BatchItem) -> tuple[Report, CertificateRecord]:
        """A number with its access code, for a registry: counted like the public form (per
        certificate, and per API key as its client), audited as the registry's reading."""
        with Session(ctx.engine) as s:
            cert = find_by_number(s, item.number)
        client, subject = f"apikey:{key.id}", failure_subject(cert, item.number)
        per_client.check(client)
        per_certificate.check(subject)
        matches = access_code_matches(qr_key, cert.id if cert else NO_CERTIFICATE, item.access_code,
                                      cert.access_code_hash if cert else DUMMY_HASH)
        if cert is None or not matches:
            per_client.fail(client)
            per_certificate.fail(subject)
            raise WrongAccessCode("no certificate matches this number and access code", "公证书编号与查验码不符")
        audit.record(ctx.engine, f"apikey:{key.name}", "record.open", str(cert.id), {"number": cert.number},
                     office=cert.office_code)
        _, pdf = stored_certificate(ctx, cert.id)
        return verify_pdf(ctx, pdf), full_record(cert, summary(cert))

    @r.get("/api/v1/certificates/{certificate_id}/status", tags=["verify"],
           summary="Public status of a certificate: no personal data")
    async def certificate_status(certificate_id: uuid.UUID) -> Response:
        key = ("status", certificate_id)
        return _json(await lookups.through(key, lambda: json.dumps(_status(certificate_id)).encode()))

    def _status(certificate_id: uuid.UUID) -> dict:
        cert, _ = stored_certificate(ctx, certificate_id)
        with Session(ctx.engine) as s:
            anchor = anchor_status(s, certificate_id)
        body = summary(cert).model_dump(mode="json")
        revocation = revocation_from(local_status_check(cert.status, cert.superseded_by, aware(cert.revoked_at),
                                                        cert.revocation_reason))
        body["revocation"] = revocation.model_dump(mode="json") if revocation else None
        body["anchor"] = {"state": anchor.state if anchor else "pending"}
        if anchor and anchor.receipt:
            body["anchor"].update(tx_hash=anchor.receipt.tx_hash, block_number=anchor.receipt.block_number,
                                  block_time=anchor.block_time.isoformat() if anchor.block_time else None,
                                  root=anchor.receipt.root, chain_id=anchor.receipt.chain_id)
        return body

    @r.get("/api/v1/certificates/{certificate_id}/receipt", response_model=AnchorReceipt, tags=["verify"],
           summary="The anchor receipt (proof bundle) once the certificate is anchored")
    def certificate_receipt(certificate_id: uuid.UUID) -> AnchorReceipt:
        stored_certificate(ctx, certificate_id)
        with Session(ctx.engine) as s:
            anchor = anchor_status(s, certificate_id)
        if anchor is None or anchor.receipt is None:
            raise UnknownCertificate("the certificate is not anchored yet; try again in a few seconds",
                                     "该公证书尚未完成上链锚定，请几秒钟后再试")
        return anchor.receipt

    # ------------------------------------------------------------ pages
    @r.get("/", response_class=HTMLResponse, include_in_schema=False)
    @r.get("/verify", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        return _page(request, lang, "home.html")

    @r.post("/verify/upload", response_class=HTMLResponse, include_in_schema=False)
    async def upload_page(request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> Response:
        try:
            report = await verify_uploaded(request)
        except VerifierError as exc:
            return _page(request, lang, "home.html", error=exc, status=exc.http_status)
        result_id = await run_in_threadpool(results.keep, ctx.engine, report)
        # Post/redirect/get: the result has an address (reload, language, report PDF).
        return RedirectResponse(f"/verify/result/{result_id}?lang={lang}", status_code=303)

    @r.get("/verify/result/{result_id}", response_class=HTMLResponse, include_in_schema=False)
    def result_page(request: Request, result_id: uuid.UUID,
                    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        report = results.kept(ctx.engine, result_id)
        if report is None:
            return _page(request, lang, "home.html", status=404, error=ResultExpired())
        return _page(request, lang, "verify.html", report=report, successor_url=successor_url(report),
                     report_pdf_url=f"/verify/result/{result_id}/report.pdf")

    @r.get("/verify/result/{result_id}/report.pdf", include_in_schema=False)
    async def result_report_pdf(request: Request, result_id: uuid.UUID) -> Response:
        report = await run_in_threadpool(results.kept, ctx.engine, result_id)
        if report is None:
            raise ResultExpired()
        return await signed_report_pdf(request, lambda: report)

    @r.get("/verify/hash", response_class=HTMLResponse, include_in_schema=False)
    def hash_page(request: Request, sha256: Annotated[str, Query(pattern=SHA256)],
                  lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        report = verify_digest(ctx, sha256)
        return _page(request, lang, "verify.html", report=report, successor_url=successor_url(report),
                     report_pdf_url=f"/verify/hash/report.pdf?sha256={sha256}")

    @r.get("/verify/hash/report.pdf", include_in_schema=False)
    async def hash_report_pdf(request: Request, sha256: Annotated[str, Query(pattern=SHA256)]) -> Response:
        return await signed_report_pdf(request, lambda: verify_digest(ctx, sha256))

    @r.post("/verify/number", response_class=HTMLResponse, include_in_schema=False)
    def number_page(request: Request, number: Annotated[str, Form(max_length=64)],
                    access_code: Annotated[str, Form(max_length=16)],
                    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        with Session(ctx.engine) as s:
            cert = find_by_number(s, number)
        try:
            cert = open_record(request, cert, access_code, number)
        except VerifierError as exc:
            return _page(request, lang, "home.html", error=exc, status=exc.http_status)
        return _record_page(request, lang, cert, {"action": "/verify/number", "fields": {
            "number": number, "access_code": access_code}})

    @r.get("/v/{certificate_id}", response_class=HTMLResponse, include_in_schema=False)
    def verify_page(request: Request, certificate_id: str,
                    c: Annotated[str | None, Query(max_length=16)] = None,
                    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        cert = _qr_target(certificate_id, c)
        if cert is None:
            # A made-up id or check code gets the same answer as an unknown id: no probing.
            return _page(request, lang, "verify.html", status=404, not_found=True)
        _, pdf = stored_certificate(ctx, cert.id)
        report = verify_pdf(ctx, pdf)
        return _page(request, lang, "verify.html", report=report, qr_code=c, successor_url=successor_url(report),
                     report_pdf_url=f"{request.url.path}/report.pdf?c={c}")

    def successor_url(report: Report) -> str | None:
        """The corrected certificate's own verify page (its QR link)."""
        if report.successor_id is None:
            return None
        return f"/v/{report.successor_id}?c={check_code(qr_key, report.successor_id)}"

    @r.get("/v/{certificate_id}/report.pdf", include_in_schema=False)
    async def qr_report_pdf(request: Request, certificate_id: str,
                            c: Annotated[str | None, Query(max_length=16)] = None) -> Response:
        cert = await run_in_threadpool(_qr_target, certificate_id, c)
        if cert is None:
            raise UnknownCertificate("no such certificate, or the check code is wrong", "查无此公证书，或核验码不正确")
        return await signed_report_pdf(request, lambda: verify_pdf(ctx, stored_certificate(ctx, cert.id)[1]))

    @r.post("/v/{certificate_id}", response_class=HTMLResponse, include_in_schema=False)
    def record_page(request: Request, certificate_id: str, access_code: Annotated[str, Form(max_length=16)],
                    c: Annotated[str | None, Query(max_length=16)] = None,
                    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        cert = _qr_target(certificate_id, c)
        if cert is None:
            return _page(request, lang, "verify.html", status=404, not_found=True)
        try:
            open_record(request, cert, access_code, str(cert.id))
        except VerifierError as exc:
            _, pdf = stored_certificate(ctx, cert.id)
            return _page(request, lang, "verify.html", report=verify_pdf(ctx, pdf), qr_code=c, error=exc,
                         status=exc.http_status)
        return _record_page(request, lang, cert, {"action": f"/v/{cert.id}?c={c}", "fields": {
            "access_code": access_code}})

    def _qr_target(certificate_id: str, code: str | None) -> Certificate | None:
        try:
            cid = uuid.UUID(certificate_id)
        except ValueError:
            return None
        if not check_code_matches(qr_key, cid, code):
            return None
        try:
            cert, _ = stored_certificate(ctx, cid)
        except UnknownCertificate:
            return None
        return cert

    def _record_page(request: Request, lang: str, cert: Certificate, switch_form: dict) -> HTMLResponse:
        """The full record; its language switch re-posts the access code (``switch_form``:
        the form's action and fields), as the record is never at a GET address."""
        _, pdf = stored_certificate(ctx, cert.id)
        report = verify_pdf(ctx, pdf)
        code = check_code(qr_key, cert.id)
        return _page(request, lang, "verify.html", report=report, record=full_record(cert, summary(cert), pdf),
                     successor_url=successor_url(report), report_pdf_url=f"/v/{cert.id}/report.pdf?c={code}",
                     switch_form=switch_form)

    return r


def _relative(url) -> str:
    """Path and query only: a link built from the Host header would point wherever the
    client said this server was."""
    return url.path + (f"?{url.query}" if url.query else "")


def _json(body: bytes) -> Response:
    # Cached answers are kept serialised: a hit costs no validation or encoding.
    return Response(body, media_type="application/json")


def _report_pdf(pdf: bytes) -> Response:
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="verification-report.pdf"'})


def failure_subject(cert: Certificate | None, asked: str) -> str:
    """What wrong access codes count against: the certificate itself when it exists (however
    its number was typed, or reached by its QR id), else the number as the lookup reads it."""
    if cert is not None:
        return f"cert:{cert.id}"
    return "cert:" + hashlib.sha256(normalise_number(asked).encode()).hexdigest()


def verify_certificate_or_digest(ctx: VerifierContext, item: BatchItem) -> Report:
    """By fingerprint or by id; an id never issued is answered as a fingerprint never issued."""
    if item.sha256 is not None:
        return verify_digest(ctx, item.sha256)
    try:
        return verify_certificate(ctx, item.id)
    except UnknownCertificate:
        return not_issued_report()


def _page(request: Request, lang: str, template: str, *, status: int = 200, **context) -> HTMLResponse:
    context.setdefault("report", None)
    context.setdefault("not_found", False)
    other = "en" if lang == "zh" else "zh"
    if context.get("switch_form"):
        action = context["switch_form"]["action"]
        context["switch_form"] = {**context["switch_form"], "url": f"{action}{'&' if '?' in action else '?'}lang={other}"}
    response = TEMPLATES.TemplateResponse(
        request, template,
        {"lang": lang, "switch_url": _relative(request.url.include_query_params(lang=other)),
         **context},
        status_code=status,
    )
    if context.get("record") is not None:
        # Personal data and the access code (in the language form): never kept by a browser
        # or a proxy on a shared court terminal.
        response.headers["Cache-Control"] = "no-store"
    retry_after = getattr(context.get("error"), "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def _read_pdf_body(request: Request, limit: int) -> bytes:
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
