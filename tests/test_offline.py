"""Verification without this service: a PDF plus its receipt against chain nodes, with a
quorum; the stdlib + web3 module agrees with the main implementation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from anchoring.leaf import certificate_leaf
from anchoring.merkle import MerkleTree, verify_inclusion
from anchoring.status import anchor_status
from records.matters import EXAMPLES
from issuer.service import issue_certificate
from tests.pdf_tools import flip_byte_in_signed_range
from verifier import standalone
from verifier.offline import verify_offline
from verifier.report import Indication

DEAD = "http://127.0.0.1:9"
NOTARY = Path(sys.executable).with_name("notary")


def pinned(rt) -> standalone.PinnedLedger:
    """What the standalone verifier trusts: the runtime's published trust bundle."""
    return standalone.PinnedLedger.from_json(json.loads(rt.trust_bundle().to_json()))


def _anchored(rt):
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    with Session(rt.engine) as s:
        receipt = anchor_status(s, issued.id).receipt
    return issued, receipt


def test_offline_report_with_quorum(sqlite_runtime):
    rt = sqlite_runtime
    issued, receipt = _anchored(rt)
    url = rt.settings.rpc_url
    roots = rt.trust_bundle()
    ok = verify_offline(issued.pdf, receipt, [url], roots)
    assert ok.indication is Indication.PASSED
    # The same node under two names counts once: two distinct nodes, one answering.
    same = url.replace("127.0.0.1", "localhost")
    assert verify_offline(issued.pdf, receipt, [url, same, DEAD], roots, quorum=1).indication is Indication.PASSED
    with pytest.raises(ValueError):
        verify_offline(issued.pdf, receipt, [url, same, DEAD], roots, quorum=3)
    for bad in (0, -1):
        with pytest.raises(ValueError):
            verify_offline(issued.pdf, receipt, [url], roots, quorum=bad)
    # One answer of the two required: not enough to say anything, and never FAILED.
    short = verify_offline(issued.pdf, receipt, [url, DEAD, "http://127.0.0.1:10"], roots)
    assert short.indication is Indication.INDETERMINATE
    assert short.check("anchor_inclusion").code == "NO_QUORUM"
    assert verify_offline(issued.pdf, receipt, [DEAD], roots).indication is Indication.INDETERMINATE
    # A receipt moved to another root is INVALID offline (no trusted database to vouch for it).
    forged = receipt.model_copy(update={"block_number": receipt.block_number + 1000})
    assert verify_offline(issued.pdf, forged, [url], roots).check("anchor_inclusion").code == "ANCHOR_NOT_ON_CHAIN"
    other, _ = _anchored(rt)
    assert verify_offline(other.pdf, receipt, [url], roots).check("anchor_inclusion").code == "RECEIPT_OTHER_DOCUMENT"


def test_standalone_module(sqlite_runtime):
    rt = sqlite_runtime
    issued, receipt = _anchored(rt)
    url = rt.settings.rpc_url
    body = json.loads(receipt.model_dump_json())
    ledger = pinned(rt)
    ok = standalone.check(issued.pdf, body, ledger, [url])
    assert (ok.indication, ok.code, ok.revision_end) == ("PASSED", "ANCHORED", len(issued.pdf))
    assert standalone.check(issued.pdf, body, ledger, [DEAD]).code == "LEDGER_UNAVAILABLE"
    assert standalone.check(flip_byte_in_signed_range(issued.pdf), body, ledger, [url]).code == "RECEIPT_OTHER_DOCUMENT"
    # An incrementally updated file matches through its earlier revision, but the bytes
    # after it are not checked here: never PASSED, and the revision is named.
    extended = issued.pdf + b"\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
    later = standalone.check(extended, body, ledger, [url])
    assert (later.indication, later.code, later.revision_end) == ("INDETERMINATE", "UNVERIFIED_UPDATES", len(issued.pdf))
    bad_path = body | {"audit_path": body["audit_path"][::-1] or ["00" * 32]}
    if body["audit_path"] != bad_path["audit_path"]:
        assert standalone.check(issued.pdf, bad_path, ledger, [url]).code == "ANCHOR_PROOF_INVALID"
    assert standalone.check(issued.pdf, body | {"version": "X"}, ledger, [url]).code == "RECEIPT_VERSION"
    # The receipt cannot choose the ledger: another registry or chain is FAILED.
    for other in ({"contract": "0x" + "11" * 20}, {"chain_id": body["chain_id"] + 1}):
        assert standalone.check(issued.pdf, body | other, ledger, [url]).code == "RECEIPT_WRONG_LEDGER"
        wrong = verify_offline(issued.pdf, receipt.model_copy(update=other), [url], rt.trust_bundle())
        assert wrong.check("anchor_inclusion").code == "RECEIPT_WRONG_LEDGER" and wrong.indication is Indication.FAILED
    # A receipt naming another office, or a leaf that is not this certificate's.
    assert standalone.check(issued.pdf, body | {"office": "SH-OTHER"}, ledger, [url]).code == "RECEIPT_OFFICE_MISMATCH"
    assert standalone.check(issued.pdf, body | {"leaf_hash": "ab" * 32}, ledger, [url]).code == "RECEIPT_LEAF_MISMATCH"
    # Not a PDF at all, with a receipt made for its bytes: no signature, never PASSED.
    junk = b"three\nlines\nof text\n"
    made = body | {"document_sha256": __import__("hashlib").sha256(junk).hexdigest()}
    assert standalone.check(junk, made, ledger, [url]).indication == "FAILED"


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.data())
def test_standalone_merkle_agrees_with_the_main_implementation(n, data):
    ids = [uuid.UUID(bytes=os.urandom(16)) for _ in range(n)]
    digests = [os.urandom(32) for _ in range(n)]
    leaves = [certificate_leaf(i, d) for i, d in zip(ids, digests)]
    assert leaves == [standalone.leaf_hash(i, d) for i, d in zip(ids, digests)]
    tree = MerkleTree(leaves)
    i = data.draw(st.integers(0, n - 1))
    path = tree.inclusion_proof(i)
    j = data.draw(st.integers(0, n))
    assert standalone.verify_inclusion(leaves[i], j, n, path, tree.root) == verify_inclusion(leaves[i], j, n, path, tree.root)


def test_cli_offline_verify_and_standalone_entry_point(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    issued, receipt = _anchored(rt)
    pdf, rec = tmp_path / "c.pdf", tmp_path / "r.json"
    pdf.write_bytes(issued.pdf)
    rec.write_text(receipt.model_dump_json())
    url = rt.settings.rpc_url
    # An empty data directory: nothing of this service is used.
    env = {**os.environ, "NOTARY_DATA_DIR": str(tmp_path / "empty")}
    bundle = tmp_path / "trust.json"
    bundle.write_text(rt.trust_bundle().to_json())
    root = str(bundle)
    run = lambda *a: subprocess.run([str(NOTARY), *a], env=env, capture_output=True, text=True, timeout=60)  # noqa: E731
    ok = run("verify", str(pdf), "--receipt", str(rec), "--rpc", url, "--trust-bundle", root)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert not (tmp_path / "empty").exists()
    down = run("verify", str(pdf), "--receipt", str(rec), "--rpc", DEAD, "--trust-bundle", root)
    assert down.returncode == 2
    assert run("verify", str(pdf), "--receipt", str(rec), "--trust-bundle", root).returncode == 3
    junk = tmp_path / "junk.json"
    junk.write_text("{}")
    assert run("verify", str(pdf), "--receipt", str(junk), "--rpc", url, "--trust-bundle", root).returncode == 3
    assert run("verify", str(pdf), "--receipt", str(rec), "--rpc", url).returncode == 3  # no bundle: refused
    assert run("verify", str(pdf), "--receipt", str(rec), "--rpc", url, "--trust-bundle", root,
               "--quorum", "-1").returncode == 3
    alone = subprocess.run([sys.executable, "-m", "verifier.standalone", str(pdf), str(rec), root, url],
                           capture_output=True, text=True, timeout=60)
    assert alone.returncode == 0 and json.loads(alone.stdout)["indication"] == "PASSED"
