"""The regulator's random inspection (双随机、一公开): draws committed on the ledger before
their seed exists, completed from the hash of the block after the commitment, published
for anyone to re-derive (console.draw_procedure, docs/inspection-draw.md), and the findings
on each drawn certificate. Every commitment, completion and finding is audited.

A draw is recorded (and audited) before its commitment is sent, so a draw whose commitment
never reached the ledger stays listed, COMMITTED, rather than vanish; a new draw is then
made (a commitment is never sent twice: two ledger copies would offer two seeds)."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from web3.exceptions import Web3RPCError

from anchoring.chain import RegistryClient
from anchoring.errors import TransactionFailed
from records import audit
from records.lookups import find_by_reference
from records.matters import MATTERS
from records.models import Certificate
from signing.text_safety import REASONS, code_point
from signing.text_safety import policy_problem
from storage.clock import utcnow
from storage.sessions import read_session, write_session

from .dates import FIRST_YEAR, LAST_YEAR, in_calendar
from .draw_procedure import FORMAT, commitment_note, commitment_of, committed_object, derive_selection
from .errors import (
    CertificateNotInDraw,
    DrawNotDrawn,
    DrawNotFound,
    EmptyPopulation,
    InvalidDrawParameters,
    InvalidFinding,
    NotRegistryAdmin,
)
from .models import DrawState, FindingOutcome, InspectionDraw, InspectionFinding

MAX_SAMPLE = 1000
MAX_YEARS = 5
MAX_NOTE = 500
_OFFICE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


# ---------------------------------------------------------------------------------- parameters

FIRST_PREVIOUS = "0" * 64  # what the first draw names as the one before it
CHAIN_ATTEMPTS = 5


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_parameters(office: str | None, matter: str | None, period_from: dt.date, period_to: dt.date,
                     sample_size: int) -> tuple[str | None, str | None]:
    """The office and matter as drawn (None: all); InvalidDrawParameters for what cannot be."""
    office = (office or "").strip() or None
    matter = (matter or "").strip() or None
    if office is not None and not _OFFICE_CODE.fullmatch(office):
        raise InvalidDrawParameters("an office code has 1 to 64 letters, digits, '.', '_' or '-'",
                                    "公证处代码为1至64个字母、数字或“.”“_”“-”")
    if matter is not None and matter not in MATTERS:
        raise InvalidDrawParameters(f"unknown matter {matter[:40]!r}", f"未知的公证事项：{matter[:40]}")
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or not 1 <= sample_size <= MAX_SAMPLE:
        raise InvalidDrawParameters(f"the sample size is 1 to {MAX_SAMPLE}", f"抽取数量为1至{MAX_SAMPLE}件")
    if not (in_calendar(period_from) and in_calendar(period_to)):
        raise InvalidDrawParameters(f"the period lies between {FIRST_YEAR} and {LAST_YEAR}",
                                    f"抽查期间应在{FIRST_YEAR}年至{LAST_YEAR}年之间")
    if period_from > period_to:
        raise InvalidDrawParameters("the period ends before it begins", "抽查期间的结束日期早于开始日期")
    if period_to > _years_later(period_from, MAX_YEARS):
        raise InvalidDrawParameters(f"the period is at most {MAX_YEARS} years", f"抽查期间最长{MAX_YEARS}年")
    return office, matter


def population(engine: Engine, office: str | None, matter: str | None, period_from: dt.date,
               period_to: dt.date) -> list[str]:
    """The numbers of the certificates the draw is made from, sorted: the office's (None:
    every office's), of the matter (None: every matter), issued on a date (UTC) in the
    period, whatever their status."""
    start = dt.datetime.combine(period_from, dt.time(), dt.timezone.utc)
    end = dt.datetime.combine(period_to + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    query = select(Certificate.number).where(Certificate.issued_at >= start, Certificate.issued_at < end)
    if office is not None:
        query = query.where(Certificate.office_code == office)
    if matter is not None:
        query = query.where(Certificate.matter == matter)
    with Session(engine) as s:
        return sorted(set(s.exec(query).all()))


# ---------------------------------------------------------------------------------- the draw

def commit_draw(engine: Engine, registry: RegistryClient, admin_account: LocalAccount, *, office: str | None,
                matter: str | None, period_from: dt.date, period_to: dt.date, sample_size: int,
                actor: str) -> InspectionDraw:
    """Fix the population and the parameters and publish their commitment on the ledger
    (from the registry administrator's account). The draw is stored and audited before the
    commitment is sent; it returns COMMITTED with ``commit_block`` once the commitment is
    mined (a ledger error after the draw is stored propagates, leaving it without one)."""
    office, matter = check_parameters(office, matter, period_from, period_to, sample_size)
    if registry.admin() != admin_account.address:
        raise NotRegistryAdmin()
    numbers = population(engine, office, matter, period_from, period_to)
    if not numbers:
        raise EmptyPopulation()
    for attempt in range(CHAIN_ATTEMPTS):
        # The draw before this one, which this one names; two draws naming the same one (made
        # at the same moment) cannot both be stored: the later takes the other as its own.
        with read_session(engine) as s:
            previous = s.exec(select(InspectionDraw.commitment).order_by(
                col(InspectionDraw.created_at).desc(), col(InspectionDraw.id)).limit(1)).first() or FIRST_PREVIOUS
        committed = committed_object(office=office, matter=matter, period_from=period_from, period_to=period_to,
                                     sample_size=sample_size, population=numbers, chain_id=registry.chain_id(),
                                     registry=registry.address, nonce=secrets.token_hex(16), previous=previous)
        commitment = commitment_of(committed)
        sent, raw = registry.sign_note(admin_account, commitment_note(commitment))  # signed here, sent below
        draw = InspectionDraw(office_code=office, matter=matter, period_from=period_from, period_to=period_to,
                              sample_size=sample_size, population_size=len(numbers),
                              population_sha256=committed["population_sha256"], nonce=committed["nonce"],
                              chain_id=committed["chain_id"], registry_address=committed["registry"],
                              population_json=json.dumps(numbers, ensure_ascii=False), commitment=commitment,
                              previous_commitment=previous,
                              commit_tx=sent.tx_hash, state=DrawState.COMMITTED, created_by=actor[:120])
        try:
            with write_session(engine) as s:
                s.expire_on_commit = False
                s.add(draw)
                audit.append(s, actor, "inspection.commit", str(draw.id), {
                    "commitment": commitment, "previous": previous, "office": office, "matter": matter,
                    "from": period_from.isoformat(), "to": period_to.isoformat(), "sample_size": sample_size,
                    "population_size": len(numbers), "commit_tx": sent.tx_hash},
                             office=None)  # the regulator's: never in an office's trail
                s.commit()
            break
        except IntegrityError:
            if attempt == CHAIN_ATTEMPTS - 1:
                raise
    try:
        registry.broadcast(raw)
    except Web3RPCError as exc:
        raise TransactionFailed(f"the draw's commitment was refused by the node: {exc}") from exc
    receipt = registry.wait(sent.tx_hash)
    with write_session(engine) as s:
        s.expire_on_commit = False
        stored = s.get(InspectionDraw, draw.id, with_for_update=True)
        assert stored is not None  # stored above; draws are never deleted
        stored.commit_block = int(receipt["blockNumber"])
        s.add(stored)
        s.commit()
        return stored


def complete_draw(engine: Engine, registry: RegistryClient, admin_account: LocalAccount | None,
                  draw_id: uuid.UUID | str, *, actor: str, mine_if_needed: bool) -> InspectionDraw:
    """Choose the sample once the block after the commitment's is on the ledger; the draw
    as it is when that block (or the commitment) is not there yet. Idempotent.

    ``mine_if_needed``: on a development node that mines only when a transaction arrives,
    send an empty transaction (from ``admin_account``) to make the seed block. On a shared
    chain leave it false: blocks come by themselves."""
    draw = get_draw(engine, draw_id)
    if draw.state == DrawState.DRAWN or draw.commit_tx is None:
        return draw
    # Read again each time: until the sample is chosen, the block holding the commitment
    # is the ledger's word, not ours (a chain that reorganised may have moved it).
    receipt = registry.receipt_if_mined(draw.commit_tx)
    if receipt is None or receipt["status"] != 1:
        return draw
    commit_block = int(receipt["blockNumber"])
    seed_block = commit_block + 1
    if registry.block_number() < seed_block and mine_if_needed:
        if admin_account is None:
            raise ValueError("mining the seed block needs an account")
        registry.send_note(admin_account, b"")
    header = registry.block_header(seed_block)
    if header is None:
        if draw.commit_block != commit_block:
            draw = _store_commit_block(engine, draw.id, commit_block)
        return draw
    seed_hash = header[0].lower()
    selected = derive_selection(draw.commitment, seed_hash, json.loads(draw.population_json), draw.sample_size)
    with write_session(engine) as s:
        s.expire_on_commit = False
        stored = s.get(InspectionDraw, draw.id, with_for_update=True)
        assert stored is not None
        if stored.state == DrawState.DRAWN:  # completed by someone else meanwhile
            return stored
        stored.commit_block, stored.seed_block, stored.seed_block_hash = commit_block, seed_block, seed_hash
        stored.selected_json = json.dumps(selected, ensure_ascii=False)
        stored.state, stored.drawn_at = DrawState.DRAWN, utcnow()
        s.add(stored)
        audit.append(s, actor, "inspection.draw", str(stored.id), {
            "commitment": stored.commitment, "commit_block": commit_block, "seed_block": seed_block,
            "seed_block_hash": seed_hash, "selected": selected}, office=None)
        s.commit()
        return stored


def _store_commit_block(engine: Engine, draw_id: uuid.UUID, block: int) -> InspectionDraw:
    with write_session(engine) as s:
        s.expire_on_commit = False
        stored = s.get(InspectionDraw, draw_id, with_for_update=True)
        assert stored is not None
        if stored.state == DrawState.COMMITTED:
            stored.commit_block = block
            s.add(stored)
            s.commit()
        return stored


def _draw_uuid(draw_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(draw_id, uuid.UUID):
        return draw_id
    try:
        return uuid.UUID(str(draw_id).strip())
    except ValueError:
        raise DrawNotFound() from None


def get_draw(engine: Engine, draw_id: uuid.UUID | str) -> InspectionDraw:
    with read_session(engine) as s:
        draw = s.get(InspectionDraw, _draw_uuid(draw_id))
    if draw is None:
        raise DrawNotFound()
    return draw


def selected(draw: InspectionDraw) -> list[str]:
    """The draw's sample, in draw order (empty while it is only committed)."""
    return json.loads(draw.selected_json) if draw.selected_json else []


def list_draws(engine: Engine, limit: int = 50, offset: int = 0) -> list[InspectionDraw]:
    """Draws, newest first."""
    with read_session(engine) as s:
        return list(s.exec(select(InspectionDraw).order_by(col(InspectionDraw.created_at).desc(),
                                                           col(InspectionDraw.id)).offset(offset).limit(limit)))


def published_draw(engine: Engine, draw_id: uuid.UUID | str) -> dict[str, Any]:
    """The draw as published (双随机、一公开): what anyone needs to re-derive it with a chain
    node (console.draw_procedure.verify_published, ``notary inspect verify-draw``).
    DrawNotDrawn while its seed block is not on the ledger."""
    draw = get_draw(engine, draw_id)
    if draw.state != DrawState.DRAWN:
        raise DrawNotDrawn()
    numbers = json.loads(draw.population_json)
    committed = committed_object(office=draw.office_code, matter=draw.matter, period_from=draw.period_from,
                                 period_to=draw.period_to, sample_size=draw.sample_size, population=numbers,
                                 chain_id=draw.chain_id, registry=draw.registry_address, nonce=draw.nonce,
                                 previous=draw.previous_commitment)
    return {
        "format": FORMAT,
        "draw_id": str(draw.id),
        "committed": committed,
        "commitment": draw.commitment,
        "commit_tx": draw.commit_tx,
        "commit_block": draw.commit_block,
        "seed_block": draw.seed_block,
        "seed_block_hash": draw.seed_block_hash,
        "selected": selected(draw),
        "population": numbers,
        "drawn_at": draw.drawn_at.isoformat() if draw.drawn_at else None,
    }


# ---------------------------------------------------------------------------------- findings

def clean_note(note: str | None) -> str | None:
    """The note as kept: line breaks made ``\\n``, trimmed, at most MAX_NOTE characters, and
    no character that would not show as what is stored (control, invisible, private-use):
    such a note is refused, naming the character."""
    if note is None:
        return None
    text = note.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_NOTE:
        raise InvalidFinding(f"the note has at most {MAX_NOTE} characters", f"备注最多{MAX_NOTE}个字符")
    for position, ch in enumerate(text, 1):
        reason = policy_problem(ch) if ch not in "\n\t" else None
        if reason is not None:
            en, zh = REASONS[reason]
            raise InvalidFinding(f"character {position} of the note is {en} ({code_point(ch)}); remove it",
                                 f"备注第{position}个字符是{zh}（{code_point(ch)}），请删除")
    return text or None


def record_finding(engine: Engine, draw_id: uuid.UUID | str, certificate_number_or_id: str, outcome: str,
                   note: str | None, actor: str) -> InspectionFinding:
    """Record the finding on one drawn certificate (the latest counts; each is audited)."""
    try:
        result = FindingOutcome(outcome)
    except ValueError:
        raise InvalidFinding(f"the outcome is one of {', '.join(o.value for o in FindingOutcome)}",
                             "检查结论须为：合规、存在问题、需进一步核查") from None
    kept = clean_note(note)
    with write_session(engine) as s:
        s.expire_on_commit = False
        draw = s.get(InspectionDraw, _draw_uuid(draw_id))
        if draw is None:
            raise DrawNotFound()
        if draw.state != DrawState.DRAWN:
            raise DrawNotDrawn()
        cert = find_by_reference(s, str(certificate_number_or_id))
        if cert is None or cert.number not in selected(draw):
            raise CertificateNotInDraw()
        finding = InspectionFinding(draw_id=draw.id, certificate_id=cert.id, outcome=result.value, note=kept,
                                    recorded_by=actor[:120])
        s.add(finding)
        audit.append(s, actor, "inspection.finding", str(cert.id), {
            "draw": str(draw.id), "number": cert.number, "outcome": result.value, "note": kept or ""},
            office=None)
        s.commit()
        return finding


def findings(engine: Engine, draw_id: uuid.UUID | str) -> list[InspectionFinding]:
    """Every finding recorded on the draw, oldest first (per certificate the latest counts)."""
    uid = get_draw(engine, draw_id).id
    with read_session(engine) as s:
        return list(s.exec(select(InspectionFinding).where(InspectionFinding.draw_id == uid)
                           .order_by(col(InspectionFinding.id))))
