"""Issuing and anchoring against both databases: SQLite (default) and a real PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, func, select

from anchoring.models import AnchorBatch, BatchState, OutboxEntry
from issuer import signing_pool
from records.matters import EXAMPLES
from records.models import Certificate
from issuer.models import CertificateCounter
from issuer.service import issue_certificate
from verifier.report import Indication
from verifier.service import verify_pdf


def run_in_threads(fn, n: int) -> list[Exception]:
    """Run ``fn`` in ``n`` threads at once; return what they raised."""
    errors: list[Exception] = []

    def guarded():
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_numbers_are_gap_free_and_outbox_rows_match(runtime):
    ctx = runtime.issuer_context()
    numbers = [issue_certificate(ctx, "birth", EXAMPLES["birth"]).number for _ in range(3)]
    year = numbers[0][1:5]
    assert numbers == [f"({year})沪东证字第{i:06d}号" for i in (1, 2, 3)]
    assert _count(runtime.engine, OutboxEntry) == 3


def test_concurrent_issuing_gives_unique_consecutive_numbers(runtime):
    ctx = runtime.issuer_context()
    results = []

    def work():
        for _ in range(3):
            results.append(issue_certificate(ctx, "birth", EXAMPLES["birth"]).number)

    assert run_in_threads(work, 4) == []
    serials = sorted(int(n.split("第")[1][:6]) for n in results)
    assert serials == list(range(1, 13))


def test_a_crash_while_issuing_leaves_nothing_behind(runtime, monkeypatch):
    ctx = runtime.issuer_context()
    issue_certificate(ctx, "birth", EXAMPLES["birth"])

    def broken_sign(*_a, **_k):
        raise RuntimeError("the signing device fell over")

    monkeypatch.setattr(signing_pool, "sign_pdf", broken_sign)
    with pytest.raises(RuntimeError):
        issue_certificate(ctx, "birth", EXAMPLES["birth"])
    monkeypatch.undo()
    # No certificate, no outbox row, and the number was not consumed.
    assert _count(runtime.engine, Certificate) == 1
    assert _count(runtime.engine, OutboxEntry) == 1
    with Session(runtime.engine) as s:
        assert s.exec(select(CertificateCounter.last_serial)).one() == 1
    assert issue_certificate(ctx, "birth", EXAMPLES["birth"]).number.endswith("第000002号")


def test_worker_anchors_every_leaf_exactly_once(runtime):
    ctx = runtime.issuer_context()
    issued = [issue_certificate(ctx, "birth", EXAMPLES["birth"]) for _ in range(5)]
    worker = runtime.worker()
    assert worker.run_once(force=True) == 5
    assert worker.run_once(force=True) == 0
    with Session(runtime.engine) as s:
        batches = list(s.exec(select(AnchorBatch)))
        entries = list(s.exec(select(OutboxEntry).order_by(OutboxEntry.id)))
    assert len(batches) == 1 and batches[0].state == BatchState.CONFIRMED and batches[0].tree_size == 5
    assert [e.leaf_index for e in entries] == [0, 1, 2, 3, 4]  # issuance order
    for cert in issued:
        assert verify_pdf(runtime.verifier_context(), cert.pdf).indication is Indication.PASSED


def test_batches_close_by_size(runtime_factory, database_url):
    rt = runtime_factory(database_url=database_url, batch_size=2, batch_age_seconds=3600)
    ctx = rt.issuer_context()
    for _ in range(5):
        issue_certificate(ctx, "birth", EXAMPLES["birth"])
    worker = rt.worker()
    assert worker.run_once() == 4  # two full batches; the fifth leaf waits for size or age
    assert worker.run_once(force=True) == 1
    with Session(rt.engine) as s:
        assert sorted(b.tree_size for b in s.exec(select(AnchorBatch))) == [1, 2, 2]


def test_concurrent_workers_never_anchor_a_leaf_twice(runtime_factory, database_url):
    """Several workers on one database (row locks with SKIP LOCKED on PostgreSQL; SQLite's
    single writer elsewhere): every leaf ends up in exactly one confirmed batch."""
    from anchoring.outbox import enqueue
    import os
    import uuid

    rt = runtime_factory(database_url=database_url, batch_size=7, batch_age_seconds=0.01)
    with Session(rt.engine) as s:
        for _ in range(60):
            enqueue(s, uuid.uuid4(), os.urandom(32), rt.office.code)
        s.commit()

    def work():
        worker = rt.worker()
        for _ in range(5):
            worker.run_once(force=True)

    errors = run_in_threads(work, 3)
    rt.worker().run_once(force=True)  # whatever a lost race left behind
    assert not errors, errors
    with Session(rt.engine) as s:
        entries = list(s.exec(select(OutboxEntry)))
        batches = {b.id: b for b in s.exec(select(AnchorBatch))}
    assert all(e.batch_id is not None for e in entries)
    assert sum(b.tree_size for b in batches.values()) == 60
    assert all(b.state == BatchState.CONFIRMED for b in batches.values())
    logs = rt.registry.contract.events.RootAnchored().get_logs(from_block=0)
    roots = [log["args"]["root"].hex() for log in logs if log["address"] == rt.registry.address]
    assert sorted(roots) == sorted(b.root for b in batches.values())
