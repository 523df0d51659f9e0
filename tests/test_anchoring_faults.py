"""Anchoring under faults, each against a real anvil node: node outage and restart from its
persisted state, a worker process killed between sending and confirming, a chain
reorganisation, and revoking one leaf of a batch of 1,000."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from anchoring.errors import ChainUnavailable
from anchoring.models import AnchorBatch, BatchState, OutboxEntry
from anchoring.outbox import enqueue
from anchoring.status import anchor_status
from records.matters import EXAMPLES
from issuer.service import issue_certificate
from notary.runtime import open_runtime
from tests.conftest import make_settings
from verifier import standalone
from verifier.report import Indication
from verifier.service import verify_pdf

NOTARY = Path(sys.executable).with_name("notary")


def rpc(url: str, method: str, *params):
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=10)
    body = r.json()
    assert "error" not in body, body
    return body["result"]


@pytest.fixture
def embedded(tmp_path):
    """A runtime with its own embedded anvil (state persisted in its data directory)."""
    rt = open_runtime(make_settings(tmp_path / "data", None))
    yield rt
    rt.close()


def _anchored_roots_on_chain(rt) -> list[str]:
    logs = rt.registry.contract.events.RootAnchored().get_logs(from_block=0)
    return [log["args"]["root"].hex() for log in logs]


def test_node_outage_and_restart_from_persisted_state(embedded):
    rt = embedded
    ctx = rt.issuer_context()
    before = [issue_certificate(ctx, "birth", EXAMPLES["birth"]) for _ in range(2)]
    assert rt.worker().run_once(force=True) == 2
    rt.node.stop()  # dumps its state
    during = [issue_certificate(ctx, "birth", EXAMPLES["birth"]) for _ in range(3)]  # issuing needs no chain
    with pytest.raises(ChainUnavailable):
        rt.worker().run_once(force=True)
    assert verify_pdf(rt.verifier_context(), during[0].pdf).indication is Indication.INDETERMINATE
    rt.node.ensure()  # same port, state loaded from disk
    assert rt.worker().run_once(force=True) == 3
    with Session(rt.engine) as s:
        batches = list(s.exec(select(AnchorBatch)))
    roots = _anchored_roots_on_chain(rt)
    assert sorted(roots) == sorted(b.root for b in batches) and len(roots) == len(set(roots)) == 2
    for cert in before + during:
        assert verify_pdf(rt.verifier_context(), cert.pdf).indication is Indication.PASSED


def test_worker_process_killed_between_sending_and_confirming(embedded):
    rt = embedded
    issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    url = rt.node.rpc_url
    rpc(url, "evm_setAutomine", False)  # the transaction will sit in the mempool
    env = {**os.environ, "NOTARY_DATA_DIR": str(rt.settings.data_path), "NOTARY_RPC_URL": url,
           "NOTARY_KEY_PASSPHRASE": "test-passphrase", "NOTARY_BATCH_AGE_SECONDS": "0.1"}
    proc = subprocess.Popen([str(NOTARY), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with Session(rt.engine) as s:
                batch = s.exec(select(AnchorBatch)).first()
            if batch is not None and batch.state == BatchState.SENT:
                break
            time.sleep(0.05)
        assert batch is not None and batch.state == BatchState.SENT and batch.tx_hash
        # Killed once the node holds the transaction (broadcast, not yet mined): the event
        # itself, not a pause that assumes it happened.
        tx = "0x" + batch.tx_hash.removeprefix("0x")
        while time.monotonic() < deadline and rpc(url, "eth_getTransactionByHash", tx) is None:
            time.sleep(0.05)
        assert rpc(url, "eth_getTransactionByHash", tx) is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    rpc(url, "evm_mine")
    rpc(url, "evm_setAutomine", True)
    assert rt.worker().run_once() == 1
    with Session(rt.engine) as s:
        [batch] = s.exec(select(AnchorBatch)).all()
    assert batch.state == BatchState.CONFIRMED and batch.attempts == 1
    assert _anchored_roots_on_chain(rt) == [batch.root]


def test_reorganisation_removes_the_anchor_and_the_worker_anchors_again(embedded):
    rt = embedded
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    url = rt.node.rpc_url
    snapshot = rpc(url, "evm_snapshot")
    worker = rt.worker()
    assert worker.run_once(force=True) == 1
    assert verify_pdf(rt.verifier_context(), issued.pdf).indication is Indication.PASSED
    assert rpc(url, "evm_revert", snapshot) is True  # the anchoring block is gone
    for _ in range(3):
        rpc(url, "evm_mine")  # a longer, different chain
    report = verify_pdf(rt.verifier_context(), issued.pdf)
    assert report.indication is not Indication.PASSED
    assert report.check("anchor_inclusion").code == "ANCHOR_NOT_ON_CHAIN"
    assert worker.recheck_recent() == 1
    assert worker.run_once() == 1
    assert verify_pdf(rt.verifier_context(), issued.pdf).indication is Indication.PASSED


def test_one_revoked_leaf_in_a_batch_of_1000(sqlite_runtime, tmp_path):
    """Revocation is per leaf, by inclusion proof: the other 999 still verify."""
    rt = sqlite_runtime
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])  # a real PDF among them
    with Session(rt.engine) as s:
        for _ in range(999):
            enqueue(s, uuid.uuid4(), os.urandom(32), rt.office.code)
        s.commit()
    assert rt.worker().run_once(force=True) == 1000
    with Session(rt.engine) as s:
        entries = list(s.exec(select(OutboxEntry).order_by(OutboxEntry.id)))
        receipts = [anchor_status(s, e.certificate_id).receipt for e in entries]
    assert len({r.root for r in receipts}) == 1 and receipts[0].tree_size == 1000
    victim = receipts[500]
    rt.registry.transact(rt.accounts.anchor, "revokeLeaf", bytes.fromhex(victim.root), bytes.fromhex(victim.leaf_hash),
                         victim.leaf_index, [bytes.fromhex(p) for p in victim.audit_path], 4)
    url = rt.settings.rpc_url
    ledger = standalone.PinnedLedger.from_json(json.loads(rt.trust_bundle().to_json()))
    # Neighbours, read the way an outside auditor would: the pinned ledger only, in the
    # office's scope (synthetic leaves have no PDF; a sample of them and the victim).
    for r in [victim, *receipts[::40]]:
        if r.certificate_id == issued.id:
            continue
        assert standalone.verify_inclusion(bytes.fromhex(r.leaf_hash), r.leaf_index, r.tree_size,
                                           [bytes.fromhex(p) for p in r.audit_path], bytes.fromhex(r.root))
        problem, evidence, _, _ = standalone.quorum_evidence(
            [url], ledger, (rt.signer.fingerprint, bytes.fromhex(r.root), bytes.fromhex(r.leaf_hash)))
        assert problem is None and evidence[12] == r.block_number  # the anchor, in this office's scope
        assert evidence[14] == (4 if r.leaf_hash == victim.leaf_hash else 0), r.leaf_index
    real = anchor_status(Session(rt.engine), issued.id).receipt
    assert standalone.check(issued.pdf, json.loads(real.model_dump_json()), ledger, [url]).indication == "PASSED"
    assert verify_pdf(rt.verifier_context(), issued.pdf).indication is Indication.PASSED



def test_stuck_transaction_is_replaced_with_a_higher_fee(embedded):
    rt = embedded
    issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    url = rt.node.rpc_url
    rpc(url, "evm_setAutomine", False)
    worker = rt.worker()
    worker.config = dataclasses.replace(worker.config, receipt_timeout_seconds=0.2, resend_after_seconds=0.0)
    try:
        assert worker.run_once(force=True) == 0  # sent, not mined
        first = _only_batch(rt)
        assert worker.run_once() == 0  # stuck: replaced in place
        second = _only_batch(rt)
    finally:
        rpc(url, "evm_setAutomine", True)
    assert second.tx_nonce == first.tx_nonce and second.tx_hash != first.tx_hash
    assert second.max_fee_per_gas > first.max_fee_per_gas
    assert second.max_priority_fee_per_gas > first.max_priority_fee_per_gas
    rpc(url, "evm_mine")
    assert worker.run_once() == 1
    batch = _only_batch(rt)
    assert batch.state == BatchState.CONFIRMED
    mined = rt.registry.w3.eth.get_transaction_receipt(batch.tx_hash)
    assert mined["status"] == 1  # the replacement, not the original, was mined
    assert len(_anchored_roots_on_chain(rt)) == 1


def _only_batch(rt) -> AnchorBatch:
    with Session(rt.engine) as s:
        [batch] = s.exec(select(AnchorBatch)).all()
        return batch


def test_a_nonce_lost_with_the_nodes_last_blocks_is_sent_again_not_skipped(sqlite_runtime):
    """A node killed before saving its last blocks counts the account's transactions from
    lower again, while batches sent later still hold the nonces above. A batch sent anew
    (its anchor went with those blocks) must take the lowest nonce nobody holds: a nonce
    above every held one left a hole, and every later anchor waited behind it for good
    (the ten-minute chaos run found it)."""
    rt = sqlite_runtime
    worker = rt.worker()
    confirmed = rt.registry.confirmed_nonce(worker.account.address)
    chain_id = rt.registry.chain_id()
    with Session(rt.engine) as s:
        for offset in (1, 2):  # sent after the lost one, still pending on the node
            s.add(AnchorBatch(state=BatchState.SENT, root=os.urandom(32).hex(), tree_size=1,
                              office_code=rt.office.code, chain_id=chain_id, tx_hash="0x" + os.urandom(32).hex(),
                              tx_nonce=confirmed + offset))
        lost = AnchorBatch(state=BatchState.BUILT, root=os.urandom(32).hex(), tree_size=1, office_code=rt.office.code)
        s.add(lost)
        s.commit()
        s.refresh(lost)
        assert worker._choose_nonce(s, lost) == (confirmed, None)
