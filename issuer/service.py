"""Issue a certificate: validate, reserve a number, render and sign (outside any transaction),
then store and enqueue it in one short transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pyhanko.sign.timestamps import TimeStamper
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.outbox import enqueue
from feed import events as feed_events
from feed.models import EventKind
from keys.store import OfficeSigner
from observability.metrics import CERTIFICATES_ISSUED, ISSUE_SECONDS
from records import audit
from records.access import hash_access_code, new_access_code
from records.check_codes import check_code, verify_url
from records.errors import InvalidMatterData
from records.matters import MatterInput, parse_matter, requestable_matter
from records.models import Certificate, CertificateDocument, Owner
from records.numbers import format_number
from signing.pades import LEVELS, LongTermMaterial, SignatureLevel
from storage.sessions import write_session

from . import numbering
from .key_guard import SigningKeyGuard
from .policy import REFUSAL_ACTION, PolicyOutcome, PolicyViolation, apply_policies
from .render import CertificatePage, check_printable
from .signing_pool import SigningPool, sign_page


@dataclass(frozen=True)
class Office:
    name: str  # 上海市东方公证处
    code: str  # SH-DONGFANG
    abbrev: str  # 沪东


@dataclass(frozen=True)
class IssuerContext:
    """What issuing needs, wired once by the application shell."""

    engine: Engine
    office: Office
    signer: OfficeSigner
    public_base_url: str
    qr_key: bytes
    font_path: Path
    timestamper: TimeStamper | None = None  # None: PAdES B-B
    pool: SigningPool | None = None  # render and sign in worker processes when set
    level: str = SignatureLevel.B_T  # the office's default PAdES level; a request may ask for a higher one
    # For B-LT / B-LTA: the validation material to embed, read afresh for each batch (CRLs age).
    long_term: Callable[[], LongTermMaterial] | None = None
    # Reloads a rotated key and refuses one that may not sign (None: ``signer`` as given).
    key_guard: SigningKeyGuard | None = None

    def current_signer(self) -> OfficeSigner:
        """The key to sign with now; raises SigningKeyNotUsable (a 503) for a key that is
        expired, revoked or retired. Called before a number is taken."""
        return self.key_guard.current() if self.key_guard is not None else self.signer

    def check_level(self, level: str | None) -> SignatureLevel:
        """The level to sign at: the default, or a higher one asked for (B-LT, B-LTA)."""
        default = SignatureLevel(self.level)
        if level is None or level == default:
            return default
        offered = [lv.value for lv in LEVELS if lv.at_least(default)]
        if level not in offered:
            raise InvalidMatterData(f"signature level {level} is not offered; use {', '.join(offered)}",
                                    [{"field": "level", "rule": "enum", "message": f"one of {offered}",
                                      "message_zh": f"签名级别：只能是 {'、'.join(offered)} 之一"}],
                                    f"不提供签名级别 {level}，可选：{'、'.join(offered)}")
        if self.timestamper is None or self.long_term is None:
            raise InvalidMatterData(f"signature level {level} needs a timestamp service, which this office has not set up",
                                    [{"field": "level", "rule": "unavailable", "message": "no timestamp service",
                                      "message_zh": "签名级别：本处未配置时间戳服务"}],
                                    f"签名级别 {level} 需要时间戳服务，本处未配置")
        return SignatureLevel(level)

    def check_printable(self, matter: MatterInput, language: str = "zh") -> None:
        """Refuse (InvalidMatterData naming the field) text the certificate cannot print as
        recorded: a character the office's CJK font lacks, or a value that cannot be laid
        out. Runs before a number is taken."""
        check_printable(matter, self.font_path, bilingual=language == "zh-en")

    def render_and_sign(self, pages: list[CertificatePage], levels: Sequence[str] | None = None) -> list[bytes]:
        """Signed PDFs (at ``levels``, else the default): in the signing pool when there is
        one, else here."""
        levels = levels or [self.level] * len(pages)
        wanted = [SignatureLevel(lv) for lv in levels]
        base = self.long_term() if self.long_term is not None and any(lv.long_term for lv in wanted) else None
        long_terms = [replace(base, archive_timestamp=lv == SignatureLevel.B_LTA)
                      if lv.long_term and base is not None else None for lv in wanted]
        if self.pool is not None:
            return self.pool.render_and_sign_many(pages, long_terms)
        signer = self.current_signer()
        return [sign_page(p, self.font_path, signer, self.office.name, self.timestamper, lt)
                for p, lt in zip(pages, long_terms)]


@dataclass(frozen=True)
class IssuedCertificate:
    id: uuid.UUID
    number: str
    verify_url: str
    document_sha256: str
    pdf: bytes = field(repr=False)
    access_code: str = field(repr=False, default="")


# Called in the transaction that stores a certificate, after its rows are added and before
# the audit log is written: what must commit with it (the idempotency record, the draft's
# change of state, the superseded certificate). It may raise to store nothing, and returns
# the audit events (action, target, details) to record after the certificate's own. Row
# locks it takes come before the audit log's lock, in the same order as every other change.
AuditEntry = tuple[str, str, dict]
OnStore = Callable[[Session, "IssuedCertificate"], list[AuditEntry]]


def issue_certificate(ctx: IssuerContext, matter_key: str, data: object, *, issue_date: dt.date | None = None,
                      actor: str = "cli", language: str = "zh", level: str | None = None,
                      issued_by: Owner | None = None, on_store: OnStore | None = None) -> IssuedCertificate:
    """Issue one certificate. The certificate, its PDF, its outbox row and its audit event
    (and what ``on_store`` adds) commit together. ``level``: a PAdES level above the office's
    default (B-LT, B-LTA). ``issued_by``: the person it belongs to (default: named
    ``actor``), see Principal.check_read. A matter the service records itself (evidence
    preservation) is refused: it is issued from its receipt, through ``issue_parsed``."""
    requestable_matter(matter_key)
    matter = parse_matter(matter_key, data)
    return issue_parsed(ctx, matter_key, matter, issue_date=issue_date, actor=actor, language=language,
                        level=level, issued_by=issued_by, on_store=on_store)


def issue_parsed(ctx: IssuerContext, matter_key: str, matter: MatterInput, *,
                 issue_date: dt.date | None = None, supersedes: uuid.UUID | None = None,
                 actor: str = "cli", language: str = "zh", level: str | None = None,
                 issued_by: Owner | None = None, corrects_number: str | None = None,
                 on_store: OnStore | None = None) -> IssuedCertificate:
    """Check, number, render, sign and store a validated matter.

    No transaction is open while the page is rendered and signed: the number is reserved in
    one short transaction and the certificate stored in another (issuer.numbering), which
    gives the number back if anything fails in between.
    ``supersedes``/``corrects_number``: the certificate this one corrects, named in its text."""
    started = time.perf_counter()
    issue_date = issue_date or dt.date.today()
    policy = enforce_policies(ctx, [(matter_key, matter)], issue_date, actor, supersedes)[0]  # before a number is taken
    level = ctx.check_level(level)
    ctx.check_printable(matter, language)  # likewise; rendering repeats it
    ctx.current_signer()  # fail closed on a key that may not sign, before a number is taken
    with numbering.reserved(ctx.engine, ctx.office.code, issue_date.year) as reservation:
        numbered = _number(ctx, matter_key, matter, issue_date, reservation.serials[0], policy, supersedes, language,
                           level, corrects_number)
        (pdf,) = ctx.render_and_sign([numbered.page], [level])
        with write_session(ctx.engine) as s:
            reservation.consume(s)
            issued, event = _store(s, ctx, numbered, pdf, issued_by or Owner(actor))
            more = on_store(s, issued) if on_store is not None else []
            audit.append_many(s, [(actor, *e) for e in [event, *more]], office=ctx.office.code)
            s.commit()
    _count_issued([(matter_key, level)], time.perf_counter() - started)
    return issued


@dataclass(frozen=True)
class IssueRequest:
    matter_key: str
    matter: MatterInput
    language: str = "zh"
    level: str | None = None  # None: the office's default


def issue_batch(ctx: IssuerContext, requests: list[IssueRequest], *, issue_date: dt.date | None = None,
                actor: str = "cli", issued_by: Owner | None = None) -> list[IssuedCertificate]:
    """Issue several validated requests: their numbers reserved together (consecutive unless
    numbers given back are reused first), pages signed in parallel by the signing pool, all
    stored in one transaction or none (numbers given back if signing fails half-way)."""
    if not requests:
        return []
    for r in requests:
        requestable_matter(r.matter_key)  # typed data: never a matter the service records itself
    started = time.perf_counter()
    issue_date = issue_date or dt.date.today()
    levels = [ctx.check_level(r.level) for r in requests]
    # Before numbers are taken.
    policies = enforce_policies(ctx, [(r.matter_key, r.matter) for r in requests], issue_date, actor)
    for i, r in enumerate(requests):
        try:
            ctx.check_printable(r.matter, r.language)
        except InvalidMatterData as exc:
            raise InvalidMatterData(f"request {i + 1}: {exc.message}", [{**e, "request": i} for e in exc.errors],
                                    f"第 {i + 1} 份申请：{exc.message_zh}") from None
    ctx.current_signer()  # fail closed on a key that may not sign, before numbers are taken
    with numbering.reserved(ctx.engine, ctx.office.code, issue_date.year, len(requests)) as reservation:
        numbered = [_number(ctx, r.matter_key, r.matter, issue_date, serial, policy, None, r.language, level)
                    for r, serial, policy, level in zip(requests, reservation.serials, policies, levels)]
        pdfs = ctx.render_and_sign([d.page for d in numbered], levels)
        with write_session(ctx.engine) as s:
            reservation.consume(s)
            stored = [_store(s, ctx, d, pdf, issued_by or Owner(actor)) for d, pdf in zip(numbered, pdfs)]
            audit.append_many(s, [(actor, *event) for _, event in stored], office=ctx.office.code)
            s.commit()
    _count_issued([(r.matter_key, lv) for r, lv in zip(requests, levels)], time.perf_counter() - started)
    return [issued for issued, _ in stored]


def enforce_policies(ctx: IssuerContext, matters: list[tuple[str, MatterInput]], issue_date: dt.date, actor: str,
                     supersedes: uuid.UUID | None = None) -> list[PolicyOutcome]:
    """The office's rules applied to each matter about to be issued. A refusal is recorded
    in the audit log (its own transaction, committed before the error goes back), one event
    per refused matter: the rule's code and the matter, never the applicant's name or id
    number; then the first refusal is raised. For issue attempts only (a bulk issuer that
    checks rows before ``issue_batch`` should check them here): a draft's check
    (drafts.check_draft) refuses nothing and records nothing."""
    outcomes: list[PolicyOutcome] = []
    refused: list[PolicyViolation] = []
    events: list[tuple[str, str, str, dict | None]] = []
    for matter_key, matter in matters:
        try:
            outcomes.append(apply_policies(matter, issue_date))
        except PolicyViolation as exc:
            refused.append(exc)
            events.append((actor, REFUSAL_ACTION, matter_key,
                           {"rule": exc.code, "matter": matter_key,
                            **({"supersedes": str(supersedes)} if supersedes else {})}))
    if refused:
        with write_session(ctx.engine) as s:
            audit.append_many(s, events, office=ctx.office.code)
            s.commit()
        raise refused[0]
    return outcomes


def _count_issued(issued: list[tuple[str, str]], seconds: float) -> None:
    """Metrics of certificates just stored: one count each, and the time per certificate."""
    for matter_key, level in issued:
        CERTIFICATES_ISSUED.labels(matter_key, str(level)).inc()
        ISSUE_SECONDS.labels(matter_key, str(level)).observe(seconds / len(issued))


@dataclass(frozen=True)
class _Numbered:
    """A certificate with its number taken and its page composed, not yet signed."""

    matter_key: str
    matter: MatterInput
    page: CertificatePage
    serial: int
    year: int
    access_code: str = field(repr=False)
    fee_exempt: bool
    fee_note: str | None
    supersedes: uuid.UUID | None
    language: str
    level: str


def _number(ctx: IssuerContext, matter_key: str, matter: MatterInput, issue_date: dt.date, serial: int,
            policy: PolicyOutcome, supersedes: uuid.UUID | None, language: str, level: str,
            corrects_number: str | None = None) -> _Numbered:
    certificate_id = uuid.uuid4()
    code = check_code(ctx.qr_key, certificate_id)
    url = verify_url(ctx.public_base_url, certificate_id, code)
    access_code = new_access_code()
    number = format_number(issue_date.year, ctx.office.abbrev, serial)
    page = CertificatePage(certificate_id, number, ctx.office.name, issue_date, matter, url, code, access_code,
                           bilingual=language == "zh-en", corrects_number=corrects_number)
    return _Numbered(matter_key, matter, page, serial, issue_date.year, access_code, policy.fee_exempt,
                     policy.fee_note, supersedes, language, level)


def _store(s: Session, ctx: IssuerContext, d: _Numbered, pdf: bytes,
           issued_by: Owner) -> tuple[IssuedCertificate, tuple[str, str, dict]]:
    """Add the certificate, its PDF and its outbox row; returns it and its audit event
    (action, target, details), which the caller appends (one at a time or as a batch)."""
    certificate_id, number, matter = d.page.certificate_id, d.page.number, d.matter
    digest = hashlib.sha256(pdf).digest()
    s.add(Certificate(
        id=certificate_id, number=number, office_code=ctx.office.code, office_name=ctx.office.name,
        year=d.year, serial=d.serial, matter=d.matter_key, applicant_name=matter.applicant_name,
        notary=matter.notary, issued_by=issued_by.name[:120], issued_by_holder=issued_by.holder, data_json=matter.model_dump_json(), document_sha256=digest.hex(),
        signer_fingerprint=ctx.current_signer().fingerprint.hex(), check_code=d.page.check_code,
        access_code_hash=hash_access_code(ctx.qr_key, certificate_id, d.access_code), supersedes=d.supersedes,
        fee_exempt=d.fee_exempt, fee_note=d.fee_note, accepting_office=matter.accepting_office,
        language=d.language, pades_level=d.level,
    ))
    s.add(CertificateDocument(certificate_id=certificate_id, pdf=pdf))
    enqueue(s, certificate_id, digest, ctx.office.code)
    feed_events.append(s, EventKind.ISSUED, ctx.office.code, certificate_id, {
        "number": number, "matter": d.matter_key, "issue_date": d.page.issue_date.isoformat(),
        "document_sha256": digest.hex(), **({"corrects": str(d.supersedes)} if d.supersedes else {})})
    event = ("correct" if d.supersedes else "issue", str(certificate_id),
             {"number": number, "matter": d.matter_key, "sha256": digest.hex(),
              **({"supersedes": str(d.supersedes)} if d.supersedes else {})})
    return IssuedCertificate(certificate_id, number, d.page.verify_url, digest.hex(), pdf, d.access_code), event
