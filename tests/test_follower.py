"""Issue #15: the ledger mirror follows the registry's events block by block, rewinds to the
common ancestor after a reorganisation, and a follower killed mid-step leaves the mirror at
a block boundary. A real anvil of its own (a reorganisation must not touch other tests'
chain), real transactions made by the anchoring worker."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from anchoring import follower as follower_module
from anchoring.errors import ChainUnavailable
from anchoring.follower import Follower
from anchoring.mirror import LedgerMirror
from anchoring.models import AnchorBatch, LedgerCursor, LedgerEvent
from issuer.lifecycle import RevocationReason, revoke_certificate
from issuer.service import issue_certificate
from notary.runtime import open_runtime
from notary.settings import Settings
from records.matters import EXAMPLES


@pytest.fixture
def rt(tmp_path):
    runtime = open_runtime(Settings(data_dir=tmp_path / "data", key_passphrase="follower", batch_age_seconds=0.1,
                                    signature_level="B-B"))
    yield runtime
    runtime.close()


def _events(rt, kind: str | None = None) -> list[LedgerEvent]:
    with Session(rt.engine) as s:
        query = select(LedgerEvent).order_by(LedgerEvent.block_number, LedgerEvent.log_index)
        if kind:
            query = query.where(LedgerEvent.kind == kind)
        return list(s.exec(query).all())


def _catch_up(follower: Follower) -> None:
    for _ in range(100):
        if follower.step().behind == 0:
            return
    pytest.fail("the follower did not catch up")


def _anchor(rt, count: int = 1) -> list:
    issued = [issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"]) for _ in range(count)]
    assert _worker(rt).run_once(force=True) == count
    return issued


def _worker(rt):
    """The anchoring worker without its nudge to the runtime's own follower: these tests
    step the follower under test themselves."""
    worker = rt.worker()
    worker.on_ledger_change = None
    return worker


def test_the_mirror_holds_every_event_of_the_registry(rt):
    follower = Follower(rt.engine, rt.registry, batch_blocks=3)  # several steps, on purpose
    issued = _anchor(rt, 2)
    revoke_certificate(rt.engine, issued[0].id, RevocationReason.ISSUED_IN_ERROR)
    _worker(rt).run_once(force=True)  # records the revocation on the ledger
    _catch_up(follower)

    head = rt.registry.block_number()
    assert len(_events(rt)) == len(rt.registry.logs(0, head))  # every log, once
    kinds = {e.kind for e in _events(rt)}
    assert {"OfficeRegistered", "SigningKeyRegistered", "RootAnchored", "LeafRevoked"} <= kinds
    with Session(rt.engine) as s:
        batch = s.exec(select(AnchorBatch)).one()
        cursor = s.get(LedgerCursor, rt.registry.address)
    (anchored,) = _events(rt, "RootAnchored")
    assert anchored.root == batch.root and anchored.office == follower.registry.office_by_code(rt.office.code)
    (revoked,) = _events(rt, "LeafRevoked")
    assert revoked.root == batch.root and revoked.leaf and '"reason": 1' in revoked.data
    assert cursor.block_number == head and cursor.block_hash == rt.registry.block_hash(head).removeprefix("0x")


def test_a_reorganisation_is_rewound_to_the_common_ancestor(rt):
    follower = Follower(rt.engine, rt.registry)
    _anchor(rt)
    _catch_up(follower)
    kept = _events(rt, "RootAnchored")
    snapshot = rt.registry.w3.provider.make_request("evm_snapshot", [])["result"]
    _anchor(rt)  # a second anchor, in blocks that will be reorganised away
    _catch_up(follower)
    assert len(_events(rt, "RootAnchored")) == 2
    fork_point = rt.registry.block_number()

    rt.registry.w3.provider.make_request("evm_revert", [snapshot])
    for _ in range(5):  # another branch, longer than the one the mirror saw
        rt.registry.w3.provider.make_request("evm_mine", [])
    assert rt.registry.block_number() > fork_point
    _catch_up(follower)

    assert [e.root for e in _events(rt, "RootAnchored")] == [e.root for e in kept]
    position = follower.position()
    assert position.behind == 0
    assert position.block_hash == rt.registry.block_hash(position.block_number).removeprefix("0x")
    assert len(_events(rt)) == len(rt.registry.logs(0, position.block_number))


def test_a_follower_killed_mid_step_leaves_the_mirror_at_a_block_boundary(rt, monkeypatch):
    follower = Follower(rt.engine, rt.registry)
    _catch_up(follower)
    before, cursor_before = len(_events(rt)), follower.position().block_number
    _anchor(rt)

    real_session = follower_module.write_session

    def dies_before_commit(engine):
        session = real_session(engine)

        def commit():
            session.flush()  # the rows were written...
            raise SystemExit("the follower is killed")  # ...and the process dies before the commit

        session.commit = commit
        return session

    monkeypatch.setattr(follower_module, "write_session", dies_before_commit)
    with pytest.raises(SystemExit):
        follower.step()
    monkeypatch.setattr(follower_module, "write_session", real_session)
    assert len(_events(rt)) == before and follower.position().block_number == cursor_before

    _catch_up(follower)  # goes on from the last block boundary: nothing twice, nothing missed
    assert len(_events(rt, "RootAnchored")) == 1
    assert len(_events(rt)) == len(rt.registry.logs(0, follower.position().block_number))


def test_a_chain_reorganised_between_reading_blocks_and_events_is_not_mixed(rt, monkeypatch):
    """The follower reads the blocks (fork A: an empty block), then the chain switches to
    fork B, where that block revokes a certificate, before the events are read. The mirror
    must not store B's events under A's block (it would then never read B's revocation):
    the step stores nothing, and the next ones mirror B."""
    (issued,) = _anchor(rt)
    follower = Follower(rt.engine, rt.registry)
    _catch_up(follower)
    with Session(rt.engine) as s:
        from anchoring.status import anchor_status

        receipt = anchor_status(s, issued.id).receipt
    provider = rt.registry.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]
    provider.make_request("evm_mine", [])  # fork A: an empty block
    real_headers = rt.registry.block_headers

    def headers_then_reorganise(start, end):
        headers = real_headers(start, end)
        provider.make_request("evm_revert", [snapshot])  # fork B, in its place: a revocation
        rt.registry.transact(rt.accounts.anchor, "revokeLeaf", bytes.fromhex(receipt.root),
                             bytes.fromhex(receipt.leaf_hash), receipt.leaf_index,
                             [bytes.fromhex(p) for p in receipt.audit_path], 4)
        monkeypatch.setattr(rt.registry, "block_headers", real_headers)
        return headers

    monkeypatch.setattr(rt.registry, "block_headers", headers_then_reorganise)
    before = follower.position().block_number
    with pytest.raises(ChainUnavailable):  # the block it linked is gone: its events are asked by its hash
        follower.step()
    assert follower.position().block_number == before  # nothing stored from two chains
    _catch_up(follower)
    mirror = LedgerMirror(rt.engine, rt.registry.address)
    args = (rt.signer.fingerprint, bytes.fromhex(receipt.root), bytes.fromhex(receipt.leaf_hash))
    assert mirror.evidence(mirror.state(), *args) == rt.registry.evidence(*args)
    assert mirror.evidence(mirror.state(), *args).leaf.reason == 4


def test_a_rewind_gives_way_to_a_follower_that_moved_the_cursor(rt):
    """A follower that found a reorganisation rewinds only if the cursor is still where it
    found it: another follower may have moved it meanwhile (their rows would otherwise mix)."""
    follower = Follower(rt.engine, rt.registry)
    _catch_up(follower)
    with Session(rt.engine, expire_on_commit=False) as s:
        stale = s.get(LedgerCursor, rt.registry.address)
        s.expunge(stale)
    _anchor(rt)
    _catch_up(follower)  # the cursor moves on
    events = len(_events(rt))
    follower._rewind(stale)  # as seen by a slower follower
    assert len(_events(rt)) == events and follower.position().block_number > stale.block_number


def test_blocks_the_node_does_not_have_are_an_error_not_blank_times(rt):
    head = rt.registry.block_number()
    with pytest.raises(ChainUnavailable):
        rt.registry.block_headers(head + 1, head + 3)
