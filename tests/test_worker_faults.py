"""Crash-in-the-middle drills for the anchoring worker, against the real anvil node."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import Session, select

from anchoring.chain import RegistryClient, connect
from anchoring.errors import ChainUnavailable
from anchoring.models import AnchorBatch, BatchState
from records.matters import EXAMPLES
from issuer.service import issue_certificate
from verifier.report import Indication
from verifier.service import verify_pdf


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


def _batches(engine):
    with Session(engine) as s:
        return list(s.exec(select(AnchorBatch)))


def test_crash_after_recording_before_broadcasting(sqlite_runtime, monkeypatch):
    rt = sqlite_runtime
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    worker = rt.worker()
    monkeypatch.setattr(worker.registry, "broadcast", lambda raw: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        worker.run_once(force=True)
    [batch] = _batches(rt.engine)
    assert batch.state == BatchState.SENT and batch.tx_hash
    assert rt.registry.get_anchor(rt.worker().office_number, bytes.fromhex(batch.root)) is None
    monkeypatch.undo()
    # A restarted worker finds the transaction never arrived and sends it (resend window 0).
    restarted = rt.worker()
    restarted.config = dataclasses.replace(restarted.config, resend_after_seconds=0.0)
    assert restarted.run_once() == 1
    [batch] = _batches(rt.engine)
    assert batch.state == BatchState.CONFIRMED and batch.attempts == 2
    assert verify_pdf(rt.verifier_context(), issued.pdf).indication is Indication.PASSED


def test_crash_after_broadcasting_before_confirming(sqlite_runtime, monkeypatch):
    rt = sqlite_runtime
    issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    worker = rt.worker()
    monkeypatch.setattr(worker, "_await_receipt", lambda *_: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        worker.run_once(force=True)
    monkeypatch.undo()
    # The root is on chain already: the restarted worker confirms it without sending again.
    assert rt.worker().run_once() == 1
    [batch] = _batches(rt.engine)
    assert batch.state == BatchState.CONFIRMED and batch.attempts == 1


def test_chain_outage_then_recovery(sqlite_runtime):
    rt = sqlite_runtime
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    worker = rt.worker()
    live_registry = worker.registry
    worker.registry = RegistryClient(connect("http://127.0.0.1:9", timeout=1), live_registry.address)
    with pytest.raises(ChainUnavailable):
        worker.run_once(force=True)
    assert verify_pdf(rt.verifier_context(), issued.pdf).indication is Indication.INDETERMINATE
    worker.registry = live_registry
    assert worker.run_once(force=True) == 1
    assert len(_batches(rt.engine)) == 1  # the batch built before the outage was reused
    assert verify_pdf(rt.verifier_context(), issued.pdf).indication is Indication.PASSED
