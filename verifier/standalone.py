"""The ledger side of a certificate, with only the standard library and web3.py.

    python -m verifier.standalone CERT.pdf RECEIPT.json TRUST_BUNDLE.json RPC_URL [RPC_URL ...] [--quorum N]

Trusts the ledger its trust bundle pins, never the receipt's: the receipt is this file's, its
RFC 9162 proof holds, and a quorum of nodes read at one pinned block says the file's signing
key is registered for an office (not suspended; valid and registered at the timestamp's time)
whose own anchor and records hold the leaf, open. ``notary verify`` checks the signature, so
bytes after the anchored revision never PASS here.
"""

from __future__ import annotations

import hashlib, json, re, socket, sys, urllib.parse, uuid  # noqa: E401
from collections import Counter, namedtuple
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from web3 import Web3

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

sys.setrecursionlimit(1000)  # web3's py_ecc raises it to 100,000: deep input would then crash, not raise

LEAF_TAG, SUPERSEDED, SLACK = b"ENOTARY-LEAF-V1", 255, 300
_TYPES = "uint64 uint32 uint64 uint64 uint64 uint64 bool bool string string uint32 uint64 uint64 uint64 uint8 uint64 bytes32"
ABI = [{"type": "function", "name": "evidence", "stateMutability": "view",
        "inputs": [{"name": n, "type": "bytes32"} for n in ("fingerprint", "root", "leaf")],
        "outputs": [{"name": "e", "type": "tuple",
                     "components": [{"name": f"f{i}", "type": t} for i, t in enumerate(_TYPES.split())]}]}]
TSTINFO_OID = bytes.fromhex("060b2a864886f70d0109100104")  # id-ct-TSTInfo

# indication is PASSED, FAILED or INDETERMINATE; revision_end: where the anchored revision ends.
Result = namedtuple("Result", "indication code message block_number block_timestamp nodes_agreeing revision_end",
                    defaults=(None, None, 0, None))

@dataclass(frozen=True)
class PinnedLedger:
    chain_id: int
    registry: ChecksumAddress
    checkpoint_number: int
    checkpoint_hash: str

    @classmethod
    def from_json(cls, d: dict) -> PinnedLedger:
        if d.get("version") != "ENOTARY-TRUST-V1":
            raise ValueError("not an ENOTARY-TRUST-V1 trust bundle")
        cp = d["checkpoint"]
        return cls(int(d["chain_id"]), Web3.to_checksum_address(d["registry"]), int(cp["number"]), cp["hash"].lower())

def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()

def leaf_hash(certificate_id: uuid.UUID, document_sha256: bytes) -> bytes:
    return _h(b"\x00" + LEAF_TAG + certificate_id.bytes + document_sha256)

def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162, section 2.1.3.2."""
    if not 0 <= index < size or len(leaf) != 32 or len(root) != 32 or any(len(p) != 32 for p in path):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _h(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root

def revision_ends(document: bytes) -> list[int]:
    """The file's end and each earlier revision's: at each %%EOF, with or without a line end."""
    ends, pos = [len(document)], 0
    while (pos := document.find(b"%%EOF", pos)) != -1:
        pos += 5
        ends += [e for e in (pos, pos + 1, pos + 2) if e < len(document) and e not in ends]
    return ends

def _kids(data: bytes, parent: tuple[int, int, int, int] = (0, 0, 0, 1)) -> list[tuple[int, int, int, int]]:
    """The DER elements inside ``parent`` as (tag, start, content start, end); by default the first."""
    out, pos = [], parent[2]
    while pos < parent[3]:
        tag, n = data[pos], data[pos + 1]
        start = pos + 2 + (n & 0x7F if n >= 0x80 else 0)
        out.append((tag, pos, start, start + (int.from_bytes(data[pos + 2:start], "big") if n >= 0x80 else n)))
        pos = out[-1][3]
    return out

def signer_facts(document: bytes) -> tuple[bytes | None, int | None]:
    """SHA-256 of the signing certificate of the file's first signature and its RFC 3161
    timestamp (unix seconds), read from the CMS blob by a DER walk."""
    match = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", document)
    if match is None:
        return None, None
    try:
        cms = bytes.fromhex(match.group(1).decode())
        parts = _kids(cms, _kids(cms, _kids(cms, _kids(cms)[0])[1])[0])  # ContentInfo / [0] / SignedData
        signer = _kids(cms, _kids(cms, parts[-1])[0])  # the first SignerInfo
        serial = _kids(cms, signer[1])[1]  # of its issuerAndSerialNumber
        cert = None
        for c in _kids(cms, next(p for p in parts if p[0] == 0xA0)):
            tbs = _kids(cms, _kids(cms, c)[0])
            number = tbs[1] if tbs[0][0] == 0xA0 else tbs[0]
            cert = cms[c[1]:c[3]] if cms[number[2]:number[3]] == cms[serial[2]:serial[3]] else cert
        unsigned = cms[signer[-1][2]:signer[-1][3]] if signer[-1][0] == 0xA1 else b""
        at = unsigned.find(TSTINFO_OID)
        when = re.search(rb"\x18[\x0f-\x17](\d{14})", unsigned[at:]) if at >= 0 else None
        ts = datetime.strptime(when.group(1).decode(), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc) if when else None
        return (_h(cert) if cert else None), (int(ts.timestamp()) if ts else None)
    except (AttributeError, IndexError, ValueError, StopIteration):
        return None, None

def _address(u: urllib.parse.SplitResult) -> str | None:
    try:
        # An IP address (a str) for TCP; typeshed allows an int for other address families.
        return str(socket.getaddrinfo(u.hostname, u.port or 80, proto=socket.IPPROTO_TCP)[0][4][0])
    except (OSError, UnicodeError):
        return u.hostname

def distinct_nodes(urls: list[str]) -> list[str]:
    """One URL per node: names that resolve to the same address and port count once."""
    found = {(u.scheme, _address(u), u.port, u.path.rstrip("/")): url for url in urls[::-1]
             for u in [urllib.parse.urlsplit(url)]}
    return list(found.values())[::-1]

def quorum_evidence(urls: list[str], ledger: PinnedLedger, keys: tuple[bytes, bytes, bytes],
                    quorum: int | None = None, timeout: float = 10.0) -> tuple[str | None, tuple | None, int, int]:
    """(problem code or None, agreed evidence, pinned block, nodes agreeing). Every node is
    read at one pinned block (the highest head) and compared on that block's hash and its
    answer; a node that shows the leaf closed is believed over nodes that do not."""
    nodes = distinct_nodes(urls)
    needed = len(nodes) // 2 + 1 if quorum is None else quorum
    if not 1 <= needed <= len(nodes):
        raise ValueError(f"quorum must be between 1 and {len(nodes)}, the number of distinct nodes")
    live = []
    for url in nodes:  # a node counts only on the pinned chain: its chain id, the checkpoint in its history
        try:
            w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
            if (w3.eth.chain_id, w3.eth.get_block(ledger.checkpoint_number)["hash"].to_0x_hex().lower()) == \
                    (ledger.chain_id, ledger.checkpoint_hash):
                live.append((w3, w3.eth.block_number))
        except Exception:  # noqa: BLE001 - any failure of a node is "no answer", never a verdict
            continue
    # The freshest head any node claims: a node (lying or behind) cannot pull the reading back
    # before a revocation; one that lacks that block gives no answer, which is never a verdict.
    pinned, answers = max((head for _, head in live), default=0), []
    for w3, _ in live:
        try:
            contract = w3.eth.contract(address=ledger.registry, abi=ABI)
            answers.append((w3.eth.get_block(pinned)["hash"].to_0x_hex(),
                            tuple(contract.functions.evidence(*keys).call(block_identifier=pinned))))
        except Exception:  # noqa: BLE001
            continue
    closed = [a for a in answers if a[1][14] != 0]  # the leaf's reason
    votes = Counter(closed or answers).most_common()
    if not votes:
        return "LEDGER_UNAVAILABLE", None, pinned, 0
    (_, evidence), agreeing = votes[0]
    if not closed and len(votes) > 1:
        return "NODES_DISAGREE", None, pinned, agreeing
    if not closed and agreeing < needed:
        return "NO_QUORUM", None, pinned, agreeing
    return None, evidence, pinned, agreeing

def check(document: bytes, receipt: dict, ledger: PinnedLedger, rpc_urls: list[str], quorum: int | None = None,
          confirmations: int = 1, timeout: float = 10.0) -> Result:
    """The file, its receipt and the ledger, trusting only ``ledger``."""
    end = next((e for e in revision_ends(document) if _h(document[:e]).hex() == receipt.get("document_sha256")), None)
    leaf = leaf_hash(uuid.UUID(receipt["certificate_id"]), bytes.fromhex(receipt["document_sha256"]))
    root, path = bytes.fromhex(receipt["root"]), [bytes.fromhex(p) for p in receipt["audit_path"]]
    for failed, code, message in [
        (receipt.get("version") != "ENOTARY-RECEIPT-V1", "RECEIPT_VERSION", "unknown receipt version"),
        ((receipt.get("chain_id"), str(receipt.get("contract", "")).lower()) != (ledger.chain_id, ledger.registry.lower()),
         "RECEIPT_WRONG_LEDGER", "the receipt names another ledger than the trusted one"),
        (end is None, "RECEIPT_OTHER_DOCUMENT", "the receipt belongs to a different document"),
        (leaf.hex() != receipt["leaf_hash"], "RECEIPT_LEAF_MISMATCH", "the receipt's leaf is not this certificate's"),
        (not verify_inclusion(leaf, receipt["leaf_index"], receipt["tree_size"], path, root), "ANCHOR_PROOF_INVALID",
         "the Merkle proof does not lead to the root")]:
        if failed:
            return Result("FAILED", code, message)
    assert end is not None  # RECEIPT_OTHER_DOCUMENT above
    fingerprint, signed_at = signer_facts(document[:end])
    if fingerprint is None:
        return Result("FAILED", "SIGNATURE_NOT_FOUND", "the anchored revision carries no readable signature")
    problem, e, pinned, agreeing = quorum_evidence(rpc_urls, ledger, (fingerprint, root, leaf), quorum, timeout)
    if e is None:
        return Result("INDETERMINATE", problem, "the ledger nodes gave no agreed answer", nodes_agreeing=agreeing)
    verdict = Result(*judge(e, receipt, signed_at, pinned, confirmations), e[12] or None, e[13] or None, agreeing, end)
    if verdict.indication == "PASSED" and end != len(document):
        return Result("INDETERMINATE", "UNVERIFIED_UPDATES", f"{len(document) - end} bytes follow the anchored "
                      "revision; check them with notary verify", e[12], e[13], agreeing, end)
    return verdict

def judge(e: tuple, receipt: dict, signed_at: int | None, pinned: int, confirmations: int) -> tuple[str, str, str]:
    """The verdict from one agreed Evidence tuple (anchor and leaf in the key office's scope)."""
    _, k_office, k_nb, k_na, k_rev, k_reg, _, susp, code, _, a_office, a_size, a_block, a_time, reason, _, succ = e
    when = signed_at or a_time
    for failed, failure, message in [
        (k_office == 0, "OFFICE_KEY_UNKNOWN", "the signing certificate is not registered on the ledger"),
        (susp, "OFFICE_SUSPENDED", f"office {code} is suspended"),
        (code != receipt.get("office"), "RECEIPT_OFFICE_MISMATCH", f"the key is office {code}'s, not the receipt's"),
        (a_block == 0 or (a_block, a_size, a_office) != (receipt["block_number"], receipt["tree_size"], k_office),
         "ANCHOR_NOT_ON_CHAIN", f"office {code} has no such anchor"),
        (bool(k_rev) and when > k_rev, "OFFICE_KEY_REVOKED", "the key was revoked before the signing time"),
        (bool(k_reg) and when < k_reg - SLACK, "OFFICE_KEY_REGISTERED_LATER", "the key was registered after signing"),
        (not k_nb <= when < k_na, "OFFICE_KEY_OUT_OF_WINDOW", "the signing time is outside the key's window"),
        (reason == SUPERSEDED, "SUPERSEDED", f"corrected; replaced by leaf {succ.hex()}"),
        (reason != 0, "REVOKED", f"revoked by office {code} (reason {reason})")]:
        if failed:
            return "FAILED", failure, message
    if pinned - a_block + 1 < confirmations:
        return "INDETERMINATE", "ANCHOR_CONFIRMING", "anchored; waiting for confirmations"
    return "PASSED", "ANCHORED", f"anchored by office {code} and in force"

def main(argv: list[str]) -> int:
    quorum = int(argv[argv.index("--quorum") + 1]) if "--quorum" in argv[:-1] else None
    args = [a for i, a in enumerate(argv) if "--quorum" not in (a, argv[i - 1] if i else "")]
    try:
        if len(args) < 4:
            raise ValueError("usage: " + __doc__.split("\n\n")[1].strip())
        with open(args[0], "rb") as fh, open(args[1], encoding="utf-8") as r, open(args[2], encoding="utf-8") as b:
            document, receipt, ledger = fh.read(), json.load(r), PinnedLedger.from_json(json.load(b))
        result = check(document, receipt, ledger, args[3:], quorum)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(result._asdict(), indent=2))
    return {"PASSED": 0, "FAILED": 1}.get(result.indication, 2)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
