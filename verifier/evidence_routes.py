"""The public check of a file against a preservation certificate: the JSON API and the page
that hashes the file in the browser (WebCrypto: only the fingerprint is sent), with an upload
for browsers without script. Both pass the verification gate (rate limits, access codes).
The logic is verifier.evidence_check."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect

from records.lookups import find_by_number
from records.models import Certificate

from .errors import EmptyUpload, VerifierError
from .evidence_check import EvidenceAnswer, check_evidence, hash_stream, preserved
from .gate import Gate
from .pages import _page
from .service import VerifierContext, verify_record

API_PATH = "/api/v1/verify/evidence"
UPLOAD_PAGE_PATH = "/verify/evidence"
# The routes that take a file: notary.limits lets them up to the preservation limit.
UPLOAD_PATHS = (API_PATH, UPLOAD_PAGE_PATH)
SHA256 = r"^[0-9a-fA-F]{64}$"
CHUNK = 1024 * 1024
FORM_FIELDS = frozenset({"certificate_id", "number", "access_code", "sha256"})


class EvidenceRequest(BaseModel):
    """The certificate (its id, or its number with the access code) and the file's SHA-256.
    As multipart/form-data, the same fields and the file itself in ``file``."""

    model_config = ConfigDict(extra="forbid")
    certificate_id: uuid.UUID | None = Field(None, description="the preservation certificate's id (its QR code)")
    number: str | None = Field(None, min_length=5, max_length=64, description="or its number, e.g. "
                               "(2026)沪东证字第000123号, with its access code")
    access_code: str | None = Field(None, min_length=8, max_length=16,
                                    description="the certificate's access code: the answer then has the full record")
    sha256: str | None = Field(None, pattern=SHA256, description="SHA-256 of the file (hex); or upload the file")

    @model_validator(mode="after")
    def _one_certificate(self):
        if (self.certificate_id is None) == (self.number is None):
            raise ValueError("give the certificate's id, or its number with its access code")
        if self.number is not None and self.access_code is None:
            raise ValueError("a number goes with its access code")
        return self


def router(ctx: VerifierContext, gate: Gate, *, max_bytes: int) -> APIRouter:
    """``max_bytes``: the largest file checked by upload (the office's preservation limit; a
    larger one is hashed by its holder and checked by fingerprint)."""
    r = APIRouter()

    @r.post(API_PATH, response_model=EvidenceAnswer, tags=["verify"],
            summary="Is this the file a preservation certificate preserved, and since when? (JSON with `sha256`, "
                    "or multipart with the file)",
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": EvidenceRequest.model_json_schema()},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"},
                    **{name: {"type": "string"} for name in sorted(FORM_FIELDS)}}}}}}})
    async def check(request: Request) -> EvidenceAnswer:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "application/json":
            try:
                body = EvidenceRequest.model_validate_json(await request.body())
            except ValidationError as exc:
                raise RequestValidationError(exc.errors(include_url=False)) from None
            sha256 = body.sha256
        elif media == "multipart/form-data":
            gate.count_upload(request)  # before a byte is read
            form = await _form(request)
            try:
                body = EvidenceRequest.model_validate({k: v for k, v in form.items() if k != "file" and v != ""})
            except ValidationError as exc:
                raise RequestValidationError(exc.errors(include_url=False)) from None
            upload = form.get("file")
            if isinstance(upload, UploadFile) and body.sha256 is not None:
                raise EmptyUpload("send the file or its SHA-256, not both", "文件与数字指纹只能提交其一")
            sha256 = await _file_hash(upload, max_bytes) if isinstance(upload, UploadFile) else body.sha256
        else:
            raise EmptyUpload(f"unsupported content type '{media or 'none'}': send JSON with 'sha256', or a multipart "
                              "form with the file", "请以 JSON 提交数字指纹，或以 multipart 表单上传文件")
        if sha256 is None:
            raise EmptyUpload("send the file (multipart field 'file') or its SHA-256 ('sha256')",
                              "请上传文件（表单字段 file）或提交其 SHA-256 数字指纹（sha256）")
        return await run_in_threadpool(answer, request, body, sha256)

    def answer(request: Request, body: EvidenceRequest, sha256: str) -> EvidenceAnswer:
        if body.number is not None:
            with Session(ctx.engine) as s:
                cert = find_by_number(s, body.number)
            cert = gate.open_record(request, cert, body.access_code, body.number)
            return check_evidence(ctx, cert.id, sha256, with_record=True)
        assert body.certificate_id is not None  # the request's validator: an id or a number
        if body.access_code is None:
            return check_evidence(ctx, body.certificate_id, sha256)
        with Session(ctx.engine) as s:
            found = s.get(Certificate, body.certificate_id)
        cert = gate.open_record(request, found, body.access_code, str(body.certificate_id))
        return check_evidence(ctx, cert.id, sha256, with_record=True)

    @r.get("/v/{certificate_id}/evidence", response_class=HTMLResponse, include_in_schema=False)
    def evidence_page(request: Request, certificate_id: str, c: Annotated[str | None, Query(max_length=16)] = None,
                      sha256: Annotated[str | None, Query(pattern=SHA256)] = None,
                      lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> HTMLResponse:
        cert = gate.qr_target(certificate_id, c)
        if cert is None:
            # A made-up id or check code gets the same answer as an unknown id: no probing.
            return _page(request, lang, "evidence.html", status=404, not_found=True)
        return _evidence_page(request, lang, cert, c, sha256)

    def _evidence_page(request: Request, lang: str, cert: Certificate, code: str | None, sha256: str | None,
                       error: VerifierError | None = None, status: int = 200) -> HTMLResponse:
        try:
            evidence = preserved(cert)
        except VerifierError as exc:
            return _page(request, lang, "evidence.html", status=exc.http_status, error=exc, not_preservation=True)
        result = check_evidence(ctx, cert.id, sha256) if sha256 else None
        report = result.report if result is not None else verify_record(ctx, cert)
        query = urlencode({"id": str(cert.id), "c": code or "", "lang": lang})
        return _page(request, lang, "evidence.html", status=status, error=error, report=report, evidence=evidence,
                     result=result, qr_code=code, upload_action=f"{UPLOAD_PAGE_PATH}?{query}",
                     check_url=f"/v/{cert.id}/evidence?{urlencode({'c': code or '', 'lang': lang})}",
                     certificate_url=f"/v/{cert.id}?{urlencode({'c': code or '', 'lang': lang})}")

    @r.post(UPLOAD_PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
    async def evidence_upload(request: Request, id: Annotated[str, Query(max_length=40)],
                              c: Annotated[str | None, Query(max_length=16)] = None,
                              lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> Response:
        """Browsers without script upload the file: it is hashed as it streams in (never
        kept), and the answer is the fingerprint's own address, as the script would reach."""
        cert = await run_in_threadpool(gate.qr_target, id, c)
        if cert is None:
            return _page(request, lang, "evidence.html", status=404, not_found=True)
        try:
            gate.count_upload(request)
            upload = (await _form(request)).get("file")
            if not isinstance(upload, UploadFile):
                raise EmptyUpload("choose the file to check", "请选择要核对的文件")
            sha256 = await _file_hash(upload, max_bytes)
        except VerifierError as exc:
            return await run_in_threadpool(_evidence_page, request, lang, cert, c, None, exc, exc.http_status)
        target = f"/v/{cert.id}/evidence?{urlencode({'c': c or '', 'sha256': sha256, 'lang': lang})}"
        return RedirectResponse(target, status_code=303)

    return r


async def _form(request: Request) -> FormData:
    try:
        form = await request.form(max_files=1, max_fields=len(FORM_FIELDS), max_part_size=64 * 1024)
    except HTTPException as exc:  # starlette's word for a malformed or overfull form
        raise EmptyUpload(f"the form cannot be read: {exc.detail}", "表单格式有误") from None
    except ClientDisconnect:
        raise EmptyUpload("the upload was interrupted", "上传中断") from None
    unknown = [k for k in form.keys() if k not in FORM_FIELDS and k != "file"]
    if unknown:
        raise EmptyUpload(f"unexpected form field '{unknown[0][:40]}'", f"表单字段“{unknown[0][:40]}”无法识别")
    return form


async def _file_hash(upload: UploadFile, max_bytes: int) -> str:
    """The uploaded file's SHA-256, read in chunks (starlette spooled it to disk past 1 MB).
    An empty one is refused: it is what a form sends when no file was chosen."""
    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(CHUNK):
            yield chunk

    return await hash_stream(chunks(), max_bytes)

