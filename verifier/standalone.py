"""Check a certificate's ledger side with only the Python standard library and web3.py.

    python -m verifier.standalone CERT.pdf RECEIPT.json TRUST_BUNDLE.json RPC_URL [RPC_URL ...] [--quorum N]

Trust comes from the trust bundle (chain id, registry address, a checkpoint block), never
from the receipt, which whoever presents the certificate controls. From the file, the
receipt and a quorum of nodes read at one pinned block, it checks: the receipt is for this
file (and names which revision), its Merkle proof (RFC 9162), the signing certificate
embedded in the file is registered for an office that is not suspended and was valid and
registered at the signing time, the anchor is that office's, as the receipt says, with
enough confirmations, and the leaf is neither revoked nor superseded in that office's
records. The PDF signature's cryptography is checked by ``notary verify``; a file with
bytes after the anchored revision is therefore never PASSED here. It repeats the Merkle
code it needs instead of importing it: it must stand alone.
"""

from __future__ import annotations

import hashlib, json, re, socket, sys, urllib.parse, uuid  # noqa: E401
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from web3 import Web3

LEAF_TAG, SUPERSEDED, SLACK = b"ENOTARY-LEAF-V1", 255, 300
_KEY = "uint64,uint32,uint64,uint64,uint64,uint64,bool,bool,string,string,uint32,uint64,uint64,uint64,uint8,uint64,bytes32"
_OUT = [{"name": n, "type": t} for n, t in zip("head kOff kNb kNa kRev kReg oReg oSusp oCode oName aOff aSize aBlock "
                                               "aTime lReason lBlock lSucc".split(), _KEY.split(","))]
ABI = [{"type": "function", "name": "evidence", "stateMutability": "view",
        "inputs": [{"name": n, "type": "bytes32"} for n in ("fingerprint", "root", "leaf")],
        "outputs": [{"name": "e", "type": "tuple", "components": _OUT}]}]
TSTINFO_OID = bytes.fromhex("060b2a864886f70d0109100104")  # id-ct-TSTInfo


@dataclass(frozen=True)
class Result:
    indication: str  # PASSED | FAILED | INDETERMINATE
    code: str
    message: str
    block_number: int | None = None
    block_timestamp: int | None = None
    nodes_agreeing: int = 0
    revision_end: int | None = None  # the anchored revision ends at this byte of the file


@dataclass(frozen=True)
class PinnedLedger:
    chain_id: int
    registry: str
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
    """Where the file and each earlier revision end: at each %%EOF, with or without the
    line end after it (writers differ)."""
    ends, pos = [len(document)], 0
    while (pos := document.find(b"%%EOF", pos)) != -1:
        pos += 5
        ends += [e for e in (pos, pos + 1, pos + 2) if e < len(document) and e not in ends]
    return ends


def _tlv(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """One DER element at ``pos``: (tag, header start, content start, content end)."""
    tag, n = data[pos], data[pos + 1]
    if n < 0x80:
        return tag, pos, pos + 2, pos + 2 + n
    start = pos + 2 + (n & 0x7F)
    return tag, pos, start, start + int.from_bytes(data[pos + 2:start], "big")


def _kids(data: bytes, parent: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    out, pos = [], parent[2]
    while pos < parent[3]:
        out.append(_tlv(data, pos))
        pos = out[-1][3]
    return out


def signer_facts(document: bytes) -> tuple[bytes | None, int | None]:
    """SHA-256 of the signing certificate in the first signature of ``document`` and the
    time of its RFC 3161 timestamp (unix seconds), read from the CMS blob by a DER walk."""
    match = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", document)
    if not match:
        return None, None
    try:
        cms = bytes.fromhex(match.group(1).decode())
        signed_data = _kids(cms, _kids(cms, _tlv(cms, 0))[1])[0]  # ContentInfo -> [0] -> SignedData
        parts = _kids(cms, signed_data)
        certificates = next(p for p in parts if p[0] == 0xA0)
        signer = _kids(cms, _kids(cms, parts[-1])[0])  # the first SignerInfo
        serial = _kids(cms, signer[1])[1]  # issuerAndSerialNumber
        cert = None
        for c in _kids(cms, certificates):
            tbs = _kids(cms, _kids(cms, c)[0])
            number = tbs[1] if tbs[0][0] == 0xA0 else tbs[0]
            if cms[number[2]:number[3]] == cms[serial[2]:serial[3]]:
                cert = cms[c[1]:c[3]]
        unsigned = cms[signer[-1][2]:signer[-1][3]] if signer[-1][0] == 0xA1 else b""
        at = unsigned.find(TSTINFO_OID)
        when = re.search(rb"\x18[\x0f-\x17](\d{14})", unsigned[at:]) if at >= 0 else None
        ts = datetime.strptime(when.group(1).decode(), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc) if when else None
        return (_h(cert) if cert else None), (int(ts.timestamp()) if ts else None)
    except (IndexError, ValueError, StopIteration):
        return None, None


def distinct_nodes(urls: list[str]) -> list[str]:
    """One URL per node: names that resolve to the same address and port count once."""
    seen, out = set(), []
    for url in urls:
        u = urllib.parse.urlsplit(url)
        try:
            host = socket.getaddrinfo(u.hostname, u.port or 80, proto=socket.IPPROTO_TCP)[0][4][0]
        except (OSError, UnicodeError):
            host = u.hostname
        key = (u.scheme, host, u.port, u.path.rstrip("/"))
        if key not in seen:
            seen.add(key)
            out.append(url)
    return out


def _connect(url: str, bundle: PinnedLedger, timeout: float):
    """A node on the bundle's chain (its chain id, and the checkpoint block in its history)."""
    try:
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
        if w3.eth.chain_id != bundle.chain_id or \
                w3.eth.get_block(bundle.checkpoint_number)["hash"].to_0x_hex().lower() != bundle.checkpoint_hash:
            return None
        return w3, w3.eth.block_number
    except Exception:  # noqa: BLE001 - any failure of a node is "no answer", never a verdict
        return None


def quorum_evidence(urls: list[str], bundle: PinnedLedger, keys: tuple[bytes, bytes, bytes], quorum: int | None = None,
                    timeout: float = 10.0) -> tuple[str | None, tuple | None, int, int]:
    """(problem code or None, agreed evidence, pinned block, nodes agreeing). Every node is
    read at one pinned block (the lowest head) and compared on that block's hash with its
    answer; a node that shows the leaf closed is believed over nodes that do not."""
    nodes = distinct_nodes(urls)
    needed = len(nodes) // 2 + 1 if quorum is None else quorum
    if not 1 <= needed <= len(nodes):
        raise ValueError(f"quorum must be between 1 and {len(nodes)} (the number of distinct nodes)")
    live = [c for c in (_connect(u, bundle, timeout) for u in nodes) if c is not None]
    if not live:
        return "LEDGER_UNAVAILABLE", None, 0, 0
    pinned, answers = min(head for _, head in live), []
    for w3, _ in live:
        try:
            block_hash = w3.eth.get_block(pinned)["hash"].to_0x_hex()
            c = w3.eth.contract(address=bundle.registry, abi=ABI)
            answers.append((block_hash, tuple(c.functions.evidence(*keys).call(block_identifier=pinned))))
        except Exception:  # noqa: BLE001
            continue
    if not answers:
        return "LEDGER_UNAVAILABLE", None, pinned, 0
    closed = [a for a in answers if a[1][14] != 0]  # leaf reason
    if closed:
        (_, evidence), agreeing = Counter(closed).most_common(1)[0]
        return None, evidence, pinned, agreeing
    votes = Counter(answers).most_common()
    (_, evidence), agreeing = votes[0]
    if len(votes) > 1:
        return "NODES_DISAGREE", None, pinned, agreeing
    if agreeing < needed:
        return "NO_QUORUM", None, pinned, agreeing
    return None, evidence, pinned, agreeing


def check(document: bytes, receipt: dict, bundle: PinnedLedger, rpc_urls: list[str], quorum: int | None = None,
          confirmations: int = 1, timeout: float = 10.0) -> Result:
    """The file, its receipt and the ledger, trusting only ``bundle``."""
    if receipt.get("version") != "ENOTARY-RECEIPT-V1":
        return Result("FAILED", "RECEIPT_VERSION", "unknown receipt version")
    if receipt.get("chain_id") != bundle.chain_id or str(receipt.get("contract", "")).lower() != bundle.registry.lower():
        return Result("FAILED", "RECEIPT_WRONG_LEDGER", "the receipt names another ledger than the trusted one")
    end = next((e for e in revision_ends(document) if hashlib.sha256(document[:e]).hexdigest()
                == receipt.get("document_sha256")), None)
    if end is None:
        return Result("FAILED", "RECEIPT_OTHER_DOCUMENT", "the receipt belongs to a different document")
    leaf = leaf_hash(uuid.UUID(receipt["certificate_id"]), bytes.fromhex(receipt["document_sha256"]))
    if leaf.hex() != receipt["leaf_hash"]:
        return Result("FAILED", "RECEIPT_LEAF_MISMATCH", "the receipt's leaf is not this certificate's")
    root, path = bytes.fromhex(receipt["root"]), [bytes.fromhex(p) for p in receipt["audit_path"]]
    if not verify_inclusion(leaf, receipt["leaf_index"], receipt["tree_size"], path, root):
        return Result("FAILED", "ANCHOR_PROOF_INVALID", "the Merkle proof does not lead to the root")
    fingerprint, signed_at = signer_facts(document[:end])
    if fingerprint is None:
        return Result("FAILED", "SIGNATURE_NOT_FOUND", "the anchored revision carries no readable signature")
    problem, e, pinned, agreeing = quorum_evidence(rpc_urls, bundle, (fingerprint, root, leaf), quorum, timeout)
    if e is None:
        return Result("INDETERMINATE", problem, "the ledger nodes gave no agreed answer", nodes_agreeing=agreeing)
    judged = judge(e, receipt, signed_at, pinned, confirmations)
    verdict = Result(*judged, e[12] or None, e[13] or None, agreeing, end)
    if verdict.indication == "PASSED" and end != len(document):
        return Result("INDETERMINATE", "UNVERIFIED_UPDATES", f"the file has {len(document) - end} bytes after the "
                      "anchored revision; check them with notary verify", e[12], e[13], agreeing, end)
    return verdict


def judge(e: tuple, receipt: dict, signed_at: int | None, pinned: int, confirmations: int) -> tuple[str, str, str]:
    """The verdict from one agreed Evidence tuple (anchor and leaf in the key office's scope)."""
    (_, k_office, k_nb, k_na, k_rev, k_reg, _, o_susp, o_code, _, a_office, a_size, a_block, a_time,
     reason, _, successor) = e
    when = signed_at or a_time
    if k_office == 0:
        return "FAILED", "OFFICE_KEY_UNKNOWN", "the signing certificate is not registered on the ledger"
    if o_susp:
        return "FAILED", "OFFICE_SUSPENDED", f"office {o_code} is suspended"
    if o_code != receipt.get("office"):
        return "FAILED", "RECEIPT_OFFICE_MISMATCH", f"the receipt names {receipt.get('office')}, the key is {o_code}'s"
    if a_block == 0 or a_block != receipt["block_number"] or a_size != receipt["tree_size"] or a_office != k_office:
        return "FAILED", "ANCHOR_NOT_ON_CHAIN", f"office {o_code} has no such anchor"
    if k_rev and when > k_rev:
        return "FAILED", "OFFICE_KEY_REVOKED", "the signing key was revoked before the signing time"
    if k_reg and when < k_reg - SLACK:
        return "FAILED", "OFFICE_KEY_REGISTERED_LATER", "the signing key was registered after the signing time"
    if not k_nb <= when < k_na:
        return "FAILED", "OFFICE_KEY_OUT_OF_WINDOW", "the signing time is outside the key's registered window"
    if reason == SUPERSEDED:
        return "FAILED", "SUPERSEDED", f"corrected; replaced by leaf {successor.hex()}"
    if reason:
        return "FAILED", "REVOKED", f"revoked by office {o_code} (reason {reason})"
    if pinned - a_block + 1 < confirmations:
        return "INDETERMINATE", "ANCHOR_CONFIRMING", "anchored; waiting for confirmations"
    return "PASSED", "ANCHORED", f"anchored by office {o_code} and in force"


def main(argv: list[str]) -> int:
    quorum = int(argv[argv.index("--quorum") + 1]) if "--quorum" in argv else None
    args = [a for i, a in enumerate(argv) if a != "--quorum" and (i == 0 or argv[i - 1] != "--quorum")]
    if len(args) < 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 3
    try:
        with open(args[0], "rb") as fh, open(args[1], encoding="utf-8") as r, open(args[2], encoding="utf-8") as b:
            document, receipt, bundle = fh.read(), json.load(r), PinnedLedger.from_json(json.load(b))
        result = check(document, receipt, bundle, args[3:], quorum)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(result.__dict__, indent=2))
    return {"PASSED": 0, "FAILED": 1}.get(result.indication, 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
