"""The registry contract: the committed build matches the source, and every permission
rule holds on a real anvil node."""

from __future__ import annotations

import os

import pytest
from eth_account import Account
from web3 import Web3

from anchoring.accounts import fund_on_dev_node
from anchoring.chain import RegistryClient, connect
from anchoring.errors import TransactionFailed
from anchoring.merkle import MerkleTree
from contracts.artifact import ARTIFACT, load_artifact
from contracts.build import compile_contract


def test_committed_bytecode_matches_a_fresh_compile():
    fresh = compile_contract()
    committed = load_artifact()
    assert fresh["solcVersion"].startswith("0.8.28+")
    assert fresh["bytecode"] == committed.bytecode
    assert fresh["deployedBytecode"] == committed.deployed_bytecode
    assert fresh["abi"] == committed.abi
    assert ARTIFACT.read_text().count('"bytecode"') == 1


@pytest.fixture
def ledger(anvil_url):
    w3 = connect(anvil_url)
    admin, office_a, office_b, stranger = (Account.create() for _ in range(4))
    fund_on_dev_node(w3, admin.address, office_a.address, office_b.address, stranger.address)
    address, _ = RegistryClient.deploy(w3, admin)
    reg = RegistryClient(w3, address)
    reg.transact(admin, "registerOffice", "A", "甲公证处", [office_a.address])
    reg.transact(admin, "registerOffice", "B", "乙公证处", [office_b.address])
    return reg, admin, office_a, office_b, stranger


def _tree(n=10):
    return MerkleTree([os.urandom(32) for _ in range(n)])


def _rejected(fn, error_name):
    with pytest.raises(TransactionFailed) as exc:
        fn()
    assert error_name in str(exc.value)


def test_anchor_records_office_block_and_rejects_duplicates(ledger):
    reg, _admin, office_a, _b, _s = ledger
    tree = _tree()
    receipt = reg.transact(office_a, "anchor", tree.root, tree.size, b"\x01" * 32)
    a, b = reg.office_by_code("A"), reg.office_by_code("B")
    got = reg.get_anchor(a, tree.root)
    assert got.office == a
    assert got.block_number == receipt["blockNumber"] and got.tree_size == tree.size
    assert reg.get_anchor(b, tree.root) is None  # another office's scope
    assert reg.contract.functions.anchoredBefore(a, tree.root, receipt["blockNumber"]).call()
    assert not reg.contract.functions.anchoredBefore(a, tree.root, receipt["blockNumber"] - 1).call()
    assert not reg.contract.functions.anchoredBefore(b, tree.root, receipt["blockNumber"]).call()
    _rejected(lambda: reg.transact(office_a, "anchor", tree.root, tree.size, b"\x02" * 32), "RootAlreadyAnchored")
    _rejected(lambda: reg.transact(office_a, "anchor", os.urandom(32), 0, b"\x02" * 32), "EmptyTree")
    logs = reg.contract.events.RootAnchored().get_logs(from_block=receipt["blockNumber"])
    assert logs and logs[0]["args"]["root"] == tree.root


def test_permissions(ledger):
    reg, admin, office_a, office_b, stranger = ledger
    tree = _tree()
    _rejected(lambda: reg.transact(stranger, "anchor", tree.root, tree.size, b"\x00" * 32), "UnknownAccount")
    _rejected(lambda: reg.transact(stranger, "registerOffice", "C", "丙", []), "NotAdmin")
    _rejected(lambda: reg.transact(office_a, "registerSigningKey", 1, os.urandom(32), 1, 2), "NotAdmin")
    _rejected(lambda: reg.transact(admin, "registerOffice", "A", "重复", []), "OfficeCodeTaken")
    _rejected(lambda: reg.transact(admin, "setOfficeAccount", 1, office_b.address, True), "AccountInUse")
    # Suspended office: cannot anchor until reinstated.
    a = reg.office_by_code("A")
    reg.transact(admin, "setOfficeSuspended", a, True)
    _rejected(lambda: reg.transact(office_a, "anchor", tree.root, tree.size, b"\x00" * 32), "OfficeSuspended")
    reg.transact(admin, "setOfficeSuspended", a, False)
    # Paused registry: nobody anchors.
    reg.transact(admin, "setPaused", True)
    _rejected(lambda: reg.transact(office_a, "anchor", tree.root, tree.size, b"\x00" * 32), "IsPaused")
    _rejected(lambda: reg.transact(stranger, "setPaused", False), "NotAdmin")
    reg.transact(admin, "setPaused", False)
    reg.transact(office_a, "anchor", tree.root, tree.size, b"\x00" * 32)


def test_revoke_one_leaf_with_its_proof(ledger):
    reg, _admin, office_a, office_b, _s = ledger
    leaves = [os.urandom(32) for _ in range(37)]
    tree = MerkleTree(leaves)
    reg.transact(office_a, "anchor", tree.root, tree.size, b"\x00" * 32)
    proof = tree.inclusion_proof(17)
    # Wrong proof, wrong office, invalid reason: all refused.
    a = reg.office_by_code("A")
    _rejected(lambda: reg.transact(office_a, "revokeLeaf", tree.root, leaves[17], 18, proof, 1), "InvalidProof")
    # Office B never anchored this root: in its own scope there is nothing to close.
    _rejected(lambda: reg.transact(office_b, "revokeLeaf", tree.root, leaves[17], 17, proof, 1), "RootNotAnchored")
    _rejected(lambda: reg.transact(office_a, "revokeLeaf", tree.root, leaves[17], 17, proof, 0), "InvalidReason")
    _rejected(lambda: reg.transact(office_a, "revokeLeaf", tree.root, leaves[17], 17, proof, 255), "InvalidReason")
    reg.transact(office_a, "revokeLeaf", tree.root, leaves[17], 17, proof, 3)
    assert reg.get_leaf_status(a, leaves[17]).reason == 3
    assert reg.get_leaf_status(a, leaves[16]).reason == 0
    _rejected(lambda: reg.transact(office_a, "revokeLeaf", tree.root, leaves[17], 17, proof, 3), "LeafAlreadyClosed")
    # Correction: leaf 5 superseded by a successor leaf.
    successor = os.urandom(32)
    reg.transact(office_a, "supersedeLeaf", tree.root, leaves[5], 5, tree.inclusion_proof(5), successor)
    st = reg.get_leaf_status(a, leaves[5])
    assert st.reason == 255 and st.successor == successor


def test_on_chain_proof_verification_agrees_with_python(ledger):
    reg = ledger[0]
    for n in (1, 2, 3, 5, 8, 13, 100):
        leaves = [os.urandom(32) for _ in range(n)]
        tree = MerkleTree(leaves)
        for i in {0, n // 2, n - 1}:
            fn = reg.contract.functions.verifyInclusion
            assert fn(leaves[i], i, n, tree.inclusion_proof(i), tree.root).call()
            assert not fn(leaves[i], i, n, tree.inclusion_proof(i), Web3.keccak(tree.root)).call()


def test_signing_keys_with_validity_windows(ledger):
    reg, admin, _a, _b, _s = ledger
    fp = os.urandom(32)
    _rejected(lambda: reg.transact(admin, "registerSigningKey", 1, fp, 10, 10), "InvalidValidity")
    _rejected(lambda: reg.transact(admin, "registerSigningKey", 99, fp, 1, 10), "UnknownOffice")
    reg.transact(admin, "registerSigningKey", 1, fp, 100, 200)
    _rejected(lambda: reg.transact(admin, "registerSigningKey", 2, fp, 100, 200), "FingerprintTaken")
    key = reg.get_signing_key(fp)
    assert (key.office, key.not_before, key.not_after, key.revoked_at) == (1, 100, 200, 0)
    assert key.registered_at == reg.w3.eth.get_block("latest")["timestamp"]
    _rejected(lambda: reg.transact(admin, "revokeSigningKey", fp, 0), "InvalidRevocation")
    reg.transact(admin, "revokeSigningKey", fp, 150)
    assert reg.get_signing_key(fp).revoked_at == 150
    # One-way: never restored (0), never moved later; only earlier (a compromise found older).
    _rejected(lambda: reg.transact(admin, "revokeSigningKey", fp, 0), "InvalidRevocation")
    _rejected(lambda: reg.transact(admin, "revokeSigningKey", fp, 150), "InvalidRevocation")
    _rejected(lambda: reg.transact(admin, "revokeSigningKey", fp, 10**9), "InvalidRevocation")
    reg.transact(admin, "revokeSigningKey", fp, 120)
    assert reg.get_signing_key(fp).revoked_at == 120
    # Revoking stays possible while the registry is paused.
    reg.transact(admin, "setPaused", True)
    reg.transact(admin, "revokeSigningKey", fp, 110)
    reg.transact(admin, "setPaused", False)
    assert reg.get_signing_key(fp).revoked_at == 110


def test_pause_and_suspension_reach_every_account_whenever_added(ledger):
    """Pause and suspension are copied into account records (to keep `anchor` to one
    storage read): accounts added or removed later must still obey them."""
    reg, admin, office_a, _b, _s = ledger
    a = reg.office_by_code("A")
    late, removed = Account.create(), Account.create()
    fund_on_dev_node(reg.w3, late.address, removed.address)
    reg.transact(admin, "setOfficeAccount", a, removed.address, True)
    reg.transact(admin, "setOfficeAccount", a, removed.address, False)
    _rejected(lambda: reg.transact(removed, "anchor", os.urandom(32), 1, b"\x00" * 32), "UnknownAccount")

    reg.transact(admin, "setOfficeSuspended", a, True)
    reg.transact(admin, "setOfficeAccount", a, late.address, True)  # added while suspended
    _rejected(lambda: reg.transact(late, "anchor", os.urandom(32), 1, b"\x00" * 32), "OfficeSuspended")
    reg.transact(admin, "setOfficeSuspended", a, False)

    tree = _tree(4)
    reg.transact(late, "anchor", tree.root, tree.size, b"\x00" * 32)
    reg.transact(admin, "setPaused", True)
    newcomer = Account.create()
    fund_on_dev_node(reg.w3, newcomer.address)
    _rejected(lambda: reg.transact(admin, "setOfficeAccount", a, newcomer.address, True), "IsPaused")
    for acct in (office_a, late):
        _rejected(lambda acct=acct: reg.transact(acct, "anchor", os.urandom(32), 1, b"\x00" * 32), "IsPaused")
    # Taking back what an office anchored stays possible while paused, and while suspended.
    reg.transact(late, "revokeLeaf", tree.root, tree.levels[0][1], 1, tree.inclusion_proof(1), 1)
    reg.transact(admin, "setPaused", False)
    reg.transact(admin, "setOfficeSuspended", a, True)
    reg.transact(late, "revokeLeaf", tree.root, tree.levels[0][2], 2, tree.inclusion_proof(2), 1)
    reg.transact(admin, "setOfficeSuspended", a, False)
    assert reg.get_leaf_status(a, tree.levels[0][2]).reason == 1


def test_a_second_office_cannot_touch_the_first_offices_anchors_or_leaves(ledger):
    """Offices are mutually distrustful: B anchoring A's root first, anchoring a root of
    its own that holds A's leaf, and revoking or superseding that leaf through it change
    nothing in A's scope, and A's own revocation still goes through."""
    reg, admin, office_a, office_b, _s = ledger
    a, b = reg.office_by_code("A"), reg.office_by_code("B")
    leaves = [os.urandom(32) for _ in range(4)]
    tree_a = MerkleTree(leaves)
    fp_a = os.urandom(32)
    reg.transact(admin, "registerSigningKey", a, fp_a, 1, 2**40)
    # Front-running: B anchors A's next root before A does; A's anchor is still its own.
    reg.transact(office_b, "anchor", tree_a.root, tree_a.size, b"\x00" * 32)
    assert reg.get_anchor(a, tree_a.root) is None and reg.get_anchor(b, tree_a.root).office == b
    reg.transact(office_a, "anchor", tree_a.root, tree_a.size, b"\x00" * 32)
    assert reg.get_anchor(a, tree_a.root).office == a
    # B's own two-leaf root holding A's leaf 1, then B closes that leaf in its scope.
    tree_b = MerkleTree([leaves[1], os.urandom(32)])
    reg.transact(office_b, "anchor", tree_b.root, tree_b.size, b"\x00" * 32)
    reg.transact(office_b, "revokeLeaf", tree_b.root, leaves[1], 0, tree_b.inclusion_proof(0), 1)
    # B also supersedes leaf 2 through the copy of A's root it anchored first: in B's scope.
    reg.transact(office_b, "supersedeLeaf", tree_a.root, leaves[2], 2, tree_a.inclusion_proof(2), os.urandom(32))
    assert reg.evidence(fp_a, tree_a.root, leaves[2]).leaf.reason == 0
    _rejected(lambda: reg.transact(office_b, "revokeLeaf", MerkleTree(leaves[:2]).root, leaves[0], 0,
                                   MerkleTree(leaves[:2]).inclusion_proof(0), 1), "RootNotAnchored")
    # What a verifier reads for A's key: A's anchor, A's leaf status: untouched.
    e = reg.evidence(fp_a, tree_a.root, leaves[1])
    assert e.signing_key.office == a and e.anchor.office == a and e.leaf.reason == 0
    assert reg.get_leaf_status(b, leaves[1]).reason == 1  # B's claim stays in B's scope
    # A can still revoke its own leaf.
    reg.transact(office_a, "revokeLeaf", tree_a.root, leaves[1], 1, tree_a.inclusion_proof(1), 2)
    assert reg.evidence(fp_a, tree_a.root, leaves[1]).leaf.reason == 2


def test_evidence_reads_nothing_for_an_unknown_key(ledger):
    reg, _admin, office_a, _b, _s = ledger
    tree = _tree(2)
    reg.transact(office_a, "anchor", tree.root, tree.size, b"\x00" * 32)
    e = reg.evidence(os.urandom(32), tree.root, tree.levels[0][0])
    assert e.signing_key is None and e.office is None and e.anchor is None


def test_a_data_directory_pointing_at_another_contract_version_is_refused(tmp_path, anvil_url):
    """A data directory from before a contract change (its registry answers in another
    shape) is refused with a message that says what to do, not misread."""
    import json

    from anchoring.errors import ContractNotDeployed
    from notary.runtime import open_runtime
    from tests.conftest import make_settings

    w3 = connect(anvil_url)
    deployer = Account.create()
    fund_on_dev_node(w3, deployer.address)
    # Init code that deploys a one-byte contract (STOP): code at the address, not this registry.
    init = bytes.fromhex("6001600c60003960016000f300")
    tx = {"from": deployer.address, "nonce": 0, "chainId": w3.eth.chain_id, "data": init, "gas": 100_000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(
        deployer.sign_transaction(tx).raw_transaction))
    chain_dir = tmp_path / "node" / "chain"
    chain_dir.mkdir(parents=True)
    (chain_dir / f"deployment-{w3.eth.chain_id}.json").write_text(json.dumps(
        {"chain_id": w3.eth.chain_id, "contract": receipt["contractAddress"], "block": receipt["blockNumber"]}))
    with pytest.raises(ContractNotDeployed) as refused:
        open_runtime(make_settings(tmp_path / "node", anvil_url))
    assert "another version" in refused.value.message and "deployment-" in refused.value.message
