"""Two mutually distrustful offices on one registry, end to end.

Office A is a runtime that deployed the registry; office B is a second runtime on the same
anvil node and registry (``contract_address``), with its own keys, registered by the
registry's administrator (A's deployment holds that key; B's administrator key is not the
registry's). B then attacks A:

a. front-running: anchoring A's next batch root before A's worker does;
b. anchoring a root of its own that holds A's leaves, and revoking / superseding them there;
c. anchoring a root holding A's leaf and handing out a receipt edited to point at it;
d. a rogue deployment of the registry claiming to be A, with A's key and a revocation;
e. key history: un-revoking or postponing a key revocation; a key registered after the
   signing time (a fresh chain whose clock runs an hour ahead);
f. A's own ledger status made to disagree with what A's worker is about to record, and
   transactions that fail.

After each attack both offices' certificates verify exactly as before (``verify_pdf``,
``verify_offline``, ``standalone.check``), and A's own revocations still reach the ledger
(LeafAction DONE with a transaction hash, and every verifier then says REVOKED).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import pytest
from eth_account import Account
from sqlmodel import Session, select

from anchoring.accounts import fund_on_dev_node
from anchoring.chain import RegistryClient, connect
from anchoring.errors import TransactionFailed
from anchoring.merkle import MerkleTree
from anchoring.models import AnchorBatch, BatchState, LeafAction, LeafActionState, OutboxEntry
from anchoring.node import EmbeddedNode
from anchoring.receipt import AnchorReceipt
from storage.sessions import write_session
from anchoring.status import anchor_status
from issuer.lifecycle import RevocationReason, correct_certificate, revoke_certificate
from records.matters import EXAMPLES
from issuer.service import IssuedCertificate, issue_certificate
from notary.runtime import Runtime, open_runtime
from tests.conftest import make_settings
from verifier import standalone
from verifier.offline import verify_offline
from verifier.report import CheckStatus, Indication, Report
from verifier.service import verify_pdf

OFFICE_B = dict(office_name="上海市徐汇公证处", office_code="SH-XUHUI-B", office_abbrev="沪徐")
ZERO = b"\x00" * 32


# ------------------------------------------------------------------------------ helpers

@dataclasses.dataclass
class Anchored:
    rt: Runtime
    cert: IssuedCertificate
    receipt: AnchorReceipt

    @property
    def leaf(self) -> bytes:
        return bytes.fromhex(self.receipt.leaf_hash)

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.receipt.root)

    @property
    def path(self) -> list[bytes]:
        return [bytes.fromhex(p) for p in self.receipt.audit_path]

    @property
    def body(self) -> dict:
        return json.loads(self.receipt.model_dump_json())


def receipt_of(rt: Runtime, cert: IssuedCertificate) -> AnchorReceipt:
    with Session(rt.engine) as s:
        status = anchor_status(s, cert.id)
    assert status is not None and status.receipt is not None, "not anchored"
    return status.receipt


def anchored(rt: Runtime) -> Anchored:
    cert = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    return Anchored(rt, cert, receipt_of(rt, cert))


def pinned(rt: Runtime) -> standalone.PinnedLedger:
    return standalone.PinnedLedger.from_json(json.loads(rt.trust_bundle().to_json()))


def shape(report: Report) -> tuple:
    """What a report says, without details that move with the chain head."""
    return report.indication.value, tuple((c.name, c.status.value, c.code) for c in report.checks)


def verdicts(item: Anchored, url: str, receipt: AnchorReceipt | None = None) -> dict:
    """The three verifiers on one certificate (offline ones with ``receipt``, default its own)."""
    rt, receipt = item.rt, receipt or item.receipt
    alone = standalone.check(item.cert.pdf, json.loads(receipt.model_dump_json()), pinned(rt), [url])
    return {
        "online": shape(verify_pdf(rt.verifier_context(), item.cert.pdf)),
        "offline": shape(verify_offline(item.cert.pdf, receipt, [url], rt.trust_bundle())),
        "standalone": (alone.indication, alone.code),
    }


def assert_all_passed(v: dict) -> None:
    assert v["online"][0] == "PASSED", v
    assert v["offline"][0] == "PASSED", v
    assert v["standalone"] == ("PASSED", "ANCHORED"), v


def assert_all_revoked(item: Anchored, url: str, reason: int) -> None:
    rt = item.rt
    online = verify_pdf(rt.verifier_context(), item.cert.pdf)
    assert online.indication is Indication.FAILED and online.check("status").code == "REVOKED"
    offline = verify_offline(item.cert.pdf, item.receipt, [url], rt.trust_bundle())
    assert offline.indication is Indication.FAILED, shape(offline)
    assert offline.check("status").code == "REVOKED" and offline.check("status").details["reason"] == reason
    alone = standalone.check(item.cert.pdf, item.body, pinned(rt), [url])
    assert (alone.indication, alone.code) == ("FAILED", "REVOKED")
    assert f"reason {reason})" in alone.message


def leaf_action(rt: Runtime, cert_id) -> LeafAction:
    with Session(rt.engine) as s:
        return s.exec(select(LeafAction).where(LeafAction.certificate_id == cert_id)).one()


def revoke_through_the_worker(item: Anchored, reason=RevocationReason.ISSUED_IN_ERROR) -> None:
    """The office revokes locally; its worker records it on the ledger with its own
    transaction, in its own scope."""
    rt = item.rt
    revoke_certificate(rt.engine, item.cert.id, reason, "test")
    rt.worker().run_once()
    action = leaf_action(rt, item.cert.id)
    assert action.state == LeafActionState.DONE, action
    assert action.tx_hash and action.last_error is None
    tx = rt.registry.w3.eth.get_transaction(action.tx_hash)
    assert tx["from"] == rt.accounts.anchor.address and tx["to"] == rt.registry.address
    assert rt.registry.get_leaf_status(rt.worker().office_number, item.leaf).reason == int(reason)


def rejected(fn, error_name: str) -> None:
    with pytest.raises(TransactionFailed) as exc:
        fn()
    assert error_name in str(exc.value)


@dataclasses.dataclass
class Offices:
    a: Runtime
    b: Runtime
    url: str
    number_a: int
    number_b: int
    a_good: Anchored
    b_good: Anchored
    baseline: dict

    @property
    def registry(self) -> RegistryClient:
        return self.a.registry

    def b_sends(self, fn_name: str, *args) -> dict:
        return self.b.registry.transact(self.b.accounts.anchor, fn_name, *args)

    def assert_unharmed(self) -> None:
        """Both offices' certificates verify exactly as before, and A's own revocation of a
        fresh certificate reaches the ledger and every verifier."""
        for item in (self.a_good, self.b_good):
            assert verdicts(item, self.url) == self.baseline[item.cert.id], item.rt.office.code
        fresh = anchored(self.a)
        assert_all_passed(verdicts(fresh, self.url))
        revoke_through_the_worker(fresh)
        assert_all_revoked(fresh, self.url, 1)


def register_signing_key(registry: RegistryClient, admin, office: int, rt: Runtime) -> None:
    validity = rt.signer.certificate["tbs_certificate"]["validity"]
    registry.transact(admin, "registerSigningKey", office, rt.signer.fingerprint,
                      int(validity["not_before"].native.timestamp()), int(validity["not_after"].native.timestamp()))


@pytest.fixture(scope="module")
def offices(tmp_path_factory, anvil_url):
    base = tmp_path_factory.mktemp("two-offices")
    opened: list[Runtime] = []
    try:
        rt_a = open_runtime(make_settings(base / "a", anvil_url))
        opened.append(rt_a)
        registry, admin = rt_a.registry, rt_a.accounts.admin
        # Office B: its own administrator and anchoring keys; the registry's administrator
        # (A's deployment) registers the office with B's anchoring account.
        admin_b, anchor_b = Account.create(), Account.create()
        registry.transact(admin, "registerOffice", OFFICE_B["office_code"], OFFICE_B["office_name"], [anchor_b.address])
        rt_b = open_runtime(make_settings(base / "b", anvil_url, contract_address=registry.address,
                                          admin_private_key=admin_b.key.hex(), anchor_private_key=anchor_b.key.hex(),
                                          **OFFICE_B))
        opened.append(rt_b)
        assert rt_b.accounts.anchor.address == anchor_b.address
        number_a, number_b = registry.office_by_code(rt_a.office.code), registry.office_by_code(rt_b.office.code)
        assert 0 < number_a != number_b > 0
        # B's deployment is not the administrator: it could not register its key itself.
        assert registry.get_signing_key(rt_b.signer.fingerprint) is None
        register_signing_key(registry, admin, number_b, rt_b)
        a_good, b_good = anchored(rt_a), anchored(rt_b)
        assert b_good.receipt.office == rt_b.office.code and b_good.receipt.contract == registry.address
        baseline = {item.cert.id: verdicts(item, anvil_url) for item in (a_good, b_good)}
        for v in baseline.values():
            assert_all_passed(v)
        yield Offices(rt_a, rt_b, anvil_url, number_a, number_b, a_good, b_good, baseline)
    finally:
        for rt in reversed(opened):
            rt.close()


# ------------------------------------------------------------------------------ a. front-running

def test_front_running_a_batch_root(offices):
    o = offices
    a, reg = o.a, o.registry
    a.worker().run_once(force=True)  # nothing of A's left in the outbox
    cert = issue_certificate(a.issuer_context(), "birth", EXAMPLES["birth"])
    # B computes A's next batch as A's worker will: every pending leaf of A, in order.
    with Session(a.engine) as s:
        pending = s.exec(select(OutboxEntry).where(OutboxEntry.batch_id.is_(None),
                                                   OutboxEntry.office_code == a.office.code)
                         .order_by(OutboxEntry.id)).all()
    assert [e.certificate_id for e in pending] == [cert.id]
    tree = MerkleTree([bytes.fromhex(e.leaf_hash) for e in pending])
    front = o.b_sends("anchor", tree.root, tree.size, b"\xbb" * 32)
    assert reg.get_anchor(o.number_b, tree.root).office == o.number_b
    assert reg.get_anchor(o.number_a, tree.root) is None

    assert a.worker().run_once(force=True) == 1
    with Session(a.engine) as s:
        batch = s.exec(select(AnchorBatch).where(AnchorBatch.root == tree.root.hex())).one()
    assert batch.state == BatchState.CONFIRMED and batch.tx_hash
    assert batch.tx_hash != front["transactionHash"].to_0x_hex()
    tx = reg.w3.eth.get_transaction(batch.tx_hash)
    assert tx["from"] == a.accounts.anchor.address  # A's own transaction
    mine = reg.get_anchor(o.number_a, tree.root)
    assert mine.office == o.number_a and mine.block_number == batch.block_number != front["blockNumber"]
    item = Anchored(a, cert, receipt_of(a, cert))
    assert item.receipt.block_number == batch.block_number and item.receipt.office == a.office.code
    assert_all_passed(verdicts(item, o.url))

    # A later revocation by A reaches the ledger and every verifier.
    revoke_through_the_worker(item)
    assert_all_revoked(item, o.url, 1)
    o.assert_unharmed()


# ------------------------------------------------------------------------------ b. closing A's leaves in B's scope

def test_closing_the_other_offices_leaves_in_ones_own_scope(offices):
    o = offices
    reg, a_good = o.registry, o.a_good
    x = anchored(o.a)
    tree = MerkleTree([x.leaf, a_good.leaf])
    o.b_sends("anchor", tree.root, tree.size, ZERO)
    o.b_sends("revokeLeaf", tree.root, x.leaf, 0, tree.inclusion_proof(0), 3)
    o.b_sends("supersedeLeaf", tree.root, a_good.leaf, 1, tree.inclusion_proof(1), os.urandom(32))
    rejected(lambda: o.b_sends("supersedeLeaf", tree.root, x.leaf, 0, tree.inclusion_proof(0), os.urandom(32)),
             "LeafAlreadyClosed")
    # Through A's own root B has nothing to close: that root is not anchored in B's scope.
    rejected(lambda: o.b_sends("revokeLeaf", x.root, x.leaf, x.receipt.leaf_index, x.path, 1), "RootNotAnchored")
    assert reg.get_leaf_status(o.number_b, x.leaf).reason == 3
    assert reg.get_leaf_status(o.number_b, a_good.leaf).reason == 255
    assert reg.get_leaf_status(o.number_a, x.leaf).reason == 0
    assert reg.get_leaf_status(o.number_a, a_good.leaf).reason == 0

    assert_all_passed(verdicts(x, o.url))
    assert verdicts(a_good, o.url) == o.baseline[a_good.cert.id]
    # A revokes x itself (reason 1): its worker sees the leaf open in A's scope and records it.
    revoke_through_the_worker(x)
    assert_all_revoked(x, o.url, 1)
    assert reg.get_leaf_status(o.number_b, x.leaf).reason == 3  # B's claim stays B's
    o.assert_unharmed()


# ------------------------------------------------------------------------------ c. forged receipts

def test_a_receipt_pointing_at_the_other_offices_anchor(offices):
    o = offices
    a_good = o.a_good
    tree = MerkleTree([a_good.leaf, os.urandom(32)])
    sent = o.b_sends("anchor", tree.root, tree.size, ZERO)
    b_anchor = dict(root=tree.root.hex(), tree_size=tree.size, leaf_index=0,
                    audit_path=[p.hex() for p in tree.inclusion_proof(0)], block_number=sent["blockNumber"],
                    tx_hash=sent["transactionHash"].to_0x_hex())
    cases = {
        # B's office and B's anchor: the key is A's, so the receipt names the wrong office.
        "office and anchor of B": (dict(b_anchor, office=o.b.office.code), "RECEIPT_OFFICE_MISMATCH"),
        # Only the office edited.
        "office of B": (dict(office=o.b.office.code), "RECEIPT_OFFICE_MISMATCH"),
        # A's office named, B's anchor: A has no such anchor in its scope.
        "anchor of B": (b_anchor, "ANCHOR_NOT_ON_CHAIN"),
    }
    for name, (edit, code) in cases.items():
        forged = a_good.receipt.model_copy(update=edit)
        assert forged.proof_valid(), name
        report = verify_offline(a_good.cert.pdf, forged, [o.url], o.a.trust_bundle())
        assert report.indication is Indication.FAILED, (name, shape(report))
        assert report.check("anchor_inclusion").code == code and \
            report.check("anchor_inclusion").status is CheckStatus.INVALID, (name, shape(report))
        alone = standalone.check(a_good.cert.pdf, json.loads(forged.model_dump_json()), pinned(o.a), [o.url])
        assert (alone.indication, alone.code) == ("FAILED", code), (name, alone)
    o.assert_unharmed()


# ------------------------------------------------------------------------------ d. rogue deployment

def test_a_rogue_registry_claiming_to_be_the_office(offices):
    o = offices
    a, w3 = o.a, o.registry.w3
    rogue_admin, rogue_anchor = Account.create(), Account.create()
    fund_on_dev_node(w3, rogue_admin.address, rogue_anchor.address)
    address, _ = RegistryClient.deploy(w3, rogue_admin)
    rogue = RegistryClient(w3, address)
    rogue.transact(rogue_admin, "registerOffice", a.office.code, a.office.name, [rogue_anchor.address])
    key = o.registry.get_signing_key(a.signer.fingerprint)
    rogue.transact(rogue_admin, "registerSigningKey", 1, a.signer.fingerprint, key.not_before, key.not_after)
    # y: revoked on the genuine ledger; the rogue one leaves it open. a_good: in force on the
    # genuine ledger; the rogue one revokes it.
    y = anchored(a)
    revoke_through_the_worker(y)
    forged = {}
    for item in (o.a_good, y):
        sent = rogue.transact(rogue_anchor, "anchor", item.root, item.receipt.tree_size, ZERO)
        forged[item.cert.id] = item.receipt.model_copy(update=dict(
            contract=address, block_number=sent["blockNumber"], tx_hash=sent["transactionHash"].to_0x_hex()))
    rogue.transact(rogue_anchor, "revokeLeaf", o.a_good.root, o.a_good.leaf, o.a_good.receipt.leaf_index,
                   o.a_good.path, 1)
    # Believed blindly, the rogue ledger would reverse both verdicts.
    assert rogue.evidence(a.signer.fingerprint, o.a_good.root, o.a_good.leaf).leaf.reason == 1
    assert rogue.evidence(a.signer.fingerprint, y.root, y.leaf).leaf.reason == 0

    bundle, ledger = a.trust_bundle(), pinned(a)
    for item in (o.a_good, y):
        receipt = forged[item.cert.id]
        report = verify_offline(item.cert.pdf, receipt, [o.url], bundle)
        assert report.indication is Indication.FAILED
        assert report.check("anchor_inclusion").code == "RECEIPT_WRONG_LEDGER"
        alone = standalone.check(item.cert.pdf, json.loads(receipt.model_dump_json()), ledger, [o.url])
        assert (alone.indication, alone.code) == ("FAILED", "RECEIPT_WRONG_LEDGER")
    # The genuine receipts: exactly what the genuine ledger says.
    assert verdicts(o.a_good, o.url) == o.baseline[o.a_good.cert.id]
    assert_all_revoked(y, o.url, 1)
    o.assert_unharmed()


# ------------------------------------------------------------------------------ e. key history

def rpc(url: str, method: str, *params):
    return connect(url).provider.make_request(method, list(params))


@pytest.fixture
def fresh_chain(tmp_path):
    """A chain of its own (its clock is moved): never the session's shared node."""
    node = EmbeddedNode(tmp_path / "anvil")
    url = node.ensure()
    opened: list[Runtime] = []

    def runtime(name: str, **overrides) -> Runtime:
        rt = open_runtime(make_settings(tmp_path / name, url, **overrides))
        opened.append(rt)
        return rt

    yield url, runtime
    for rt in reversed(opened):
        rt.close()
    node.stop()


def registered_later_certificate(url: str, runtime, clock_ahead: int = 3600, **office) -> Anchored:
    """Move ``url``'s chain clock ``clock_ahead`` seconds ahead, register a fresh office and
    its key there (at that block time, through the runtime's own administration), then issue
    and anchor a certificate signed now (the timestamp authority's time): its key was
    registered well after the signing time."""
    rpc(url, "evm_increaseTime", clock_ahead)
    rpc(url, "evm_mine")
    rt = runtime("later", **office)
    cert = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    item = Anchored(rt, cert, receipt_of(rt, cert))
    key = rt.registry.get_signing_key(rt.signer.fingerprint)
    assert key.registered_at > time.time() + clock_ahead - 120
    return item


def test_key_history_is_one_way_and_a_later_key_vouches_for_nothing_before(offices, fresh_chain):
    o = offices
    reg, admin = o.registry, o.a.accounts.admin
    # A copy of A's key cannot be registered again, for B or for A.
    for office in (o.number_b, o.number_a):
        rejected(lambda office=office: reg.transact(admin, "registerSigningKey", office, o.a.signer.fingerprint,
                                                    1, 2**40), "FingerprintTaken")
    # A retired key of B stays retired: never restored, never postponed; only brought forward.
    fp, revoked_at = os.urandom(32), int(time.time()) - 60
    reg.transact(admin, "registerSigningKey", o.number_b, fp, 1, 2**40)
    reg.transact(admin, "revokeSigningKey", fp, revoked_at)
    for later in (0, revoked_at, revoked_at + 1, 2**63):
        rejected(lambda later=later: reg.transact(admin, "revokeSigningKey", fp, later), "InvalidRevocation")
    assert reg.get_signing_key(fp).revoked_at == revoked_at
    o.assert_unharmed()

    # The same with a real key and real certificates, on a chain of its own.
    url, runtime = fresh_chain
    c = runtime("c")
    before = anchored(c)
    assert_all_passed(verdicts(before, url))
    retired = int(time.time())
    c.registry.transact(c.accounts.admin, "revokeSigningKey", c.signer.fingerprint, retired)
    time.sleep(1.2)  # strictly after the retirement second
    after = anchored(c)
    assert_all_passed(verdicts(before, url))  # signed before the retirement: still good

    def key_revoked(item: Anchored) -> None:
        v = verdicts(item, url)
        assert v["standalone"] == ("FAILED", "OFFICE_KEY_REVOKED"), v
        for way in ("online", "offline"):
            assert v[way][0] == "FAILED" and ("office_binding", "INVALID", "OFFICE_KEY_REVOKED") in v[way][1], v

    key_revoked(after)
    for attempt in (0, retired, retired + 3600, 2**63):  # un-revoke, or postpone past `after`
        rejected(lambda attempt=attempt: c.registry.transact(c.accounts.admin, "revokeSigningKey",
                                                             c.signer.fingerprint, attempt), "InvalidRevocation")
    assert c.registry.get_signing_key(c.signer.fingerprint).revoked_at == retired
    key_revoked(after)

    # A fresh office on that chain, registered an hour (chain time) after it signed.
    later = registered_later_certificate(url, runtime, office_name="上海市浦东公证处", office_code="SH-PUDONG",
                                         office_abbrev="沪浦", contract_address=c.registry.address,
                                         admin_private_key=c.accounts.admin.key.hex(),
                                         anchor_private_key=Account.create().key.hex())
    v = verdicts(later, url)
    assert v["standalone"] == ("FAILED", "OFFICE_KEY_REGISTERED_LATER"), v
    for way in ("online", "offline"):
        assert v[way][0] == "FAILED", v
        assert ("office_binding", "INVALID", "OFFICE_KEY_REGISTERED_LATER") in v[way][1], v
    assert_all_passed(verdicts(before, url))  # the clock moving changes nothing for earlier keys


# ------------------------------------------------------------------------------ f. the worker's honesty

def test_the_worker_never_calls_done_what_the_ledger_does_not_show(offices):
    o = offices
    a, reg = o.a, o.registry
    # A's own anchoring account closes the leaves first (reason 4), directly on the ledger.
    revoked, corrected = anchored(a), anchored(a)
    for item in (revoked, corrected):
        a.registry.transact(a.accounts.anchor, "revokeLeaf", item.root, item.leaf, item.receipt.leaf_index,
                            item.path, 4)
    revoke_certificate(a.engine, revoked.cert.id, RevocationReason.ISSUED_IN_ERROR)
    successor = correct_certificate(a.issuer_context(), corrected.cert.id, {**EXAMPLES["birth"], "birth_place": "上海市静安区"})
    for _ in range(2):
        a.worker().run_once(force=True)
        for item in (revoked, corrected):
            action = leaf_action(a, item.cert.id)
            assert action.state != LeafActionState.DONE and action.tx_hash is None, action
            assert action.last_error and "status 4" in action.last_error, action
            assert reg.get_leaf_status(o.number_a, item.leaf).reason == 4
    assert_all_passed(verdicts(Anchored(a, successor, receipt_of(a, successor)), o.url))
    o.assert_unharmed()


def test_a_refused_ledger_transaction_leaves_the_action_pending(offices):
    """The proof the worker sends is wrong (a damaged audit path in its database): the
    contract refuses, the action stays pending with the reason; repaired, it goes through."""
    o = offices
    a, reg = o.a, o.registry
    item = anchored(a)
    revoke_certificate(a.engine, item.cert.id, RevocationReason.WITHDRAWN)
    with write_session(a.engine) as s:
        entry = s.exec(select(OutboxEntry).where(OutboxEntry.certificate_id == item.cert.id)).one()
        good_path, entry.audit_path = entry.audit_path, os.urandom(32) + (entry.audit_path or b"")
        s.add(entry)
        s.commit()
    for _ in range(2):
        a.worker().run_once()
        action = leaf_action(a, item.cert.id)
        assert action.state != LeafActionState.DONE and action.tx_hash is None, action
        assert "InvalidProof" in (action.last_error or ""), action
        assert reg.get_leaf_status(o.number_a, item.leaf).reason == 0
    with write_session(a.engine) as s:
        entry = s.exec(select(OutboxEntry).where(OutboxEntry.certificate_id == item.cert.id)).one()
        entry.audit_path = good_path
        s.add(entry)
        s.commit()
    a.worker().run_once()
    action = leaf_action(a, item.cert.id)
    assert action.state == LeafActionState.DONE and action.tx_hash and action.last_error is None
    assert_all_revoked(item, o.url, 2)
    o.assert_unharmed()


def test_an_anchoring_account_without_gas_leaves_the_action_pending_with_an_error(offices):
    """The anchoring account cannot pay for the revocation: the action stays pending, with
    the reason noted, the round goes on (a later action is still tried), and once the
    account is funded again the revocation is recorded."""
    o = offices
    a, reg, w3 = o.a, o.registry, o.registry.w3
    first, second = anchored(a), anchored(a)
    for item in (first, second):
        revoke_certificate(a.engine, item.cert.id, RevocationReason.WITHDRAWN)
    address = a.accounts.anchor.address
    balance = w3.eth.get_balance(address)
    w3.provider.make_request("anvil_setBalance", [address, "0x0"])
    try:
        problem = None
        try:
            a.worker().push_leaf_actions()
        except Exception as exc:  # noqa: BLE001 - asserted below
            problem = exc
        actions = [leaf_action(a, item.cert.id) for item in (first, second)]
    finally:
        w3.provider.make_request("anvil_setBalance", [address, hex(balance)])
    for action in actions:
        assert action.state != LeafActionState.DONE and action.tx_hash is None, action
    for item in (first, second):
        assert reg.get_leaf_status(o.number_a, item.leaf).reason == 0
    assert problem is None, f"push_leaf_actions raised {type(problem).__name__}: {problem}"
    assert [bool(action.last_error) for action in actions] == [True, True], actions

    a.worker().run_once()
    for item in (first, second):
        action = leaf_action(a, item.cert.id)
        assert action.state == LeafActionState.DONE and action.tx_hash and action.last_error is None
        assert_all_revoked(item, o.url, 2)
    o.assert_unharmed()
