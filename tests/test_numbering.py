"""Issue #14: numbers are taken, and rows written, in short transactions.

No transaction is open while a certificate is rendered and signed, yet numbers stay
gap-free: a number is reserved, then consumed by the transaction that stores the
certificate, or given back. These tests hold a signing open and show that the database is
free meanwhile; kill a process that holds a number and show the next certificate takes it;
and check the reservation rules against a model with Hypothesis.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, select

from anchoring.models import OutboxEntry
from issuer import numbering, signing_pool
from issuer.auth import Role, create_token
from issuer.errors import CertificateAlreadyClosed, DraftBeingIssued, NumberReservationLost
from issuer.lifecycle import RevocationReason, correct_certificate, revoke_certificate
from issuer.models import CertificateCounter, ChangeClaim, IdempotencyRecord, NumberReservation
from issuer.service import issue_certificate
from notary.app import create_app
from notary.database import make_engine
from notary.runtime import open_runtime
from processes.holder import holder_gone, new_holder
from records.audit import AuditEvent, verify_chain
from records.matters import EXAMPLES
from records.models import Certificate, CertificateStatus
from storage.clock import utcnow
from storage.sessions import write_session
from tests.conftest import make_settings

OFFICE, YEAR = "SH-TEST", 2026


@pytest.fixture
def rt(tmp_path, database_url):
    runtime = open_runtime(make_settings(tmp_path / "node", None, database_url, signature_level="B-B"), chain=False)
    yield runtime
    runtime.close()


class HeldSigning:
    """Signing that waits, on its first call, until the test lets it go: the window in which
    a transaction held through signing would block everyone else. (``where``: another step
    to hold, for an app that signs in its signing processes, out of the test's reach.)"""

    def __init__(self, monkeypatch, fail: bool = False, where: tuple[object, str] = (signing_pool, "sign_pdf")):
        self.entered, self.go = threading.Event(), threading.Event()
        self.fail, self.calls = fail, 0
        real = getattr(*where)

        def sign(*args, **kwargs):
            self.calls += 1
            if self.calls == 1:
                self.entered.set()
                assert self.go.wait(60), "the test never let the signing go"
                if self.fail:
                    raise RuntimeError("the signing device fell over")
            return real(*args, **kwargs)

        monkeypatch.setattr(*where, sign)

    def run(self, fn):
        """Start ``fn`` in a thread; return once it is inside the held signing."""
        result: dict[str, object] = {}

        def target():
            try:
                result["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - inspected by the test
                result["error"] = exc

        thread = threading.Thread(target=target)
        thread.start()
        assert self.entered.wait(60), "the signing was never reached"
        return thread, result


def _serials(engine) -> list[int]:
    with Session(engine) as s:
        return sorted(s.exec(select(Certificate.serial)).all())


def _counter(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(CertificateCounter.last_serial)).one()


# --- the database is free while a certificate is signed ------------------------------------

def test_others_issue_and_revoke_while_a_certificate_is_being_signed(rt, monkeypatch):
    """On SQLite a transaction held through signing would hold the whole database's write
    lock: the second issuance and the revocation below would wait for the first signing
    and this test would time out. Numbers follow the order in which they were reserved."""
    ctx = rt.issuer_context()
    first_done = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    held = HeldSigning(monkeypatch)
    thread, result = held.run(lambda: issue_certificate(ctx, "birth", EXAMPLES["birth"]))

    second = issue_certificate(ctx, "birth", EXAMPLES["birth"])  # signs at once (not the first call)
    revoked = revoke_certificate(rt.engine, first_done.id, RevocationReason.ISSUED_IN_ERROR)
    assert revoked.status == CertificateStatus.REVOKED
    assert second.number.endswith("第000003号")  # 2 is reserved by the certificate being signed
    with Session(rt.engine) as s:
        held_row = s.exec(select(NumberReservation)).one()
    assert (held_row.serial, held_row.holder is not None) == (2, True)

    held.go.set()
    thread.join(60)
    assert result["value"].number.endswith("第000002号")
    assert _serials(rt.engine) == [1, 2, 3] and _counter(rt.engine) == 3
    with Session(rt.engine) as s:
        assert s.exec(select(NumberReservation)).all() == []


def test_a_failed_signing_gives_its_number_back_to_the_next_certificate(rt, monkeypatch):
    """A number given back below the counter (others were issued meanwhile) is the next one
    taken: the hole closes at once."""
    ctx = rt.issuer_context()
    held = HeldSigning(monkeypatch, fail=True)
    thread, result = held.run(lambda: issue_certificate(ctx, "birth", EXAMPLES["birth"]))
    later = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    assert later.number.endswith("第000002号")
    held.go.set()
    thread.join(60)
    assert isinstance(result["error"], RuntimeError)
    assert _serials(rt.engine) == [2] and _counter(rt.engine) == 2
    refill = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    assert refill.number.endswith("第000001号")
    assert _serials(rt.engine) == [1, 2] and _counter(rt.engine) == 2


# --- a holder killed between reserving and storing -----------------------------------------

HOLD_A_NUMBER = """
import sys, time
from notary.database import make_engine
from issuer import numbering
engine = make_engine(sys.argv[1])
reservation = numbering.reserve(engine, sys.argv[2], int(sys.argv[3]), 2)
print(",".join(map(str, reservation.serials)), flush=True)
time.sleep(600)  # signing that never ends: the test kills this process here
"""


def test_numbers_of_a_killed_process_are_taken_by_the_next_certificate(rt):
    ctx = rt.issuer_context()
    issue_certificate(ctx, "birth", EXAMPLES["birth"])
    year = dt.date.today().year
    proc = subprocess.Popen([sys.executable, "-c", HOLD_A_NUMBER, str(rt.engine.url.render_as_string(False)),
                             rt.office.code, str(year)], stdout=subprocess.PIPE, text=True)
    try:
        held = [int(n) for n in proc.stdout.readline().strip().split(",")]
        assert held == [2, 3]
        # While the process lives its numbers are its own, however long it takes.
        assert issue_certificate(ctx, "birth", EXAMPLES["birth"]).number.endswith("第000004号")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    taken = [issue_certificate(ctx, "birth", EXAMPLES["birth"]).number for _ in range(2)]
    assert [n[-7:-1] for n in taken] == ["000002", "000003"]
    assert _serials(rt.engine) == [1, 2, 3, 4] and _counter(rt.engine) == 4


def test_a_process_taken_for_dead_stores_nothing(rt, monkeypatch):
    """If a process's numbers were handed out again while it signed (it was taken for dead),
    its certificate is refused at the store: never two certificates with one number."""
    ctx = rt.issuer_context()
    held = HeldSigning(monkeypatch)
    thread, result = held.run(lambda: issue_certificate(ctx, "birth", EXAMPLES["birth"]))
    with write_session(rt.engine) as s:  # what another host does after the claim went stale
        row = s.exec(select(NumberReservation)).one()
        row.holder = None
        s.add(row)
        s.commit()
    other = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    assert other.number.endswith("第000001号")
    held.go.set()
    thread.join(60)
    assert isinstance(result["error"], NumberReservationLost)
    assert result["error"].http_status == 503 and result["error"].code == "NUMBER_RESERVATION_LOST"
    assert _serials(rt.engine) == [1] and _counter(rt.engine) == 1


def test_holders_elsewhere_are_judged_by_age_and_here_by_their_process():
    now = utcnow()
    mine = new_holder()
    assert not holder_gone(mine, now - dt.timedelta(days=3), now)  # alive here: never stale
    finished = subprocess.run([sys.executable, "-c", "from processes.holder import new_holder; print(new_holder())"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert holder_gone(finished, now, now)  # its process has ended
    host, pid, start, space, tag = mine.split("/")
    assert holder_gone(f"{host}/{pid}/{int(start) + 1}/{space}/{tag}", now, now)  # the pid, reused
    # Another host, or this host name in another container or boot: its pids mean nothing
    # here, so only the claim's age counts (a live pid here must not keep it, nor a dead
    # one end it).
    for elsewhere in (f"another-host/{pid}/{start}/{space}/{tag}", f"{host}/{pid}/{start}/0000.1/{tag}",
                      f"{host}/999999999/{start}/0000.1/{tag}"):
        assert not holder_gone(elsewhere, now - dt.timedelta(minutes=1), now), elsewhere
        assert holder_gone(elsewhere, now - dt.timedelta(hours=1), now), elsewhere


def test_numbers_given_back_after_their_year_ended_are_voided_and_audited(rt):
    """A number of 2025 given back (its certificate failed) after others were issued can
    never be issued again once 2025 is over: the first reservation of the new year voids
    it, with an audit event, so the register accounts for every number."""
    ctx = rt.issuer_context()
    last_year = dt.date.today().year - 1
    old = numbering.reserve(rt.engine, rt.office.code, last_year, 1)
    issue_certificate(ctx, "birth", EXAMPLES["birth"], issue_date=dt.date(last_year, 12, 31))  # takes 2
    numbering.release(rt.engine, old)  # 1 given back, below the counter: a hole
    issued = issue_certificate(ctx, "birth", EXAMPLES["birth"])  # the new year's first
    assert issued.number.endswith("第000001号")
    with Session(rt.engine) as s:
        row = s.get(NumberReservation, (rt.office.code, last_year, 1))
        events = [e for e in s.exec(select(AuditEvent)).all() if e.action == "number.void"]
    assert row.holder == numbering.VOID
    assert [json.loads(e.details)["serials"] for e in events] == [[1]]
    assert events[0].target == f"{rt.office.code}/{last_year}"
    issue_certificate(ctx, "birth", EXAMPLES["birth"])  # voided once, not again
    with Session(rt.engine) as s:
        assert len([e for e in s.exec(select(AuditEvent)).all() if e.action == "number.void"]) == 1
    assert verify_chain(rt.engine) is None


def test_numbers_are_given_back_later_when_the_database_was_away(rt, monkeypatch):
    """The process is alive, so no one else would take its numbers back: it tries again."""
    ctx = rt.issuer_context()
    monkeypatch.setattr(numbering, "RELEASE_RETRIES", (0.2,))
    real_session, failures = numbering.write_session, []

    def away_once(engine):
        if not failures:
            failures.append("away")
            raise OperationalError("BEGIN", {}, Exception("the database is away"))
        return real_session(engine)

    held = HeldSigning(monkeypatch, fail=True)
    thread, result = held.run(lambda: issue_certificate(ctx, "birth", EXAMPLES["birth"]))
    monkeypatch.setattr(numbering, "write_session", away_once)
    held.go.set()
    thread.join(60)
    assert isinstance(result["error"], RuntimeError) and failures == ["away"]
    deadline = time.monotonic() + 30
    while _counter(rt.engine) != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    with Session(rt.engine) as s:
        assert s.exec(select(NumberReservation)).all() == []
    assert _counter(rt.engine) == 0


# --- corrections and drafts claim their subject --------------------------------------------

def test_a_revocation_during_a_correction_goes_ahead_and_the_correction_is_refused(rt, monkeypatch):
    """A certificate found to be false must be revocable at once, whatever correction is
    being signed: the revocation wins, the correction stores nothing and gives its number
    back. A second correction meanwhile is refused before it takes a number."""
    ctx = rt.issuer_context()
    old = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    held = HeldSigning(monkeypatch)
    thread, result = held.run(lambda: correct_certificate(ctx, old.id, {**EXAMPLES["birth"], "birth_place": "上海市"}))
    with pytest.raises(CertificateAlreadyClosed) as refused:
        correct_certificate(ctx, old.id, EXAMPLES["birth"])
    assert refused.value.code == "CERTIFICATE_ALREADY_CLOSED" and "being corrected" in refused.value.message
    assert revoke_certificate(rt.engine, old.id, RevocationReason.ISSUED_IN_ERROR).status == CertificateStatus.REVOKED
    held.go.set()
    thread.join(60)
    assert isinstance(result["error"], CertificateAlreadyClosed) and result["error"].status == "revoked"
    with Session(rt.engine) as s:
        assert s.exec(select(ChangeClaim)).all() == []
        assert s.get(Certificate, old.id).superseded_by is None
    assert _serials(rt.engine) == [1] and _counter(rt.engine) == 1


def test_a_draft_being_issued_cannot_be_edited(rt, monkeypatch):
    """The certificate is signed from the draft as it stood: an edit meanwhile would leave
    a draft that says one thing and a certificate that says another."""
    from issuer.drafts import create_draft, issue_draft, update_draft

    ctx = rt.issuer_context()
    draft = create_draft(rt.engine, rt.office.code, "birth", EXAMPLES["birth"], "zh", "notary:王丽")
    held = HeldSigning(monkeypatch)
    thread, result = held.run(lambda: issue_draft(ctx, draft.id, rt.office.code, "notary:王丽"))
    with pytest.raises(DraftBeingIssued):
        update_draft(rt.engine, draft.id, rt.office.code, {**EXAMPLES["birth"], "birth_place": "北京市"}, None,
                     "notary:王丽")
    held.go.set()
    thread.join(60)
    issued_draft, issued = result["value"]
    with Session(rt.engine) as s:
        stored = json.loads(s.get(Certificate, issued.id).data_json)
    assert issued_draft.state == "issued" and json.loads(issued_draft.data_json) == EXAMPLES["birth"]
    assert stored["birth_place"] == EXAMPLES["birth"]["birth_place"]


def test_a_claim_left_by_a_dead_process_does_not_block_the_certificate(rt):
    ctx = rt.issuer_context()
    old = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    finished = subprocess.run([sys.executable, "-c", "from processes.holder import new_holder; print(new_holder())"],
                              capture_output=True, text=True, check=True).stdout.strip()
    with write_session(rt.engine) as s:
        s.add(ChangeClaim(subject=f"certificate:{old.id}", holder=finished))
        s.commit()
    new = correct_certificate(ctx, old.id, {**EXAMPLES["birth"], "birth_place": "上海市"})
    with Session(rt.engine) as s:
        assert s.get(Certificate, old.id).superseded_by == new.id
        assert s.exec(select(ChangeClaim)).all() == []


# --- the idempotency record commits with the certificate -----------------------------------

def test_a_failure_after_the_certificate_rows_stores_neither_it_nor_its_idempotency_record(rt, monkeypatch):
    from issuer import service

    client = TestClient(create_app(rt))
    headers = {"Authorization": f"Bearer {create_token(rt.engine, '王丽', Role.NOTARY, rt.office.code)[1]}",
               "Idempotency-Key": "order-1"}
    body = {"matter": "birth", "data": EXAMPLES["birth"]}
    real_append = service.audit.append_many

    def crash(*_a, **_k):
        raise RuntimeError("the process dies between the certificate and its idempotency record")

    monkeypatch.setattr(service.audit, "append_many", crash)
    with pytest.raises(RuntimeError):
        client.post("/api/v1/certificates", json=body, headers=headers)
    monkeypatch.setattr(service.audit, "append_many", real_append)
    with Session(rt.engine) as s:
        assert s.exec(select(Certificate)).all() == [] and s.exec(select(IdempotencyRecord)).all() == []
        assert s.exec(select(OutboxEntry)).all() == []
    first = client.post("/api/v1/certificates", json=body, headers=headers)
    again = client.post("/api/v1/certificates", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and first.json()["number"].endswith("第000001号")


def test_one_idempotency_key_sent_twice_at_once_makes_one_certificate(rt, monkeypatch):
    client = TestClient(create_app(rt))
    headers = {"Authorization": f"Bearer {create_token(rt.engine, '王丽', Role.NOTARY, rt.office.code)[1]}",
               "Idempotency-Key": "order-2"}
    body = {"matter": "birth", "data": EXAMPLES["birth"]}
    held = HeldSigning(monkeypatch, where=(numbering, "reserve"))  # held past the replay check
    thread, result = held.run(lambda: client.post("/api/v1/certificates", json=body, headers=headers))
    second = client.post("/api/v1/certificates", json=body, headers=headers)  # signs and stores first
    held.go.set()
    thread.join(60)
    first = result["value"]
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["id"] == second.json()["id"]
    # The loser signed under number 2 and gave it back, off the top of the counter.
    assert _serials(rt.engine) == [1] and _counter(rt.engine) == 1


# --- the reservation rules against a model -------------------------------------------------

@pytest.fixture(scope="module")
def bare_engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('numbering') / 'n.db'}")
    SQLModel.metadata.create_all(engine, tables=[CertificateCounter.__table__, NumberReservation.__table__])
    return engine


operations = st.lists(st.tuples(st.sampled_from(["reserve", "store", "fail", "die"]), st.integers(0, 7),
                                st.integers(1, 3)), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_numbers_are_never_doubled_and_close_up_without_gaps(bare_engine, ops):
    """Any interleaving of reservations, stores, failures and deaths: no number is ever
    stored twice; a failure at the top leaves the counter as it was; and once every holder
    has finished, what is stored plus what is free is exactly 1..counter, and the free
    numbers are the next taken."""
    office = f"P-{uuid.uuid4().hex[:8]}"
    open_: list[numbering.Reservation] = []
    stored: list[int] = []
    for op, pick, count in ops:
        if op == "reserve" or not open_:
            open_.append(numbering.reserve(bare_engine, office, YEAR, count))
            continue
        reservation = open_.pop(pick % len(open_))
        if op == "store":
            with write_session(bare_engine) as s:
                reservation.consume(s)
                s.commit()
            stored.extend(reservation.serials)
        elif op == "fail":
            numbering.release(bare_engine, reservation)
            with Session(bare_engine) as s:  # held by the open ones, or by a dead holder
                held = s.exec(select(NumberReservation.serial).where(NumberReservation.office_code == office,
                                                                     NumberReservation.holder.is_not(None))).all()
            in_use = stored + list(held)
            if not in_use or max(in_use) < min(reservation.serials):  # it was the top
                assert _counter_of(bare_engine, office) < min(reservation.serials)
        else:  # the holder died: its row keeps a holder that is gone
            with write_session(bare_engine) as s:
                for row in s.exec(select(NumberReservation).where(NumberReservation.office_code == office,
                                                                  NumberReservation.serial.in_(reservation.serials))):
                    row.holder = "another-host/1/1/dead"
                    row.reserved_at = utcnow() - dt.timedelta(days=1)
                    s.add(row)
                s.commit()
        assert len(stored) == len(set(stored)), "a number was stored twice"
    for reservation in open_:
        numbering.release(bare_engine, reservation)
    last = _counter_of(bare_engine, office)
    with Session(bare_engine) as s:
        rows = s.exec(select(NumberReservation).where(NumberReservation.office_code == office)).all()
    assert all(r.holder is None or holder_gone(r.holder, r.reserved_at, utcnow()) for r in rows)
    assert sorted(stored + [r.serial for r in rows]) == list(range(1, last + 1))
    holes = sorted(r.serial for r in rows)
    if holes:
        refill = numbering.reserve(bare_engine, office, YEAR, len(holes))
        assert refill.serials == holes


def _counter_of(engine, office: str) -> int:
    with Session(engine) as s:
        row = s.get(CertificateCounter, (office, YEAR))
        return row.last_serial if row else 0


def test_many_threads_reserving_at_once_never_share_a_number(database_url, tmp_path):
    """Eight issuers at once, on SQLite and on PostgreSQL (READ COMMITTED, row locks),
    storing or failing at random: no number is stored twice, and stored plus given back is
    exactly 1..counter."""
    import random

    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'n.db'}")
    SQLModel.metadata.create_all(engine, tables=[CertificateCounter.__table__, NumberReservation.__table__])
    stored: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def issuer(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(25):
            try:
                r = numbering.reserve(engine, OFFICE, YEAR, rnd.randint(1, 3))
                if rnd.random() < 0.4:
                    numbering.release(engine, r)
                    continue
                with write_session(engine) as s:
                    r.consume(s)
                    s.commit()
                with lock:
                    stored.extend(r.serials)
            except Exception as exc:  # noqa: BLE001 - any error fails the test below
                errors.append(repr(exc))

    threads = [threading.Thread(target=issuer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with Session(engine) as s:
        last = s.exec(select(CertificateCounter.last_serial)).one()
        free = [r.serial for r in s.exec(select(NumberReservation)).all()]
    engine.dispose()
    assert errors == []
    assert len(stored) == len(set(stored)), "a number was stored twice"
    assert sorted(stored + free) == list(range(1, last + 1))
