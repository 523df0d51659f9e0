"""Lying ledger nodes: a JSON-RPC proxy of our own forwards to the real anvil and rewrites
what it is told to (the ``evidence`` answer, block hashes, the chain id). Offline
verification (``standalone.check``, ``verify_offline`` and ``notary verify --receipt``) must
keep its quorum promises against it:

- ``1 <= quorum <= distinct nodes``, otherwise ValueError (CLI exit 3);
- nodes are read at one pinned block and compared on the block hash they answered at;
- a node that shows the leaf closed (revoked, superseded) is believed over nodes that do
  not, so a liar hiding a revocation never makes a revoked certificate PASS, whatever the
  quorum or the order of the nodes;
- any other disagreement is INDETERMINATE ``NODES_DISAGREE``, not "unavailable";
- one node under two names counts once;
- a node of another chain (chain id, or a checkpoint block it does not have) gives no answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils.abi import collapse_if_tuple
from sqlmodel import Session, select
from web3 import Web3

from anchoring.accounts import fund_on_dev_node
from anchoring.chain import RegistryClient, connect
from anchoring.models import LeafAction, LeafActionState
from anchoring.node import anvil_binary, free_port, rpc_alive
from anchoring.receipt import AnchorReceipt
from anchoring.status import anchor_status
from contracts import load_artifact
from issuer.lifecycle import RevocationReason, revoke_certificate
from records.matters import EXAMPLES
from issuer.service import IssuedCertificate, issue_certificate
from notary.runtime import Runtime, open_runtime
from tests.conftest import make_settings
from verifier import standalone
from verifier.offline import verify_offline
from verifier.report import CheckStatus, Indication

NOTARY = Path(sys.executable).with_name("notary")
# The Evidence struct as one ABI tuple type, from the contract's own ABI.
EVIDENCE_TYPE = collapse_if_tuple(next(f for f in load_artifact().abi if f.get("name") == "evidence")["outputs"][0])
EVIDENCE_SELECTOR = "0x" + Web3.keccak(text="evidence(bytes32,bytes32,bytes32)")[:4].hex()
# Fields of the contract's Evidence struct (see NotaryRegistry.sol).
K_OFFICE, A_OFFICE, A_SIZE, A_BLOCK, L_REASON, L_BLOCK, L_SUCCESSOR = 1, 10, 11, 12, 14, 15, 16


# ------------------------------------------------------------------------------ the liar

class LyingNode:
    """A JSON-RPC server on 127.0.0.1 that forwards every request to ``upstream`` and
    rewrites what the attributes say:

    ``evidence``      a function from the decoded Evidence fields (a list) to the lie;
    ``chain_id``      the chain id to claim;
    ``block_hash``    a function from a block number to the hash to claim (None: the truth);
    ``refuse_calls``  answer every ``eth_call`` with a JSON-RPC error;
    ``head``          the block number to claim as the chain head (``eth_blockNumber``).
    """

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.reset()
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def do_POST(self):  # noqa: N802 - http.server's name
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                body = json.dumps(node.answer(request)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="lying-node", daemon=True)
        self.thread.start()

    def reset(self) -> None:
        self.evidence: Callable[[list], list] | None = None
        self.chain_id: int | None = None
        self.block_hash: Callable[[int], str | None] | None = None
        self.refuse_calls = False
        self.head: int | None = None
        self.lies_told = 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _forward(self, request: dict) -> dict:
        req = urllib.request.Request(self.upstream, json.dumps(request).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    def answer(self, request):
        if isinstance(request, list):
            return [self.answer(r) for r in request]
        method = request.get("method")
        if method == "eth_chainId" and self.chain_id is not None:
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": hex(self.chain_id)}
        if method == "eth_blockNumber" and self.head is not None:
            self.lies_told += 1
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": hex(self.head)}
        if method == "eth_call" and self.refuse_calls:
            return {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32000, "message": "no"}}
        reply = self._forward(request)
        result = reply.get("result")
        if method == "eth_call" and self.evidence is not None and isinstance(result, str):
            call = request["params"][0]
            data = call.get("data") or call.get("input") or ""
            if data.startswith(EVIDENCE_SELECTOR):
                fields = list(abi_decode([EVIDENCE_TYPE], bytes.fromhex(result[2:]))[0])
                reply["result"] = "0x" + abi_encode([EVIDENCE_TYPE], [tuple(self.evidence(fields))]).hex()
                self.lies_told += 1
        if method in ("eth_getBlockByNumber", "eth_getBlockByHash") and self.block_hash is not None \
                and isinstance(result, dict):
            fake = self.block_hash(int(result["number"], 16))
            if fake is not None:
                result["hash"] = fake
                self.lies_told += 1
        return reply


def hide_closure(fields: list) -> list:
    """The leaf looks open."""
    fields[L_REASON], fields[L_BLOCK], fields[L_SUCCESSOR] = 0, 0, b"\x00" * 32
    return fields


def claim_revoked(fields: list) -> list:
    """The leaf looks revoked (reason 1) in the anchoring block."""
    fields[L_REASON], fields[L_BLOCK] = 1, fields[A_BLOCK]
    return fields


def move_anchor(fields: list) -> list:
    """The anchor looks one block later."""
    fields[A_BLOCK] += 1
    return fields


def other_office_anchor(fields: list) -> list:
    """The anchor looks like another office's."""
    fields[A_OFFICE] = fields[K_OFFICE] + 1
    return fields


def localhost(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


def start_anvil(directory: Path, chain_id: int) -> tuple[subprocess.Popen, str]:
    """A second, independent anvil (its own chain and history)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(directory / "anvil.log", "ab")
    process = subprocess.Popen([str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port),
                                "--chain-id", str(chain_id), "--accounts", "1"],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not rpc_alive(url, timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the second anvil did not start")
        time.sleep(0.05)
    return process, url


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------------------ fixtures

@dataclass
class Anchored:
    cert: IssuedCertificate
    receipt: AnchorReceipt

    @property
    def body(self) -> dict:
        return json.loads(self.receipt.model_dump_json())


@dataclass
class Bench:
    rt: Runtime
    honest: str
    liar: LyingNode
    good: Anchored
    revoked: Anchored

    @property
    def bundle(self):
        return self.rt.trust_bundle()

    @property
    def pinned(self) -> standalone.PinnedLedger:
        return standalone.PinnedLedger.from_json(json.loads(self.rt.trust_bundle().to_json()))


def anchored_certificate(rt: Runtime) -> Anchored:
    cert = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    with Session(rt.engine) as s:
        receipt = anchor_status(s, cert.id).receipt
    assert receipt is not None
    return Anchored(cert, receipt)


@pytest.fixture(scope="module")
def bench(tmp_path_factory, anvil_url):
    rt = open_runtime(make_settings(tmp_path_factory.mktemp("lying") / "office", anvil_url))
    liar = LyingNode(anvil_url)
    try:
        good, revoked = anchored_certificate(rt), anchored_certificate(rt)
        revoke_certificate(rt.engine, revoked.cert.id, RevocationReason.ISSUED_IN_ERROR)
        rt.worker().run_once()
        with Session(rt.engine) as s:
            action = s.exec(select(LeafAction).where(LeafAction.certificate_id == revoked.cert.id)).one()
        assert action.state == LeafActionState.DONE and action.tx_hash
        yield Bench(rt, anvil_url, liar, good, revoked)
    finally:
        liar.close()
        rt.close()


@pytest.fixture
def b(bench):
    bench.liar.reset()
    yield bench
    bench.liar.reset()


def alone(b: Bench, item: Anchored, urls: list[str], quorum: int | None = None) -> standalone.Result:
    return standalone.check(item.cert.pdf, item.body, b.pinned, urls, quorum, timeout=5)


def offline(b: Bench, item: Anchored, urls: list[str], quorum: int | None = None):
    return verify_offline(item.cert.pdf, item.receipt, urls, b.bundle, quorum=quorum, timeout=5)


def ledger_codes(report) -> tuple[str, str, str]:
    return tuple(report.check(n).code for n in ("office_binding", "anchor_inclusion", "status"))


ORDERS = ["honest-first", "liar-first"]


def nodes(b: Bench, order: str) -> list[str]:
    return [b.honest, b.liar.url] if order == "honest-first" else [b.liar.url, b.honest]


# ------------------------------------------------------------------------------ tests

def test_the_proxy_tells_the_truth_unless_told_otherwise(b):
    for item, code in ((b.good, "ANCHORED"), (b.revoked, "REVOKED")):
        for urls in ([b.liar.url], [b.honest, b.liar.url]):
            assert alone(b, item, urls).code == code
            assert alone(b, item, urls).nodes_agreeing == len(urls)
    assert offline(b, b.good, [b.liar.url, b.honest]).indication is Indication.PASSED
    assert b.liar.lies_told == 0


def test_quorum_is_between_one_and_the_distinct_nodes(b):
    two = [b.honest, b.liar.url]
    for bad in (0, -1, 3):
        with pytest.raises(ValueError):
            alone(b, b.good, two, bad)
        with pytest.raises(ValueError):
            offline(b, b.good, two, bad)
    for fine in (None, 1, 2):
        assert alone(b, b.good, two, fine).indication == "PASSED"
        assert offline(b, b.good, two, fine).indication is Indication.PASSED
    # One node under two names is one node: a quorum of two cannot be met with it.
    same = [b.honest, localhost(b.honest)]
    assert standalone.distinct_nodes(same) == [b.honest]
    with pytest.raises(ValueError):
        alone(b, b.good, same, 2)
    with pytest.raises(ValueError):
        offline(b, b.good, same, 2)
    result = alone(b, b.good, same)
    assert (result.indication, result.nodes_agreeing) == ("PASSED", 1)
    # The liar under two names and the honest node: two nodes, not three.
    three_names = [b.liar.url, localhost(b.liar.url), b.honest]
    assert len(standalone.distinct_nodes(three_names)) == 2
    with pytest.raises(ValueError):
        alone(b, b.good, three_names, 3)
    with pytest.raises(ValueError):
        offline(b, b.good, three_names, 3)
    assert alone(b, b.good, three_names, 2).nodes_agreeing == 2
    with pytest.raises(ValueError):
        alone(b, b.good, [], None)


@pytest.mark.parametrize("order", ORDERS)
def test_a_node_hiding_a_revocation_cannot_make_it_pass(b, order):
    b.liar.evidence = hide_closure
    urls = nodes(b, order)
    assert alone(b, b.revoked, [b.liar.url]).indication == "PASSED"  # the lie works on its own ...
    for quorum in (None, 1, 2):
        result = alone(b, b.revoked, urls, quorum)
        assert (result.indication, result.code) == ("FAILED", "REVOKED"), (order, quorum, result)
        report = offline(b, b.revoked, urls, quorum)
        assert report.indication is Indication.FAILED, (order, quorum, ledger_codes(report))
        assert report.check("status").code == "REVOKED" and report.check("status").status is CheckStatus.INVALID
        assert report.check("status").details["reason"] == 1
    # ... and under two names it is still one node beside the honest one.
    urls = [b.liar.url, localhost(b.liar.url), b.honest] if order == "liar-first" else \
        [b.honest, b.liar.url, localhost(b.liar.url)]
    for quorum in (None, 1, 2):
        assert alone(b, b.revoked, urls, quorum).code == "REVOKED"
        assert offline(b, b.revoked, urls, quorum).check("status").code == "REVOKED"
    assert b.liar.lies_told > 0


@pytest.mark.parametrize("order", ORDERS)
def test_a_node_claiming_an_old_head_cannot_roll_back_a_revocation(b, order):
    """The liar tells the truth about every block and every call, but claims the chain
    head is still the block that anchored the revoked certificate (before its revocation).
    The verifiers pin the lowest head they were told and read every node there, so the
    honest node too is read before the revocation. Whatever the quorum, a revoked
    certificate must not PASS."""
    b.liar.head = b.revoked.receipt.block_number
    revoked_at = b.rt.registry.get_leaf_status(b.rt.worker().office_number,
                                               bytes.fromhex(b.revoked.receipt.leaf_hash)).block_number
    assert b.liar.head < revoked_at <= b.rt.registry.block_number()
    seen = {}
    for quorum in (None, 1, 2):
        result = alone(b, b.revoked, nodes(b, order), quorum)
        report = offline(b, b.revoked, nodes(b, order), quorum)
        seen[quorum] = (result.indication, result.code, report.indication.value, report.check("status").code)
    assert all(s[0] != "PASSED" and s[2] != "PASSED" for s in seen.values()), seen


@pytest.mark.parametrize("order", ORDERS)
def test_a_node_showing_a_leaf_closed_is_believed(b, order):
    """The other side of the rule: a closure is believed even from one node (a revocation
    hidden is worse than a valid certificate held up)."""
    b.liar.evidence = claim_revoked
    for quorum in (None, 1, 2):
        result = alone(b, b.good, nodes(b, order), quorum)
        assert (result.indication, result.code) == ("FAILED", "REVOKED")
        report = offline(b, b.good, nodes(b, order), quorum)
        assert report.indication is Indication.FAILED and report.check("status").code == "REVOKED"


@pytest.mark.parametrize("order", ORDERS)
def test_disagreement_is_nodes_disagree_not_unavailable(b, order):
    b.liar.evidence = move_anchor
    for quorum in (None, 1, 2):
        result = alone(b, b.good, nodes(b, order), quorum)
        assert (result.indication, result.code) == ("INDETERMINATE", "NODES_DISAGREE"), (quorum, result)
        report = offline(b, b.good, nodes(b, order), quorum)
        assert report.indication is Indication.INDETERMINATE
        assert ledger_codes(report) == ("NODES_DISAGREE",) * 3
        assert report.check("anchor_inclusion").status is CheckStatus.ERROR
    # A revoked certificate with the anchor moved by the liar: both answers show the leaf
    # closed; whichever is believed, never PASSED.
    for quorum in (None, 1, 2):
        result = alone(b, b.revoked, nodes(b, order), quorum)
        assert result.indication == "FAILED" and result.code in ("REVOKED", "ANCHOR_NOT_ON_CHAIN")
        assert offline(b, b.revoked, nodes(b, order), quorum).indication is Indication.FAILED


@pytest.mark.parametrize("order", ORDERS)
def test_nodes_are_compared_on_the_block_hash_they_answered_at(b, order):
    """Same evidence, but the liar claims another hash for the pinned block: the nodes do
    not agree on what they read."""
    checkpoint = b.bundle.checkpoint.number
    b.liar.block_hash = lambda n: None if n <= checkpoint else "0x" + "ab" * 32
    for quorum in (None, 1, 2):
        assert alone(b, b.good, nodes(b, order), quorum).code == "NODES_DISAGREE"
        assert ledger_codes(offline(b, b.good, nodes(b, order), quorum)) == ("NODES_DISAGREE",) * 3
    assert b.liar.lies_told > 0


@pytest.mark.parametrize("order", ORDERS)
def test_a_node_without_the_checkpoint_block_gives_no_answer(b, order):
    checkpoint = b.bundle.checkpoint.number
    b.liar.block_hash = lambda n: "0x" + "cd" * 32 if n == checkpoint else None
    b.liar.evidence = hide_closure  # whatever it would say about the leaf is never read
    urls = nodes(b, order)
    result = alone(b, b.good, urls)  # a majority of two is two: one answer is not enough
    assert (result.indication, result.code, result.nodes_agreeing) == ("INDETERMINATE", "NO_QUORUM", 1)
    assert ledger_codes(offline(b, b.good, urls)) == ("NO_QUORUM",) * 3
    assert alone(b, b.good, urls, 1).indication == "PASSED"
    assert offline(b, b.good, urls, quorum=1).indication is Indication.PASSED
    assert alone(b, b.revoked, urls, 1).code == "REVOKED"
    assert alone(b, b.revoked, [b.liar.url]).code == "LEDGER_UNAVAILABLE"
    assert offline(b, b.revoked, [b.liar.url]).indication is Indication.INDETERMINATE
    assert b.liar.lies_told > 0


@pytest.mark.parametrize("order", ORDERS)
def test_a_node_claiming_another_chain_id_gives_no_answer(b, order):
    b.liar.chain_id = 4242
    b.liar.evidence = hide_closure
    urls = nodes(b, order)
    assert alone(b, b.good, urls).code == "NO_QUORUM"
    assert alone(b, b.good, urls, 1).indication == "PASSED"
    assert alone(b, b.revoked, urls, 1).code == "REVOKED"
    assert alone(b, b.revoked, [b.liar.url]).code == "LEDGER_UNAVAILABLE"
    report = offline(b, b.revoked, [b.liar.url])
    assert report.indication is Indication.INDETERMINATE and ledger_codes(report) == ("LEDGER_UNAVAILABLE",) * 3


def test_a_node_refusing_calls_gives_no_answer(b):
    b.liar.refuse_calls = True
    urls = [b.liar.url, b.honest]
    assert alone(b, b.good, urls).code == "NO_QUORUM"
    assert alone(b, b.good, urls, 1).indication == "PASSED"
    assert alone(b, b.good, [b.liar.url]).code == "LEDGER_UNAVAILABLE"


def test_a_node_of_another_chain_with_a_copy_of_the_registry(b, tmp_path):
    """A second anvil (chain id 4242) where the registry is deployed again at the very same
    address (same deployer, same nonce), the office and its key registered again, and the
    revoked certificate's root anchored at the same block number with its leaf left open:
    a perfect copy except for the chain. Seen directly, and through a proxy claiming our
    chain id (then only the checkpoint block tells it apart), it gives no answer."""
    rt = b.rt
    process, other = start_anvil(tmp_path / "other-chain", 4242)
    proxy = LyingNode(other)
    try:
        w3 = connect(other)
        admin = rt.accounts.admin
        fund_on_dev_node(w3, admin.address, rt.accounts.anchor.address)
        assert w3.eth.get_transaction_count(admin.address) == 0
        address, _ = RegistryClient.deploy(w3, admin)
        assert address == rt.registry.address  # same deployer and nonce: same address
        copy = RegistryClient(w3, address)
        copy.transact(admin, "registerOffice", rt.office.code, rt.office.name, [rt.accounts.anchor.address])
        key = rt.registry.get_signing_key(rt.signer.fingerprint)
        copy.transact(admin, "registerSigningKey", 1, rt.signer.fingerprint, key.not_before, key.not_after)
        receipt = b.revoked.receipt
        head = w3.eth.block_number
        assert head <= receipt.block_number - 1
        if head < receipt.block_number - 1:
            w3.provider.make_request("anvil_mine", [hex(receipt.block_number - 1 - head)])
        copy.transact(rt.accounts.anchor, "anchor", bytes.fromhex(receipt.root), receipt.tree_size, b"\x00" * 32)
        e = copy.evidence(rt.signer.fingerprint, bytes.fromhex(receipt.root), bytes.fromhex(receipt.leaf_hash))
        assert e.anchor.block_number == receipt.block_number and e.leaf.reason == 0  # the copy says "in force"
        proxy.chain_id = b.pinned.chain_id
        for fake in (other, proxy.url):
            assert alone(b, b.revoked, [fake]).code == "LEDGER_UNAVAILABLE"
            assert offline(b, b.revoked, [fake]).indication is Indication.INDETERMINATE
            for quorum in (None, 1, 2):
                assert alone(b, b.revoked, [fake, b.honest], quorum).code == "REVOKED"
                assert offline(b, b.revoked, [b.honest, fake], quorum).check("status").code == "REVOKED"
            assert alone(b, b.good, [fake, b.honest]).code == "NO_QUORUM"
            assert alone(b, b.good, [fake, b.honest], 1).indication == "PASSED"
    finally:
        proxy.close()
        stop_process(process)


def test_cli_with_a_lying_node(b, tmp_path):
    """`notary verify --receipt --trust-bundle --rpc --quorum`: a liar hiding the revocation
    (under two names) beside the honest node, at the strictest quorum: FAILED (exit 1); a
    quorum of 0 or above the distinct nodes: bad input (exit 3)."""
    b.liar.evidence = hide_closure
    pdf, receipt, bundle = tmp_path / "c.pdf", tmp_path / "r.json", tmp_path / "trust.json"
    pdf.write_bytes(b.revoked.cert.pdf)
    receipt.write_text(b.revoked.receipt.model_dump_json())
    bundle.write_text(b.bundle.to_json())
    env = {**os.environ, "NOTARY_DATA_DIR": str(tmp_path / "empty")}
    args = [str(NOTARY), "verify", str(pdf), "--receipt", str(receipt), "--trust-bundle", str(bundle),
            "--rpc", b.liar.url, "--rpc", b.honest, "--rpc", localhost(b.liar.url)]
    run = lambda *more: subprocess.run([*args, *more], env=env, capture_output=True, text=True, timeout=90)  # noqa: E731
    failed = run("--quorum", "2", "--json")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    report = json.loads(failed.stdout)
    assert report["indication"] == "FAILED"
    assert {c["name"]: c["code"] for c in report["checks"]}["status"] == "REVOKED"
    for bad in ("3", "0"):  # above the two distinct nodes, or none at all
        refused = run("--quorum", bad)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "quorum" in refused.stderr
    assert not (tmp_path / "empty").exists()
