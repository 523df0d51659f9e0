"""Issuing through the pool of signing processes: the bulk and server path."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from sqlmodel import Session, func, select

from anchoring.models import OutboxEntry
from records.access import access_code_matches
from records.audit import AuditEvent, verify_chain
from issuer.errors import SigningUnavailable
from records.matters import EXAMPLES, parse_matter
from records.models import Certificate
from issuer.models import CertificateCounter
from issuer.service import IssueRequest, issue_batch
from verifier.report import Indication
from verifier.service import verify_pdf


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_a_batch_signed_in_worker_processes_verifies(runtime_factory, database_url):
    rt = runtime_factory(database_url=database_url, signing_processes=2)
    ctx = rt.issuer_context(pool=True)
    requests = [IssueRequest("birth", parse_matter("birth", EXAMPLES["birth"])),
                IssueRequest("will", parse_matter("will", EXAMPLES["will"]), "zh-en")] * 3
    issued = issue_batch(ctx, requests)
    assert [c.number[-7:-1] for c in issued] == [f"{i:06d}" for i in range(1, 7)]
    assert rt.worker().run_once(force=True) == 6
    # One audit event each, chained in issuing order (appended as one batch).
    with Session(rt.engine) as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [json.loads(e.details)["number"] for e in events if e.action == "issue"] == [c.number for c in issued]
    assert verify_chain(rt.engine) is None
    with Session(rt.engine) as s:
        for cert in issued:
            row = s.get(Certificate, cert.id)
            assert access_code_matches(rt.qr_key, cert.id, cert.access_code, row.access_code_hash)
            assert not access_code_matches(rt.qr_key, cert.id, "2345-6789", row.access_code_hash)
    for cert in issued:
        report = verify_pdf(rt.verifier_context(), cert.pdf)
        assert report.indication is Indication.PASSED, report


def test_a_signing_process_killed_mid_batch_issues_nothing(sqlite_runtime):
    rt = sqlite_runtime
    ctx = rt.issuer_context(pool=True)
    request = IssueRequest("birth", parse_matter("birth", EXAMPLES["birth"]))
    issue_batch(ctx, [request])  # starts the workers; number 1
    outcome: list[BaseException] = []

    def big_batch():
        started.set()
        try:
            issue_batch(ctx, [request] * 1000)  # many seconds of signing on any machine here
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome.append(exc)
        finally:
            finished.set()

    started, finished = threading.Event(), threading.Event()
    thread = threading.Thread(target=big_batch)
    thread.start()
    started.wait()
    time.sleep(0.5)
    assert not finished.is_set(), "the batch ended before a worker could be killed"
    victim = next(iter(ctx.pool._executor._processes))  # a worker's pid
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive(), "the batch did not end after its worker was killed"
    assert len(outcome) == 1 and isinstance(outcome[0], SigningUnavailable)
    # Nothing of the failed batch was stored, and its numbers were not consumed.
    assert _count(rt.engine, Certificate) == 1
    assert _count(rt.engine, OutboxEntry) == 1
    with Session(rt.engine) as s:
        assert s.exec(select(CertificateCounter.last_serial)).one() == 1
    # The pool starts afresh and the next certificate takes the next number.
    (again,) = issue_batch(ctx, [request])
    assert again.number.endswith("第000002号")
    # ... at its full size, without waiting for work to arrive (issue #15: it came back with
    # one process of two).
    deadline = time.monotonic() + 60
    while len(ctx.pool._executor._processes) < ctx.pool.processes and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(ctx.pool._executor._processes) == ctx.pool.processes
    assert ctx.pool.restarts == 1


@pytest.mark.parametrize("processes", [1])
def test_pool_size_follows_the_setting(runtime_factory, processes):
    rt = runtime_factory(signing_processes=processes)
    assert rt.signing_pool.processes == processes


def test_a_signing_process_killed_while_idle_is_replaced_before_any_request(runtime_factory):
    """No request is signing when a signing process dies: the pool notices by itself and is
    whole again, so that the next clerk's request does not fail first (the chaos suite
    found pools left short after a kill at a quiet moment)."""
    rt = runtime_factory(signing_processes=2)
    pool = rt.issuer_context(pool=True).pool
    pool.warm_up()
    before = set(pool._executor._processes)
    assert len(before) == 2
    os.kill(next(iter(before)), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
            pool.restarts == 1 and len(pool._executor._processes) == 2
            and not set(pool._executor._processes) & before):
        time.sleep(0.1)
    assert pool.restarts == 1 and len(pool._executor._processes) == 2
    assert not set(pool._executor._processes) & before  # a new pool, not the broken one
