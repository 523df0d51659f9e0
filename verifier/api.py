"""Public verification routes: upload a PDF, the QR landing page, certificate status."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from anchoring.receipt import AnchorReceipt
from anchoring.status import anchor_status
from issuer.qr import check_code_matches
from sqlmodel import Session

from .errors import EmptyUpload, NotAPdf, UnknownCertificate
from .intake import check_size, upload_too_large
from .report import Report
from .service import VerifierContext, stored_certificate, summary, verify_pdf

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
PDF_TYPES = {"application/pdf", "application/octet-stream", "application/x-pdf"}


def router(ctx: VerifierContext, qr_key: bytes) -> APIRouter:
    r = APIRouter()

    @r.post("/api/v1/verify", response_model=Report, tags=["verify"],
            summary="Verify a PDF certificate (multipart field `file`, or a raw application/pdf body)")
    async def verify_upload(request: Request) -> Report:
        data = await _read_pdf_body(request, ctx.max_upload_bytes)
        # pyHanko's synchronous validation runs its own event loop: keep it off ours.
        return await run_in_threadpool(verify_pdf, ctx, data)

    @r.get("/api/v1/certificates/{certificate_id}/status", tags=["verify"],
           summary="Public status of a certificate: no personal data")
    def certificate_status(certificate_id: uuid.UUID) -> dict:
        cert, _ = stored_certificate(ctx, certificate_id)
        with Session(ctx.engine) as s:
            anchor = anchor_status(s, certificate_id)
        body = summary(cert).model_dump(mode="json")
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

    @r.get("/v/{certificate_id}", response_class=HTMLResponse, include_in_schema=False)
    def verify_page(request: Request, certificate_id: str,
                    c: Annotated[str | None, Query(max_length=16)] = None,
                    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        try:
            cid = uuid.UUID(certificate_id)
        except ValueError:
            return _page(request, lang, None, status=404, not_found=True)
        if not check_code_matches(qr_key, cid, c):
            # A made-up id or check code gets the same answer as an unknown id: no probing.
            return _page(request, lang, None, status=404, not_found=True)
        try:
            _, pdf = stored_certificate(ctx, cid)
        except UnknownCertificate:
            return _page(request, lang, None, status=404, not_found=True)
        report = verify_pdf(ctx, pdf)
        return _page(request, lang, report)

    return r


def _page(request: Request, lang: str, report: Report | None, *, status: int = 200, not_found: bool = False) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "verify.html",
        {"report": report, "lang": lang, "not_found": not_found,
         "switch_url": str(request.url.include_query_params(lang="en" if lang == "zh" else "zh"))},
        status_code=status,
    )


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
