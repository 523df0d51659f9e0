"""The public verification API (JSON): upload a PDF, a document fingerprint, a certificate
number with its access code, a certificate's status and receipt, and the batch API for
registries. The pages for people are in verifier.pages; both pass the same gate."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from anchoring.receipt import AnchorReceipt
from anchoring.status import anchor_status
from records.lookups import find_by_number

from . import leads, subscriptions
from .apikeys import authenticate_api_key
from records.models import Certificate

from .checks import ledger_status_check, local_status_check
from .errors import BatchTooLarge, UnknownCertificate, VerifierError
from .full_record import CertificateRecord, full_record
from .gate import Gate, report_pdf_response
from .models import ApiKey, VerificationLog
from .stored import load_one, load_stored
from .report import Check, Report, Revocation, revocation_from
from .report_pdf import signed_report
from .service import (
    VerifierContext,
    not_issued_report,
    stored_certificate,
    stored_record,
    summary,
    verify_stored,
    verify_record,
)

SHA256 = r"^[0-9a-fA-F]{64}$"
BATCH_MAX = 1000


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
    sha256: str | None = Field(default=None, pattern=SHA256)
    number: str | None = Field(default=None, min_length=5, max_length=64, description="e.g. (2026)沪东证字第000123号")
    access_code: str | None = Field(default=None, min_length=8, max_length=16, description="with a number only")

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
    subscribe: bool = Field(default=False, description="also subscribe this key to every certificate found in this "
                                                       "call (its revocation or correction is then sent to the "
                                                       "registry's receiver): POST /api/v1/subscriptions")


class BatchResult(BaseModel):
    input: BatchItem
    indication: str
    checks: dict[str, str] = {}  # check name -> code
    certificate: dict | None = None
    revocation: Revocation | None = None
    record: CertificateRecord | None = Field(default=None,
                                             description="the full record, for a number with its access code")
    error: dict | None = None
    subscribed: bool | None = Field(default=None, description="with \"subscribe\": whether this key is now "
                                                              "subscribed to the certificate")


class BatchResponse(BaseModel):
    results: list[BatchResult]


def router(ctx: VerifierContext, gate: Gate) -> APIRouter:
    r = APIRouter()

    @r.post("/api/v1/verify", response_model=Report, tags=["verify"],
            summary="Verify a PDF certificate (multipart field `file`, or a raw application/pdf body)")
    async def verify_upload(request: Request) -> Report:
        return await gate.verify_uploaded(request)

    @r.post("/api/v1/verify/report.pdf", tags=["verify"], response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}},
            summary="Verify an uploaded PDF and get the report as a PDF signed by the verification service")
    async def verify_upload_report(request: Request) -> Response:
        report = await gate.verify_uploaded(request)
        font, signer = ctx.font_path, ctx.report_signer
        assert font is not None and signer is not None  # a server's context has both (Runtime.verifier_context)
        return report_pdf_response(await run_in_threadpool(signed_report, report, font, signer))

    @r.post("/api/v1/verify/hash", response_model=Report, tags=["verify"],
            summary="Verify by the document's SHA-256; the PDF never leaves its holder")
    async def verify_hash(body: HashRequest) -> Response:
        key = ("hash", body.sha256.lower())
        # A fingerprint never issued is a forgery lead, noted when computed (not per cached answer).
        return _json(await gate.lookups.through(key, lambda: gate.digest_report(body.sha256).model_dump_json().encode()))

    @r.post("/api/v1/verify/number", response_model=RecordResponse, tags=["verify"],
            summary="Certificate number plus access code: the report and the full record")
    def verify_number(body: NumberRequest, request: Request) -> RecordResponse:
        with Session(ctx.engine) as s:
            cert = find_by_number(s, body.number)
        cert = gate.open_record(request, cert, body.access_code, body.number)
        pdf = stored_certificate(ctx, cert.id)[1] if body.previews else None
        return RecordResponse(report=verify_record(ctx, cert), record=full_record(cert, summary(cert), pdf))

    @r.post("/api/v1/verify/batch", response_model=BatchResponse, tags=["verify"],
            summary=f"Registries: up to {BATCH_MAX} ids, fingerprints or numbers with access codes a call, "
                    "with an API key")
    def verify_batch(body: BatchRequest, authorization: Annotated[str | None, Header()] = None) -> BatchResponse:
        key = authenticate_api_key(ctx.engine, authorization)
        if len(body.items) > key.items_per_minute:
            # It would never fit in the key's minute: a 429 would say "retry" for ever.
            raise BatchTooLarge(key.items_per_minute)
        gate.limiter.take(str(key.id), len(body.items), key.items_per_minute)
        results, log_rows = [], []
        # Every id and fingerprint of the call in two queries, not one per item.
        found = load_stored(ctx.engine, ids={i.id for i in body.items if i.id is not None},
                            digests={i.sha256.lower() for i in body.items if i.sha256 is not None})
        by_id = {f.cert.id: f for f in found}
        by_digest = {f.cert.document_sha256: f for f in found}
        for item in body.items:
            record = None
            try:
                if item.number is not None:
                    report, record = batch_record(key, item)
                else:
                    stored = by_id.get(item.id) if item.id is not None else by_digest.get((item.sha256 or "").lower())
                    if stored is not None:
                        report = verify_stored(ctx, stored)
                    else:
                        report = not_issued_report(item.sha256.lower() if item.sha256 else None)
                        leads.note_lead(ctx.engine, "batch", leads.NOT_FOUND, api_key_id=key.id,
                                        certificate_id=item.id, document_sha256=item.sha256)
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
        if body.subscribe:  # after the log rows: they are what allows the subscription
            subscribe_found(key, results)
        return BatchResponse(results=results)

    def subscribe_found(key: ApiKey, results: list[BatchResult]) -> None:
        found = {str(r.certificate["id"]) for r in results if r.certificate}
        outcomes = subscriptions.subscribe(ctx.engine, key.id, sorted(found), actor=f"apikey:{key.name}")
        done = {o.ref for o in outcomes if o.refused is None}
        for r in results:
            r.subscribed = r.certificate is not None and str(r.certificate["id"]) in done

    def batch_record(key: ApiKey, item: BatchItem) -> tuple[Report, CertificateRecord]:
        """A number with its access code, for a registry: counted like the public form (per
        certificate, and per API key as its client), audited as the registry's reading."""
        number = item.number
        assert number is not None  # verify_batch asks here only for items with a number
        with Session(ctx.engine) as s:
            cert = find_by_number(s, number)
        cert = gate.open_record_as(f"apikey:{key.id}", f"apikey:{key.name}", cert, item.access_code, number,
                                   route="batch", api_key_id=key.id)
        return verify_record(ctx, cert), full_record(cert, summary(cert))

    @r.get("/api/v1/certificates/{certificate_id}/status", tags=["verify"],
           summary="Public status of a certificate: no personal data")
    async def certificate_status(certificate_id: uuid.UUID) -> Response:
        key = ("status", certificate_id)
        return _json(await gate.lookups.through(key, lambda: json.dumps(_status(certificate_id)).encode()))

    def _status(certificate_id: uuid.UUID) -> dict:
        stored = load_one(ctx.engine, certificate_id=certificate_id)
        if stored is None:
            raise UnknownCertificate("no certificate with this id", "查无此公证书")
        cert, anchor = stored.cert, stored.anchor
        body = summary(cert).model_dump(mode="json")
        successor = str(cert.superseded_by) if cert.superseded_by else None
        local = local_status_check(cert.status, successor, cert.revoked_at, cert.revocation_reason)
        receipt = anchor.receipt if anchor else None
        body["anchor"] = {"state": anchor.state if anchor else "pending"}
        if anchor and receipt:
            body["anchor"].update(tx_hash=receipt.tx_hash, block_number=receipt.block_number,
                                  block_time=anchor.block_time.isoformat() if anchor.block_time else None,
                                  root=receipt.root, chain_id=receipt.chain_id)
        body["ledger"], on_ledger = _ledger_word(cert, receipt)
        revocation = revocation_from(local or on_ledger)
        body["revocation"] = revocation.model_dump(mode="json") if revocation else None
        return body

    def _ledger_word(cert: Certificate, receipt: AnchorReceipt | None) -> tuple[dict | None, Check | None]:
        """Where the ledger mirror stands, and what it says of the certificate's leaf (a
        revocation recorded on the ledger but not here, say)."""
        if ctx.mirror is None:
            return None, None
        state = ctx.mirror.state()
        if state is None:
            return {"source": "mirror", "current": False, "why": "the ledger mirror has not started"}, None
        word: dict = {"source": "mirror", "block_number": state.block_number, "current": state.current}
        if not state.current:
            return word | {"why": state.why_not}, None
        if receipt is None:
            return word, None
        evidence = ctx.mirror.evidence(state, bytes.fromhex(cert.signer_fingerprint), bytes.fromhex(receipt.root),
                                       bytes.fromhex(receipt.leaf_hash))
        word["anchored"] = evidence.anchor is not None
        return word, ledger_status_check(evidence)[0]

    @r.get("/api/v1/certificates/{certificate_id}/receipt", response_model=AnchorReceipt, tags=["verify"],
           summary="The anchor receipt (proof bundle) once the certificate is anchored")
    def certificate_receipt(certificate_id: uuid.UUID) -> AnchorReceipt:
        stored_record(ctx, certificate_id)
        with Session(ctx.engine) as s:
            anchor = anchor_status(s, certificate_id)
        if anchor is None or anchor.receipt is None:
            raise UnknownCertificate("the certificate is not anchored yet; try again in a few seconds",
                                     "该公证书尚未完成上链锚定，请几秒钟后再试")
        return anchor.receipt

    return r


def _json(body: bytes) -> Response:
    # Cached answers are kept serialised: a hit costs no validation or encoding.
    return Response(body, media_type="application/json")
