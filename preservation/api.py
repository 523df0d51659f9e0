"""The preservation API: a registered client (or the office's staff, for a walk-in client)
submits a file or its SHA-256 and gets the preservation certificate; lists and reads its own
evidence; downloads its own file. Bearer tokens as for the issuer API (issuer.auth)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect

from issuer.auth import Principal, authenticate_token
from records.check_codes import check_code, verify_url
from signing.text_safety import no_lone_surrogates

from .context import PreservationContext
from .custody import release_to_submitter
from .errors import EvidenceTooLarge, InvalidSubmission
from .reads import EvidenceView, list_own, read_one
from .submission import Preserved, Submission, submit

PREFIX = "/api/v1/preservations"
UPLOAD_PATH = PREFIX  # the route that takes a file: notary.limits lets it up to the preservation limit
_Text = AfterValidator(no_lone_surrogates)  # see issuer/api.py
OptionalText = Annotated[str | None, _Text]
# The form fields a multipart submission may carry besides its file (the JSON body's names).
FORM_FIELDS = frozenset({"applicant_name", "sex", "birth_date", "id_number", "description", "description_en",
                         "on_behalf_of", "on_behalf_of_en", "sha256", "size", "file_name", "file_name_en", "language"})


class SubmitBody(BaseModel):
    """A submission by fingerprint (JSON). A file is sent as multipart/form-data instead:
    these fields as form fields, the file in the part named ``file``."""

    model_config = ConfigDict(extra="forbid")
    applicant_name: OptionalText = Field(None, max_length=100, description="who submits; a client's token: its holder "
                                         "(filled in when left out)")
    sex: OptionalText = Field(None, max_length=10, description="男 or 女")
    birth_date: OptionalText = Field(None, max_length=20, description="YYYY-MM-DD")
    id_number: OptionalText = Field(None, max_length=40, description="公民身份号码 (18 characters)")
    description: OptionalText = Field(None, max_length=2000, description="what the file is (at most 500 characters)")
    description_en: OptionalText = Field(None, max_length=4000)
    on_behalf_of: OptionalText = Field(None, max_length=400, description="the company or person the submitter acts for")
    on_behalf_of_en: OptionalText = Field(None, max_length=800)
    sha256: OptionalText = Field(None, max_length=100, description="SHA-256 of the file, 64 hex digits")
    size: int | None = Field(None, ge=0, le=10**13, description="the file's size in bytes, as the submitter declares")
    file_name: OptionalText = Field(None, max_length=400)
    file_name_en: OptionalText = Field(None, max_length=400)
    language: Literal["zh", "zh-en"] = Field("zh", description="zh-en adds the English translation page")


class EvidenceItem(BaseModel):
    id: uuid.UUID
    sha256: str
    size: int | None
    file_name: str | None
    description: str
    submitter: str
    received_at: dt.datetime
    timestamp_time: dt.datetime = Field(description="the RFC 3161 timestamp's time over the fingerprint")
    retention_until: dt.date
    file_held: bool = Field(description="the office holds the file now (false: fingerprint only, or deleted)")
    purged_at: dt.datetime | None = None
    certificate_id: uuid.UUID | None
    certificate_number: str | None
    certificate_status: str | None
    verify_url: str | None = Field(description="the certificate's own verify page (its QR code)")
    evidence_check_url: str | None = Field(description="where anyone checks a file against the certificate")


class SubmittedResponse(EvidenceItem):
    access_code: str = Field(description="the certificate's access code, shown once: it opens its full record")
    file_kept: bool


class EvidenceList(BaseModel):
    items: list[EvidenceItem]
    total: int
    limit: int
    offset: int


def router(ctx: PreservationContext) -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["preservation"])
    base = ctx.issuing.public_base_url

    def principal(authorization: str | None) -> Principal:
        return authenticate_token(ctx.engine, authorization)

    def links(certificate_id: uuid.UUID | None, code: str | None) -> dict[str, Any]:
        """The certificate's verify page and its evidence check page (both carry its QR check code)."""
        if certificate_id is None or code is None:
            return {"verify_url": None, "evidence_check_url": None}
        return {"verify_url": verify_url(base, certificate_id, code),
                "evidence_check_url": f"{base}/v/{certificate_id}/evidence?c={code}"}

    def item(view: EvidenceView) -> EvidenceItem:
        e, cert = view.evidence, view.certificate
        return EvidenceItem(
            id=e.id, sha256=e.sha256, size=e.size, file_name=e.file_name, description=e.description,
            submitter=e.submitter_name, received_at=e.received_at, timestamp_time=e.timestamp_time,
            retention_until=e.retention_until, file_held=view.file_held, purged_at=e.purged_at,
            certificate_id=e.certificate_id, certificate_number=cert.number if cert else None,
            certificate_status=cert.status if cert else None,
            **links(e.certificate_id, cert.check_code if cert else None))

    def submitted(p: Principal, done: Preserved) -> SubmittedResponse:
        cert = done.certificate
        return SubmittedResponse(
            id=done.evidence_id, sha256=done.sha256, size=done.size, file_name=done.file_name,
            description=done.description, submitter=p.name, received_at=done.received_at,
            timestamp_time=done.timestamp_time, retention_until=done.retention_until, file_held=done.file_kept,
            certificate_id=cert.id, certificate_number=cert.number, certificate_status="issued",
            access_code=cert.access_code, file_kept=done.file_kept,
            **links(cert.id, check_code(ctx.issuing.qr_key, cert.id)))

    @r.post("", status_code=201, response_model=SubmittedResponse,
            summary="Submit evidence for preservation: a file (multipart, part `file`) or its SHA-256 (JSON)",
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": SubmitBody.model_json_schema()},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"},
                    **{name: {"type": "string"} for name in sorted(FORM_FIELDS)}}}}}}})
    async def submit_evidence(request: Request,
                              authorization: Annotated[str | None, Header()] = None) -> SubmittedResponse:
        p = await run_in_threadpool(principal, authorization)
        p.require_client(ctx.office_code)  # before a byte of the body is read
        submission = await _read_submission(request, ctx.max_bytes)
        done = await run_in_threadpool(submit, ctx, p, submission)
        return submitted(p, done)

    @r.get("", response_model=EvidenceList, summary="The evidence you submitted, newest first")
    def list_evidence(authorization: Annotated[str | None, Header()] = None,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50,
                      offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> EvidenceList:
        p = principal(authorization)
        views, total = list_own(ctx.engine, p, limit, offset)
        return EvidenceList(items=[item(v) for v in views], total=total, limit=limit, offset=offset)

    @r.get("/{evidence_id}", response_model=EvidenceItem,
           summary="One evidence's record and certificate: its submitter, and the office's administrators")
    def get_evidence(evidence_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None) -> EvidenceItem:
        return item(read_one(ctx.engine, principal(authorization), evidence_id))

    @r.get("/{evidence_id}/file", summary="The file as received: to the person who submitted it only",
           responses={200: {"content": {"application/octet-stream": {}}}})
    def get_file(evidence_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None) -> Response:
        row, content = release_to_submitter(ctx, principal(authorization), evidence_id)
        name = row.file_name or f"{row.id}.bin"
        return Response(content, media_type="application/octet-stream", headers={
            "Content-Disposition": f"attachment; filename=\"{row.id}.bin\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store", "X-Evidence-SHA256": row.sha256})

    return r


async def _read_submission(request: Request, max_bytes: int) -> Submission:
    """The submission from a JSON body (by fingerprint) or a multipart form (the file in
    ``file``, read up to ``max_bytes`` and not a byte further: notary.limits has already cut
    the body off at that size plus the form's framing)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media in ("multipart/form-data", "application/x-www-form-urlencoded"):  # the latter: a fingerprint only
            try:
                form = await request.form(max_files=1, max_fields=len(FORM_FIELDS), max_part_size=64 * 1024)
            except HTTPException as exc:  # starlette's word for a malformed or overfull form
                raise InvalidSubmission(f"the form cannot be read: {exc.detail}", "表单格式有误", "file",
                                        "multipart") from None
            return await _from_form(form, max_bytes)
        if media == "application/json":
            try:
                body = SubmitBody.model_validate_json(await request.body())
            except ValidationError as exc:
                raise RequestValidationError(exc.errors(include_url=False)) from None
            return Submission(**body.model_dump())
    except ClientDisconnect:
        raise InvalidSubmission("the upload was interrupted", "上传中断", "file", "interrupted") from None
    raise InvalidSubmission(f"unsupported content type '{media or 'none'}': send JSON with 'sha256', or a "
                            "multipart form with the file", "请以 JSON 提交数字指纹，或以 multipart 表单上传文件",
                            "file", "content_type")


async def _from_form(form: FormData, max_bytes: int) -> Submission:
    values: dict[str, Any] = {}
    content, file_name = None, None
    for name, value in form.multi_items():
        if name == "file" and isinstance(value, UploadFile):
            content = await value.read(max_bytes + 1)
            if len(content) > max_bytes:
                raise EvidenceTooLarge(max_bytes)
            # A browser sends the name alone; some clients a path (C:\fakepath\x.png).
            file_name = (value.filename or "").replace("\\", "/").rsplit("/", 1)[-1] or None
        elif name in FORM_FIELDS and isinstance(value, str) and name not in values:
            values[name] = value if value.strip() else None  # a blank field is one left out
        else:
            raise InvalidSubmission(f"unexpected form field '{name[:40]}'", f"表单字段“{name[:40]}”无法识别", name[:40],
                                    "unknown")
    size = values.pop("size", None)
    if size is not None:
        try:
            values["size"] = int(size)
        except ValueError:
            raise InvalidSubmission("size: a whole number of bytes", "文件大小应为整数字节数", "size", "int") from None
    language = values.pop("language", None) or "zh"
    if language not in ("zh", "zh-en"):
        raise InvalidSubmission("language: zh or zh-en", "语言只能是 zh 或 zh-en", "language", "enum")
    if values.get("file_name") is None:
        values["file_name"] = file_name
    return Submission(**values, content=content, language=language)
