"""The regulator's random inspection (双随机、一公开, issue #16): a draw is committed on the
real ledger before its seed block exists, completed from that block's hash, published, and
re-derived by anyone with the file and a chain node (verify_published, `notary inspect
verify-draw`); tampering with any part of a published draw is caught; findings are recorded
only on drawn certificates, and audited."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import signal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import col, select
from typer.testing import CliRunner

from anchoring.accounts import fund_on_dev_node
from anchoring.chain import connect
from console import inspection
from console.draw_procedure import (
    commitment_note,
    derive_selection,
    local_problems,
    parse_published,
    population_digest,
    verify_published,
)
from console.errors import (
    CertificateNotInDraw,
    DrawNotDrawn,
    DrawNotFound,
    EmptyPopulation,
    InvalidDrawParameters,
    InvalidFinding,
    NotAPublishedDraw,
    NotRegistryAdmin,
)
from console.models import DrawState, FindingOutcome, InspectionDraw
from issuer.service import Office, issue_certificate
from records import audit
from records.matters import EXAMPLES
from records.models import Certificate
from storage.sessions import read_session, write_session
from tests.cli_runner import in_process_cli
from tests.conftest import make_settings

OFFICE_B = Office("上海市徐汇公证处", "SH-XUHUI", "沪徐")
LONG_AGO = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def rt(runtime_factory, database_url):
    return runtime_factory(database_url=database_url, signature_level="B-B")


@dataclasses.dataclass
class Issued:
    a_births: list[str]  # office A, birth, issued today
    a_kinship: list[str]  # office A, kinship, today
    a_old: list[str]  # office A, birth, issued on 2025-03-01
    b_births: list[str]  # office B, birth, today


def _issue(rt) -> Issued:
    """Certificates of two offices, two matters and two dates, in one database."""
    ctx = rt.issuer_context()
    ctx_b = dataclasses.replace(ctx, office=OFFICE_B)
    births = [issue_certificate(ctx, "birth", EXAMPLES["birth"]).number for _ in range(6)]
    kinship = [issue_certificate(ctx, "kinship", EXAMPLES["kinship"]).number for _ in range(2)]
    b_births = [issue_certificate(ctx_b, "birth", EXAMPLES["birth"]).number for _ in range(3)]
    old = births[:2]
    with write_session(rt.engine) as s:
        s.exec(update(Certificate).where(col(Certificate.number).in_(old)).values(issued_at=LONG_AGO))
        s.commit()
    return Issued(births[2:], kinship, old, b_births)


def _today() -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.timezone.utc).date()
    return today - dt.timedelta(days=1), today


def _draw(rt, *, mine: bool = True, **params) -> InspectionDraw:
    draw = inspection.commit_draw(rt.engine, rt.registry, rt.accounts.admin, actor="regulator:李检查", **params)
    assert draw.state == DrawState.COMMITTED and draw.commit_block is not None
    return inspection.complete_draw(rt.engine, rt.registry, rt.accounts.admin, draw.id, actor="regulator:李检查",
                                    mine_if_needed=mine)


def _actions(rt, action: str) -> list[audit.AuditEvent]:
    return audit.list_events(rt.engine, action=action, limit=1000)


# ------------------------------------------------------------------------------ the draw, both databases

def test_a_draw_is_committed_first_then_seeded_by_the_next_block_and_re_derived(rt):
    issued = _issue(rt)
    start, end = _today()
    draw = _draw(rt, office=rt.office.code, matter="birth", period_from=start, period_to=end, sample_size=3)
    assert draw.state == DrawState.DRAWN
    numbers = sorted(issued.a_births)  # not the kinship ones, not office B's, not the old ones
    assert json.loads(draw.population_json) == numbers and draw.population_size == 4
    assert draw.population_sha256 == population_digest(numbers)
    assert draw.seed_block == draw.commit_block + 1
    assert draw.seed_block_hash == rt.registry.block_hash(draw.seed_block).lower()
    chosen = inspection.selected(draw)
    assert len(chosen) == 3 and set(chosen) <= set(numbers)
    assert chosen == derive_selection(draw.commitment, draw.seed_block_hash, numbers, 3)
    # The commitment is on the ledger, from the administrator, before the seed block.
    tx = rt.registry.read_transaction(draw.commit_tx)
    assert tx.block_number == draw.commit_block and tx.sender == rt.accounts.admin.address == tx.to
    assert tx.data == b"NOTARY-DRAW-V1:" + bytes.fromhex(draw.commitment)

    again = inspection.complete_draw(rt.engine, rt.registry, rt.accounts.admin, draw.id, actor="x",
                                     mine_if_needed=True)
    assert again.selected_json == draw.selected_json and len(_actions(rt, "inspection.draw")) == 1

    doc = inspection.published_draw(rt.engine, draw.id)
    assert doc["selected"] == chosen and doc["population"] == numbers and doc["committed"]["office"] == rt.office.code
    assert verify_published(doc, rt.registry) == []
    assert verify_published(json.loads(json.dumps(doc)), connect(rt.settings.rpc_url)) == []  # as an auditor: a node

    everything = _draw(rt, office=None, matter=None, period_from=start, period_to=end, sample_size=1000)
    assert everything.population_size == 4 + 2 + 3
    assert sorted(inspection.selected(everything)) == sorted(issued.a_births + issued.a_kinship + issued.b_births)
    office_b = _draw(rt, office=OFFICE_B.code, matter=None, period_from=start, period_to=end, sample_size=2)
    assert set(inspection.selected(office_b)) <= set(issued.b_births) and office_b.population_size == 3
    old = _draw(rt, office=rt.office.code, matter="birth", period_from=dt.date(2025, 3, 1),
                period_to=dt.date(2025, 3, 1), sample_size=5)
    assert sorted(inspection.selected(old)) == sorted(issued.a_old)
    # Two draws of the same parameters differ (the nonce), and both re-derive.
    twin = _draw(rt, office=rt.office.code, matter="birth", period_from=start, period_to=end, sample_size=3)
    assert twin.commitment != draw.commitment and twin.population_sha256 == draw.population_sha256
    assert verify_published(inspection.published_draw(rt.engine, twin.id), rt.registry) == []

    assert [d.id for d in inspection.list_draws(rt.engine, limit=2)] == [twin.id, old.id]
    # The draws form a chain: each names the one before it, so none can be set aside unseen.
    assert draw.previous_commitment == "0" * 64 and everything.previous_commitment == draw.commitment
    assert twin.previous_commitment == old.commitment
    published = inspection.published_draw(rt.engine, twin.id)
    assert published["committed"]["previous"] == old.commitment
    published["committed"]["previous"] = draw.commitment  # claiming another predecessor
    assert "the commitment is not the SHA-256 of the committed parameters" in local_problems(
        parse_published(published))
    commits = _actions(rt, "inspection.commit")
    assert len(commits) == 5 and {e.target for e in commits} >= {str(draw.id), str(twin.id)}
    # The regulator's own records: never in the inspected office's audit trail.
    assert next(e for e in commits if e.target == str(draw.id)).office_code is None
    assert next(e for e in commits if e.target == str(everything.id)).office_code is None
    assert audit.verify_chain(rt.engine) is None


def test_parameters_are_checked(rt):
    _issue(rt)
    start, end = _today()
    base = dict(office=None, matter=None, period_from=start, period_to=end, sample_size=3)
    for wrong in (dict(sample_size=0), dict(sample_size=1001), dict(period_from=end, period_to=start),
                  dict(period_from=dt.date(2020, 1, 1), period_to=dt.date(2025, 1, 2)), dict(matter="nope"),
                  dict(office="SH X")):
        with pytest.raises(InvalidDrawParameters):
            inspection.commit_draw(rt.engine, rt.registry, rt.accounts.admin, actor="r", **{**base, **wrong})
    with pytest.raises(EmptyPopulation):
        inspection.commit_draw(rt.engine, rt.registry, rt.accounts.admin, actor="r", **{**base, "office": "SH-NOWHERE"})
    with pytest.raises(NotRegistryAdmin):  # the commitment must come from the registry's administrator
        inspection.commit_draw(rt.engine, rt.registry, rt.accounts.anchor, actor="r", **base)
    exactly_five_years = inspection.commit_draw(rt.engine, rt.registry, rt.accounts.admin, actor="r",
                                                **{**base, "period_from": end.replace(year=end.year - 5)})
    assert exactly_five_years.population_size == (11 if LONG_AGO.date() >= end.replace(year=end.year - 5) else 9)
    with read_session(rt.engine) as s:
        assert len(s.exec(select(InspectionDraw)).all()) == 1  # nothing stored for a refused draw


# ------------------------------------------------------------------------------ committed, not yet seeded

def test_a_draw_whose_seed_block_is_not_mined_stays_committed(sqlite_runtime):
    rt = sqlite_runtime
    issued = _issue(rt)
    start, end = _today()
    draw = inspection.commit_draw(rt.engine, rt.registry, rt.accounts.admin, office=None, matter="birth",
                                  period_from=start, period_to=end, sample_size=2, actor="regulator:r")
    assert rt.registry.block_number() == draw.commit_block  # the development node mines only on a transaction
    waiting = inspection.complete_draw(rt.engine, rt.registry, rt.accounts.admin, draw.id, actor="r",
                                       mine_if_needed=False)
    assert waiting.state == DrawState.COMMITTED and waiting.seed_block is None and inspection.selected(waiting) == []
    with pytest.raises(DrawNotDrawn):
        inspection.published_draw(rt.engine, draw.id)
    with pytest.raises(DrawNotDrawn):
        inspection.record_finding(rt.engine, draw.id, issued.a_births[0], "conforming", None, "r")
    assert _actions(rt, "inspection.draw") == []
    # Any transaction makes the next block (here another party's): the draw completes from it.
    fund_on_dev_node(rt.registry.w3, rt.accounts.anchor.address)
    rt.registry.send_note(rt.accounts.anchor, b"")
    drawn = inspection.complete_draw(rt.engine, rt.registry, None, draw.id, actor="r", mine_if_needed=False)
    assert drawn.state == DrawState.DRAWN and drawn.seed_block == draw.commit_block + 1
    assert verify_published(inspection.published_draw(rt.engine, draw.id), rt.registry) == []
    with pytest.raises(DrawNotFound):
        inspection.complete_draw(rt.engine, rt.registry, None, "not-a-draw", actor="r", mine_if_needed=False)


# ------------------------------------------------------------------------------ findings

def test_findings_only_on_the_sample_and_audited(rt):
    issued = _issue(rt)
    start, end = _today()
    draw = _draw(rt, office=rt.office.code, matter="birth", period_from=start, period_to=end, sample_size=2)
    chosen = inspection.selected(draw)
    outside = next(n for n in issued.a_births if n not in chosen)
    with read_session(rt.engine) as s:
        second_id = s.exec(select(Certificate.id).where(Certificate.number == chosen[1])).one()

    first = inspection.record_finding(rt.engine, draw.id, chosen[0], "defective", "缺少申请人签名\r\n需补正", "regulator:李")
    assert first.outcome == FindingOutcome.DEFECTIVE and first.note == "缺少申请人签名\n需补正"
    by_id = inspection.record_finding(rt.engine, str(draw.id), str(second_id), FindingOutcome.CONFORMING, "  ", "regulator:李")
    assert by_id.certificate_id == second_id and by_id.note is None
    inspection.record_finding(rt.engine, draw.id, chosen[0], "follow_up", None, "regulator:王")

    with pytest.raises(CertificateNotInDraw):
        inspection.record_finding(rt.engine, draw.id, outside, "conforming", None, "regulator:李")
    with pytest.raises(CertificateNotInDraw):
        inspection.record_finding(rt.engine, draw.id, issued.b_births[0], "conforming", None, "regulator:李")
    with pytest.raises(InvalidFinding):
        inspection.record_finding(rt.engine, draw.id, chosen[0], "fine", None, "regulator:李")
    with pytest.raises(InvalidFinding):  # a right-to-left override would show the note as other text
        inspection.record_finding(rt.engine, draw.id, chosen[0], "conforming", "ok\u202egnorw", "regulator:李")
    with pytest.raises(InvalidFinding):
        inspection.record_finding(rt.engine, draw.id, chosen[0], "conforming", "长" * 501, "regulator:李")
    with pytest.raises(DrawNotFound):
        inspection.record_finding(rt.engine, "00000000-0000-0000-0000-000000000000", chosen[0], "conforming", None, "r")

    found = inspection.findings(rt.engine, draw.id)
    assert [f.outcome for f in found] == ["defective", "conforming", "follow_up"]
    events = list(reversed(_actions(rt, "inspection.finding")))
    assert [(json.loads(e.details)["number"], json.loads(e.details)["outcome"], e.actor) for e in events] == [
        (chosen[0], "defective", "regulator:李"), (chosen[1], "conforming", "regulator:李"),
        (chosen[0], "follow_up", "regulator:王")]
    assert all(e.office_code is None and json.loads(e.details)["draw"] == str(draw.id) for e in events)
    assert audit.verify_chain(rt.engine) is None


# ------------------------------------------------------------------------------ verify-draw, as an auditor

@pytest.fixture
def verify_draw(tmp_path, monkeypatch, anvil_url):
    """`notary inspect verify-draw FILE --rpc-url URL` in this process, with no service of
    its own (an auditor holding only the file)."""
    from notary.cli import app

    monkeypatch.setattr(signal, "signal", lambda *_a: None)
    runner = CliRunner()
    env = {"NOTARY_DATA_DIR": str(tmp_path / "auditor"), "NOTARY_RPC_URL": ""}

    def run(doc: object, rpc_url: str = anvil_url):
        path = tmp_path / "draw.json"
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        result = runner.invoke(app, ["inspect", "verify-draw", str(path), "--rpc-url", rpc_url], env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return run


def _reseeded(rt, doc: dict, commit_tx: str, commit_block: int) -> dict:
    """``doc`` with another commitment transaction and block, and the seed and sample that
    would follow from them: consistent in every way but the one under test."""
    seed_block = commit_block + 1
    if rt.registry.block_number() < seed_block:
        rt.registry.send_note(rt.accounts.admin, b"")
    seed_hash = rt.registry.block_hash(seed_block).lower()
    return {**doc, "commit_tx": commit_tx, "commit_block": commit_block, "seed_block": seed_block,
            "seed_block_hash": seed_hash, "selected": derive_selection(
                doc["commitment"], seed_hash, doc["population"], doc["committed"]["sample_size"])}


def test_verify_draw_re_derives_and_catches_every_tampering(sqlite_runtime, verify_draw, anvil_url):
    rt = sqlite_runtime
    _issue(rt)
    start, end = _today()
    draw = _draw(rt, office=None, matter=None, period_from=start, period_to=end, sample_size=4)
    doc = inspection.published_draw(rt.engine, draw.id)

    ok = verify_draw(doc)
    assert ok.exit_code == 0, ok.output
    assert "re-derived" in ok.stdout

    def fails(changed: dict, why: str) -> None:
        result = verify_draw(changed)
        assert result.exit_code == 1, result.output
        assert "re-derived" not in result.stdout and why in result.stdout, result.stdout

    unselected = next(n for n in doc["population"] if n not in doc["selected"])
    fails({**doc, "selected": [unselected, *doc["selected"][1:]]}, "selected certificates are not")
    fails({**doc, "selected": list(reversed(doc["selected"]))}, "selected certificates are not")  # the order counts
    fails({**doc, "population": sorted(doc["population"] + ["(2026)沪东证字第999999号"])}, "population")
    fails({**doc, "population": doc["population"][1:]}, "population")
    # A population changed together with its digest and size no longer matches the commitment.
    fewer = doc["population"][1:]
    fails({**doc, "population": fewer, "committed": {**doc["committed"], "population_size": len(fewer),
                                                      "population_sha256": population_digest(fewer)}},
          "commitment is not the SHA-256")
    fails({**doc, "seed_block_hash": "0x" + hashlib.sha256(b"another block").hexdigest()}, "not the seed block hash")
    # A later block as if it held the commitment (its seed would then be a block after that).
    later = _reseeded(rt, doc, doc["commit_tx"], doc["commit_block"] + 1)
    assert later["selected"] != doc["selected"] or later["seed_block_hash"] != doc["seed_block_hash"]
    fails(later, f"is in block {doc['commit_block']}, not in block {doc['commit_block'] + 1}")

    # The same commitment published by someone other than the registry's administrator: the
    # file is consistent with that transaction in every other way.
    fund_on_dev_node(rt.registry.w3, rt.accounts.anchor.address)
    forged = rt.registry.send_note(rt.accounts.anchor, commitment_note(doc["commitment"]))
    by_other = _reseeded(rt, doc, forged["transactionHash"].to_0x_hex(), forged["blockNumber"])
    assert local_problems(parse_published(by_other)) == []
    fails(by_other, "not by the registry's administrator")

    # Not a published draw: exit 3; a node that cannot be reached, or of another chain: exit 4.
    assert verify_draw("{not json").exit_code == 3
    assert verify_draw({**doc, "format": "something else"}).exit_code == 3
    assert verify_draw({k: v for k, v in doc.items() if k != "seed_block"}).exit_code == 3
    assert verify_draw({**doc, "selected": [1, 2]}).exit_code == 3
    unreachable = verify_draw(doc, "http://127.0.0.1:9")
    assert unreachable.exit_code == 4, unreachable.output
    other_chain = verify_draw({**doc, "committed": {**doc["committed"], "chain_id": 1}})
    assert other_chain.exit_code == 4 and "chain" in other_chain.output
    with pytest.raises(NotAPublishedDraw):
        verify_published({"format": "x"}, rt.registry)


def test_the_draw_commands_end_to_end(tmp_path, anvil_url, monkeypatch):
    """`notary inspect draw`, `show --json`, `finding`, `list` and `verify-draw` on one data directory."""
    from notary.runtime import open_runtime

    rt = open_runtime(make_settings(tmp_path / "data", anvil_url, key_passphrase="cli-test", signature_level="B-B"))
    try:
        numbers = [issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"]).number for _ in range(3)]
    finally:
        rt.close()
    run = in_process_cli({"NOTARY_DATA_DIR": str(tmp_path / "data"), "NOTARY_RPC_URL": anvil_url,
                          "NOTARY_KEY_PASSPHRASE": "cli-test", "NOTARY_SIGNATURE_LEVEL": "B-B"}, monkeypatch)

    start, end = _today()
    drawn = run("inspect", "draw", "--from", start.isoformat(), "--to", end.isoformat(), "--size", "2",
                "--matter", "birth", "--operator", "李检查")
    assert drawn.exit_code == 0, drawn.output
    assert "state:       drawn" in drawn.stdout and "selected (2 of 3):" in drawn.stdout
    draw_id = drawn.stdout.split("draw:")[1].split()[0]
    chosen = [n for n in numbers if n in drawn.stdout]
    assert len(chosen) == 2

    published = tmp_path / "published.json"
    assert run("inspect", "show", draw_id, "--json", str(published)).exit_code == 0
    doc = json.loads(published.read_text(encoding="utf-8"))
    assert sorted(doc["selected"]) == sorted(chosen) and doc["population"] == sorted(numbers)
    ok = run("inspect", "verify-draw", str(published))
    assert ok.exit_code == 0 and "re-derived" in ok.stdout, ok.output

    assert run("inspect", "finding", draw_id, chosen[0], "--outcome", "conforming", "--operator", "李检查").exit_code == 0
    outside = next(n for n in numbers if n not in chosen)
    refused = run("inspect", "finding", draw_id, outside, "--outcome", "conforming")
    assert refused.exit_code == 3 and "CERTIFICATE_NOT_IN_DRAW" in refused.stderr
    assert draw_id in run("inspect", "list").stdout
    assert run("inspect", "draw", "--from", end.isoformat(), "--to", start.isoformat(), "--size", "2").exit_code == 3
    assert run("inspect", "show", "nope").exit_code == 3
    assert "inspection.finding" in run("audit", "list", "--action", "inspection").stdout


# ------------------------------------------------------------------------------ the selection itself

NUMBERS = st.lists(st.text(min_size=1, max_size=24), min_size=0, max_size=60, unique=True)
HEX32 = st.binary(min_size=32, max_size=32).map(bytes.hex)


@settings(max_examples=200, deadline=None)
@given(NUMBERS, st.integers(min_value=0, max_value=80), HEX32, HEX32, st.randoms(use_true_random=False))
def test_derive_selection_properties(numbers, n, commitment, block_hash, rnd):
    chosen = derive_selection(commitment, "0x" + block_hash, numbers, n)
    assert chosen == derive_selection(commitment, block_hash.upper(), list(numbers), n)  # deterministic
    assert len(chosen) == min(n, len(numbers)) and len(set(chosen)) == len(chosen) and set(chosen) <= set(numbers)
    shuffled = list(numbers)
    rnd.shuffle(shuffled)
    assert derive_selection(commitment, block_hash, shuffled, n) == chosen  # the input order does not count
    # A prefix of a larger sample: asking more never reorders what was drawn.
    assert derive_selection(commitment, block_hash, numbers, n + 5)[:len(chosen)] == chosen


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=24), min_size=20, max_size=60, unique=True), HEX32, HEX32, HEX32)
def test_derive_selection_changes_with_the_seed(numbers, commitment, block_hash, other):
    assume(other not in (block_hash, commitment))
    full = derive_selection(commitment, block_hash, numbers, len(numbers))
    # The whole order of 20+ numbers repeating under another seed has odds below 1/20!: a
    # change of the seed block's hash, or of the commitment, draws another sample.
    assert derive_selection(commitment, other, numbers, len(numbers)) != full
    assert derive_selection(other, block_hash, numbers, len(numbers)) != full


def test_two_draws_at_once_cannot_fork_the_chain(rt, monkeypatch):
    """A draw made by someone else between reading the chain's head and storing this one:
    this one is stored naming that draw instead (no two draws name the same predecessor)."""
    _issue(rt)
    start, end = dt.date.today() - dt.timedelta(days=1), dt.date.today()
    first = _draw(rt, office=None, matter=None, period_from=start, period_to=end, sample_size=1)
    sign_note = rt.registry.sign_note
    raced: list[InspectionDraw] = []

    def sign_and_let_another_draw_in(*args, **kwargs):
        signed = sign_note(*args, **kwargs)
        if not raced:  # the other regulator's draw lands now, naming the same predecessor
            monkeypatch.setattr(rt.registry, "sign_note", sign_note)
            raced.append(_draw(rt, office=None, matter="birth", period_from=start, period_to=end, sample_size=1))
        return signed

    monkeypatch.setattr(rt.registry, "sign_note", sign_and_let_another_draw_in)
    mine = _draw(rt, office=None, matter=None, period_from=start, period_to=end, sample_size=2)
    assert raced[0].previous_commitment == first.commitment
    assert mine.previous_commitment == raced[0].commitment  # retried, after the other one
    assert verify_published(inspection.published_draw(rt.engine, mine.id), rt.registry) == []
