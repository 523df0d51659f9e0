"""The verification pages for people (HTML, zh/en): the home page with its three ways
(fingerprint, upload, number with access code), upload results at their own address, the
QR landing page, the full record, and signed report PDFs. The JSON API is verifier.api."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from records.check_codes import check_code
from records.lookups import find_by_number
from records.models import Certificate

from . import results
from .errors import ResultExpired, UnknownCertificate, VerifierError
from .full_record import full_record
from .gate import Gate
from .service import VerifierContext, stored_certificate, summary, verify_digest, verify_record

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATIC_DIR = Path(__file__).parent / "static"  # the pages' style sheet and script, served at /static
SHA256 = r"^[0-9a-fA-F]{64}$"


def router(ctx: VerifierContext, gate: Gate) -> APIRouter:
    r = APIRouter()

    @r.get("/", response_class=HTMLResponse, include_in_schema=False)
    @r.get("/verify", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        return _page(request, lang, "home.html")

    @r.post("/verify/upload", response_class=HTMLResponse, include_in_schema=False)
    async def upload_page(request: Request, lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> Response:
        try:
            report = await gate.verify_uploaded(request)
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
        return _page(request, lang, "verify.html", report=report, successor_url=gate.successor_url(report),
                     report_pdf_url=f"/verify/result/{result_id}/report.pdf")

    @r.get("/verify/result/{result_id}/report.pdf", include_in_schema=False)
    async def result_report_pdf(request: Request, result_id: uuid.UUID) -> Response:
        report = await run_in_threadpool(results.kept, ctx.engine, result_id)
        if report is None:
            raise ResultExpired()
        return await gate.signed_report_pdf(request, lambda: report)

    @r.get("/verify/hash", response_class=HTMLResponse, include_in_schema=False)
    def hash_page(request: Request, sha256: Annotated[str, Query(pattern=SHA256)],
                  lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        report = gate.digest_report(sha256)
        return _page(request, lang, "verify.html", report=report, successor_url=gate.successor_url(report),
                     report_pdf_url=f"/verify/hash/report.pdf?sha256={sha256}")

    @r.get("/verify/hash/report.pdf", include_in_schema=False)
    async def hash_report_pdf(request: Request, sha256: Annotated[str, Query(pattern=SHA256)]) -> Response:
        # Not noted again as a lead: this link is on the page that answered the fingerprint.
        return await gate.signed_report_pdf(request, lambda: verify_digest(ctx, sha256))

    @r.post("/verify/number", response_class=HTMLResponse, include_in_schema=False)
    def number_page(request: Request, number: Annotated[str, Form(max_length=64)],
                    access_code: Annotated[str, Form(max_length=16)],
                    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        with Session(ctx.engine) as s:
            cert = find_by_number(s, number)
        try:
            cert = gate.open_record(request, cert, access_code, number)
        except VerifierError as exc:
            return _page(request, lang, "home.html", error=exc, status=exc.http_status)
        return _record_page(request, lang, cert, {"action": "/verify/number", "fields": {
            "number": number, "access_code": access_code}})

    @r.get("/v/{certificate_id}", response_class=HTMLResponse, include_in_schema=False)
    def verify_page(request: Request, certificate_id: str,
                    c: Annotated[str | None, Query(max_length=16)] = None,
                    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        cert = gate.qr_target(certificate_id, c)
        if cert is None:
            # A made-up id or check code gets the same answer as an unknown id: no probing.
            return _page(request, lang, "verify.html", status=404, not_found=True)
        report = verify_record(ctx, cert)
        return _page(request, lang, "verify.html", report=report, qr_code=c, successor_url=gate.successor_url(report),
                     report_pdf_url=f"{request.url.path}/report.pdf?c={c}")

    @r.get("/v/{certificate_id}/report.pdf", include_in_schema=False)
    async def qr_report_pdf(request: Request, certificate_id: str,
                            c: Annotated[str | None, Query(max_length=16)] = None) -> Response:
        cert = await run_in_threadpool(gate.qr_target, certificate_id, c)
        if cert is None:
            raise UnknownCertificate("no such certificate, or the check code is wrong", "查无此公证书，或核验码不正确")
        return await gate.signed_report_pdf(request, lambda: verify_record(ctx, cert))

    @r.post("/v/{certificate_id}", response_class=HTMLResponse, include_in_schema=False)
    def record_page(request: Request, certificate_id: str, access_code: Annotated[str, Form(max_length=16)],
                    c: Annotated[str | None, Query(max_length=16)] = None,
                    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        cert = gate.qr_target(certificate_id, c)
        if cert is None:
            return _page(request, lang, "verify.html", status=404, not_found=True)
        try:
            gate.open_record(request, cert, access_code, str(cert.id))
        except VerifierError as exc:
            return _page(request, lang, "verify.html", report=verify_record(ctx, cert), qr_code=c, error=exc,
                         status=exc.http_status)
        return _record_page(request, lang, cert, {"action": f"/v/{cert.id}?c={c}", "fields": {
            "access_code": access_code}})

    def _record_page(request: Request, lang: str, cert: Certificate, switch_form: dict) -> HTMLResponse:
        """The full record; its language switch re-posts the access code (``switch_form``:
        the form's action and fields), as the record is never at a GET address."""
        _, pdf = stored_certificate(ctx, cert.id)
        report = verify_record(ctx, cert)
        code = check_code(gate.qr_key, cert.id)
        return _page(request, lang, "verify.html", report=report, record=full_record(cert, summary(cert), pdf),
                     successor_url=gate.successor_url(report), report_pdf_url=f"/v/{cert.id}/report.pdf?c={code}",
                     switch_form=switch_form)

    return r


def _relative(url) -> str:
    """Path and query only: a link built from the Host header would point wherever the
    client said this server was."""
    return url.path + (f"?{url.query}" if url.query else "")



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

