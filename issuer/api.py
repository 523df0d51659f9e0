"""The issuer API: authenticated, office-scoped issuing, listing, revocation, correction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from issuer.errors import IdempotentRequestRaced, InvalidTransition
from issuer.models import IdempotencyRecord
from records import audit
from records.models import Certificate
from records.revocation import REVOCATION_REASONS, RevocationReason
from signing.text_safety import no_lone_surrogates

from .auth import Principal, authenticate_token
from .lifecycle import correct_certificate, revoke_certificate
from .reads import read_certificate, signed_pdf
from .service import AuditEntry, IssuedCertificate, IssuerContext, issue_certificate

# Request text holding an unpaired surrogate (a JSON escape such as \ud800) is refused here,
# naming where, before it is hashed (idempotency), stored or echoed in an error.
_Text = AfterValidator(no_lone_surrogates)


class IssueBody(BaseModel):
    """What a client sends to issue one certificate."""

    model_config = ConfigDict(extra="forbid")
    matter: Annotated[str, _Text] = Field(max_length=40, description="matter type, e.g. birth")
    data: Annotated[dict[str, Any], _Text] = Field(description="the matter's input, see `notary matters --example`")
    language: Literal["zh", "zh-en"] = Field("zh", description="zh-en adds the English translation (for use abroad)")
    level: Literal["B-T", "B-LT", "B-LTA"] | None = Field(
        None, description="PAdES level; default the office's (B-T). B-LT embeds validation data, B-LTA adds an "
                          "archive timestamp (for certificates kept for decades)")


class CorrectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: Annotated[dict[str, Any], _Text]
    language: Literal["zh", "zh-en"] | None = Field(
        None, description="default: the corrected certificate's (a bilingual one stays bilingual)")
    level: Literal["B-T", "B-LT", "B-LTA"] | None = Field(
        None, description="default: the corrected certificate's PAdES level")


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: RevocationReason = Field(description="why: " + REVOCATION_REASONS)
    note: str | None = Field(None, max_length=200)


class IssuedResponse(BaseModel):
    id: uuid.UUID
    number: str
    verify_url: str
    document_sha256: str
    access_code: str | None = Field(default=None, description="shown once; null when an idempotent request is replayed")
    replayed: bool = False


class CertificateItem(BaseModel):
    id: uuid.UUID
    number: str
    matter: str
    status: str
    applicant_name: str
    notary: str
    office_code: str
    issued_at: dt.datetime
    supersedes: uuid.UUID | None = None
    superseded_by: uuid.UUID | None = None


class CertificateDetail(CertificateItem):
    data: dict[str, Any]
    revocation_reason: int | None = None
    revocation_note: str | None = None
    fee_exempt: bool = False
    fee_note: str | None = None
    accepting_office: str | None = None
    language: str = "zh"


class CertificateList(BaseModel):
    """One page of a listing of certificates."""

    items: list[CertificateItem]
    total: int
    limit: int
    offset: int


def _item(cert: Certificate, model=CertificateItem):
    extra = {"data": json.loads(cert.data_json), "revocation_reason": cert.revocation_reason,
             "revocation_note": cert.revocation_note, "fee_exempt": cert.fee_exempt, "fee_note": cert.fee_note,
             "accepting_office": cert.accepting_office, "language": cert.language} if model is CertificateDetail else {}
    return model(id=cert.id, number=cert.number, matter=cert.matter, status=cert.status,
                 applicant_name=cert.applicant_name, notary=cert.notary, office_code=cert.office_code,
                 issued_at=cert.issued_at, supersedes=cert.supersedes, superseded_by=cert.superseded_by, **extra)


def issued_response(issued: IssuedCertificate) -> IssuedResponse:
    return IssuedResponse(id=issued.id, number=issued.number, verify_url=issued.verify_url,
                          document_sha256=issued.document_sha256, access_code=issued.access_code)


def router(ctx: IssuerContext) -> APIRouter:
    r = APIRouter(prefix="/api/v1/certificates", tags=["issue"])

    def principal(authorization: str | None) -> Principal:
        return authenticate_token(ctx.engine, authorization)

    def read(p: Principal, certificate_id: uuid.UUID, action: str) -> Certificate:
        return read_certificate(ctx.engine, p, certificate_id, action)

    def replayed(token_id: uuid.UUID, key: str, request_hash: str) -> IssuedResponse | None:
        """The first answer to this Idempotency-Key, or None if the key is new; a key used
        for a different request is refused."""
        with Session(ctx.engine) as s:
            first = s.get(IdempotencyRecord, (token_id, key))
            cert = s.get(Certificate, first.certificate_id) if first else None
        if first is None or cert is None:
            return None
        if first.request_sha256 != request_hash:
            raise InvalidTransition("this Idempotency-Key was used for a different request", "该幂等键已用于另一请求")
        return IssuedResponse(id=cert.id, number=cert.number, document_sha256=cert.document_sha256,
                              verify_url=f"{ctx.public_base_url}/v/{cert.id}?c={cert.check_code}", replayed=True)

    @r.post("", status_code=201, response_model=IssuedResponse, summary="Issue a certificate")
    def issue(body: IssueBody, response: Response, authorization: Annotated[str | None, Header()] = None,
              idempotency_key: Annotated[str | None, Header(max_length=100)] = None) -> IssuedResponse:
        p = principal(authorization)
        p.require_issuer(ctx.office.code)
        request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        if idempotency_key:
            replay = replayed(p.token_id, idempotency_key, request_hash)
            if replay is not None:
                response.status_code = 200
                return replay

        def remember(s: Session, issued: IssuedCertificate) -> list[AuditEntry]:
            # The idempotency record commits with the certificate: a crash can never leave
            # a certificate that a retry with the same key would not find.
            if idempotency_key:
                s.flush()  # the certificate's own rows first: their errors are not a race
                s.add(IdempotencyRecord(token_id=p.token_id, key=idempotency_key, request_sha256=request_hash,
                                        certificate_id=issued.id))
                try:
                    s.flush()
                except IntegrityError:  # the same request, made twice at once: the other one won
                    raise IdempotentRequestRaced() from None
            return []

        try:
            issued = issue_certificate(ctx, body.matter, p.name_as_notary(body.data), actor=p.actor,
                                       language=body.language, level=body.level, issued_by=p.owner, on_store=remember)
        except IdempotentRequestRaced:
            replay = replayed(p.token_id, idempotency_key or "", request_hash)
            if replay is None:  # the winner's record is there: it was committed before ours failed
                raise
            response.status_code = 200
            return replay
        return issued_response(issued)

    @r.get("", response_model=CertificateList,
           summary="List the certificates you may read: a notary's own, an office administrator's office's, all "
                   "for the registry")
    def list_certificates(
        authorization: Annotated[str | None, Header()] = None,
        matter: Annotated[str | None, Query(max_length=40)] = None,
        status: Annotated[str | None, Query(pattern="^(issued|revoked|superseded)$")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> CertificateList:
        p = principal(authorization)
        query = p.visible(select(Certificate))
        if matter:
            query = query.where(Certificate.matter == matter)
        if status:
            query = query.where(Certificate.status == status)
        with Session(ctx.engine) as s:
            total = s.exec(select(func.count()).select_from(query.subquery())).one()
            rows = s.exec(query.order_by(col(Certificate.issued_at).desc()).offset(offset).limit(limit)).all()
        if rows:  # applicants' names: whose were shown to whom is recorded
            audit.record(ctx.engine, p.actor, "certificate.list", "certificates", {
                "matter": matter, "status": status, "offset": offset, "ids": [str(c.id) for c in rows]},
                         office=p.office_code)
        return CertificateList(items=[_item(c) for c in rows], total=total, limit=limit, offset=offset)

    @r.get("/{certificate_id}", response_model=CertificateDetail, summary="One certificate with its data")
    def get_certificate(certificate_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None):
        return _item(read(principal(authorization), certificate_id, "certificate.read"), CertificateDetail)

    @r.get("/{certificate_id}/pdf", summary="The signed PDF as issued",
           responses={200: {"content": {"application/pdf": {}}}})
    def get_pdf(certificate_id: uuid.UUID, authorization: Annotated[str | None, Header()] = None) -> Response:
        cert = read(principal(authorization), certificate_id, "certificate.pdf")
        return Response(signed_pdf(ctx.engine, cert), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{cert.id}.pdf"'})

    @r.post("/{certificate_id}/revoke", response_model=CertificateDetail, summary="Revoke (撤销)")
    def revoke(certificate_id: uuid.UUID, body: RevokeRequest,
               authorization: Annotated[str | None, Header()] = None):
        p = principal(authorization)
        p.require_issuer(ctx.office.code)
        cert = revoke_certificate(ctx.engine, certificate_id, body.reason, body.note,
                                  office_code=p.office_code, by=p, actor=p.actor)
        return _item(cert, CertificateDetail)

    @r.post("/{certificate_id}/correct", status_code=201, response_model=IssuedResponse,
            summary="Correct (更正): issue a replacement and supersede this certificate")
    def correct(certificate_id: uuid.UUID, body: CorrectRequest,
                authorization: Annotated[str | None, Header()] = None) -> IssuedResponse:
        p = principal(authorization)
        p.require_issuer(ctx.office.code)
        return issued_response(correct_certificate(
            ctx, certificate_id, body.data, office_code=p.office_code, by=p, actor=p.actor, issued_by=p.owner,
            language=body.language, level=body.level, name_notary=p.name_as_notary))

    return r


