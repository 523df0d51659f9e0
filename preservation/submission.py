"""Receive evidence for preservation: a file, or only its SHA-256, with a description. The
office records when it received it, timestamps the fingerprint (RFC 3161), seals the file,
and issues the preservation certificate (保全证书) like every certificate: numbered, signed,
anchored. The evidence and its certificate are stored in one transaction: if signing or
storing fails, neither remains (and the number is given back)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field

from sqlmodel import Session

from issuer.auth import Principal, Role
from issuer.service import AuditEntry, IssuedCertificate, issue_parsed
from records.errors import InvalidMatterData
from records.matters import MatterInput, invalid_fields, parse_matter
from records.matters.evidence import EvidencePreservationInput
from records.models import Owner
from storage.clock import utcnow
from verifier.certified_text import statement_phrase_in

from .context import PreservationContext
from .errors import EvidenceTooLarge, InvalidSubmission, PreservationNotSetUp
from .models import PreservedEvidence
from .sealed_files import seal_file
from .timestamping import timestamp_digest

MATTER = EvidencePreservationInput.key
# The submitter token of evidence received at the office's command line, which has none.
COMMAND_LINE_TOKEN = uuid.UUID(int=0)
# The matter's field names as a submitter knows them (Submission), for field errors.
_SUBMITTED_AS = {"evidence_sha256": "sha256", "evidence_size": "size", "evidence_name": "file_name",
                 "evidence_name_en": "file_name_en"}


@dataclass(frozen=True)
class Submission:
    """What a submitter sends: the person who submits (for a client's token, its holder:
    ``applicant_name`` is then filled in, or must be theirs), what the evidence is, and either
    the file (``content``) or its SHA-256 (``sha256``, with the ``size`` they declare)."""

    sex: str | None = None
    birth_date: str | dt.date | None = None
    id_number: str | None = None
    description: str | None = None
    applicant_name: str | None = None
    description_en: str | None = None
    on_behalf_of: str | None = None
    on_behalf_of_en: str | None = None
    content: bytes | None = field(default=None, repr=False)
    sha256: str | None = None
    size: int | None = None
    file_name: str | None = None
    file_name_en: str | None = None
    language: str = "zh"


@dataclass(frozen=True)
class Preserved:
    """The evidence as received, and its certificate (whose access code is shown once)."""

    evidence_id: uuid.UUID
    certificate: IssuedCertificate
    sha256: str
    size: int | None
    file_name: str | None
    description: str
    received_at: dt.datetime
    timestamp_time: dt.datetime
    file_kept: bool
    retention_until: dt.date


def operator_principal(name: str, office_code: str) -> Principal:
    """The office's operator at the command line, receiving evidence for a walk-in client:
    staff of the office who holds no token, so the file is released on a recorded order only."""
    return Principal(COMMAND_LINE_TOKEN, name, Role.OFFICE_ADMIN, office_code, None)


def submit(ctx: PreservationContext, principal: Principal, submission: Submission, *,
           notary: str | None = None, today: dt.date | None = None, actor: str | None = None) -> Preserved:
    """Preserve the evidence and issue its certificate, owned by ``principal`` (a client of
    the office, or its staff for a walk-in client). Every field is checked, under the
    certificates' text policy, before the timestamp is asked for and before a number is
    taken. ``notary``: who signs, for the command line (else the notary's own token names
    them, anyone else gets the office's duty notary); ``actor``: the audit log's (default the
    principal's). Runs the timestamp and the signing here: call it from a worker thread,
    never on an event loop."""
    principal.require_client(ctx.office_code)
    received_at = utcnow()
    sha256, size, content = _evidence(ctx, submission)
    evidence_id = uuid.uuid4()
    retention_until = (today or dt.date.today()) + dt.timedelta(days=ctx.retention_days)
    matter = _validated(ctx, principal, submission, notary, evidence_id=evidence_id, sha256=sha256, size=size,
                        received_at=received_at, file_kept=content is not None, retention_until=retention_until)
    stamp = timestamp_digest(ctx.issuing.timestamper, bytes.fromhex(sha256))
    matter = matter.model_copy(update={"timestamp_time": stamp.time})
    sealed = seal_file(ctx.file_key, evidence_id, content) if content is not None else None

    def store_evidence(s: Session, issued: IssuedCertificate) -> list[AuditEntry]:
        # In the certificate's own transaction: both are stored, or neither.
        s.add(PreservedEvidence(
            id=evidence_id, certificate_id=issued.id, office_code=ctx.office_code,
            submitter_token_id=principal.token_id, submitter_holder=principal.holder_id,
            submitter_name=principal.name[:120], sha256=sha256, size=size, file_name=matter.evidence_name,
            description=matter.description, received_at=received_at, timestamp_token=stamp.token,
            timestamp_time=stamp.time, file_sealed=sealed, retention_until=retention_until))
        return [("preservation.submit", str(evidence_id), {
            "certificate": str(issued.id), "sha256": sha256, "size": size, "file_kept": sealed is not None,
            "role": principal.role.value})]

    issued = issue_parsed(ctx.issuing, MATTER, matter, actor=actor or principal.actor, language=submission.language,
                          issued_by=Owner(principal.name, principal.holder_id), on_store=store_evidence)
    return Preserved(evidence_id, issued, sha256, size, matter.evidence_name, matter.description, received_at,
                     stamp.time, content is not None, retention_until)


def _evidence(ctx: PreservationContext, submission: Submission) -> tuple[str, int | None, bytes | None]:
    """(SHA-256 hex, size, the file or None): a file, or a fingerprint, never both or neither."""
    content, declared = submission.content, submission.sha256
    if content is None and declared is None:
        raise InvalidSubmission("send the file (multipart field 'file') or its SHA-256 ('sha256')",
                                "请上传文件（表单字段 file）或提交其 SHA-256 数字指纹（sha256）", "file", "missing")
    if content is not None and declared is not None:
        raise InvalidSubmission("send the file or its SHA-256, not both", "文件与数字指纹只能提交其一",
                                "sha256", "exclusive")
    if content is None:
        assert declared is not None
        # Case and surrounding blanks are how people copy hashes; the matter checks the rest.
        return declared.strip().lower(), submission.size, None
    if len(content) > ctx.max_bytes:
        raise EvidenceTooLarge(ctx.max_bytes)
    if not content:
        raise InvalidSubmission("the file is empty", "上传的文件是空的", "file", "empty")
    if submission.size is not None and submission.size != len(content):
        raise InvalidSubmission(f"the file has {len(content)} bytes, not the {submission.size} declared",
                                f"文件实际为 {len(content)} 字节，与申报的 {submission.size} 字节不符", "size", "mismatch")
    return hashlib.sha256(content).hexdigest(), len(content), content


def _validated(ctx: PreservationContext, principal: Principal, submission: Submission, notary: str | None, *,
               evidence_id: uuid.UUID, sha256: str, size: int | None, received_at: dt.datetime, file_kept: bool,
               retention_until: dt.date) -> EvidencePreservationInput:
    """The certificate's matter, every field checked as any certificate's are (text policy,
    ID number, the font's characters). Its timestamp time is the receipt's until the
    timestamp is taken. Field errors name the fields as submitted."""
    values = {
        "applicant_name": _applicant(principal, submission.applicant_name), "sex": submission.sex,
        "birth_date": submission.birth_date, "id_number": submission.id_number,
        "notary": _notary(ctx, principal, notary), "preservation_id": evidence_id.hex, "evidence_sha256": sha256,
        "evidence_size": size, "evidence_name": submission.file_name, "evidence_name_en": submission.file_name_en,
        "description": submission.description, "description_en": submission.description_en,
        "on_behalf_of": submission.on_behalf_of, "on_behalf_of_en": submission.on_behalf_of_en,
        "received_at": received_at, "timestamp_time": received_at, "file_kept": file_kept,
        "retention_until": retention_until if file_kept else None,
    }
    try:
        matter = parse_matter(MATTER, {k: v for k, v in values.items() if v is not None})
        ctx.issuing.check_printable(matter, submission.language)
        _no_second_statement(matter)
    except InvalidMatterData as exc:
        raise _as_submitted(exc) from None
    assert isinstance(matter, EvidencePreservationInput)  # the model of MATTER
    return matter


def _no_second_statement(matter: MatterInput) -> None:
    """Refuse free text that repeats the certificate's own fingerprint or timestamp phrase:
    the certificate would print a second fingerprint (or time) under the office's seal,
    beside the one it certifies (verifier.certified_text)."""
    errors = [{"field": name, "rule": "statement_phrase",
               "message": f"may not contain the certificate's own phrase \"{phrase}\"",
               "message_zh": f"不得包含公证书自身的表述“{phrase}”"}
              for name, value in matter.model_dump().items()
              if isinstance(value, str) and (phrase := statement_phrase_in(value)) is not None]
    if errors:
        raise InvalidMatterData("the text repeats the certificate's statement of a fingerprint or time", errors,
                                "填写的内容不得重复公证书关于数字指纹或时间戳的表述")


def _applicant(principal: Principal, named: str | None) -> str | None:
    """A client submits as themself: the token holder's name, filled in when left out."""
    if principal.role != Role.CLIENT:
        return named  # staff name the walk-in client
    if named is None or named.strip() == principal.name:
        return principal.name
    raise _as_submitted(InvalidMatterData(
        f"a client submits in their own name, {principal.name}", [{
            "field": "applicant_name", "rule": "token_holder",
            "message": f"evidence submitted with {principal.name}'s token is submitted by {principal.name}",
            "message_zh": f"申请人姓名：以{principal.name}的令牌提交的保全申请，申请人只能是{principal.name}"}],
        f"申请人姓名须为令牌持有人{principal.name}"))


def _notary(ctx: PreservationContext, principal: Principal, named: str | None) -> str:
    """The notary the certificate names: the one asked for (the command line), a notary's own
    token's holder, else the office's duty notary."""
    if named:
        return named
    if principal.role == Role.NOTARY:
        return principal.name
    if ctx.duty_notary is None:
        raise PreservationNotSetUp()
    return ctx.duty_notary


def _as_submitted(exc: InvalidMatterData) -> InvalidMatterData:
    """The same refusal, its fields named as the submitter sent them."""
    errors = [{**e, "field": _SUBMITTED_AS.get(e["field"], e["field"])} for e in exc.errors]
    return invalid_fields(EvidencePreservationInput.title_en, EvidencePreservationInput.title_zh, errors)
