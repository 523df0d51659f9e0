"""Check an electronic notarial certificate's ledger anchor with nothing but the Python
standard library and web3.py, so that a court's IT department can audit it in one sitting.

    python -m verifier.standalone CERTIFICATE.pdf RECEIPT.json RPC_URL [RPC_URL ...]

It proves three things from the receipt and the chain alone, trusting no service:
1. the file (or an earlier revision of it, before incremental updates) is the document
   the receipt names (SHA-256);
2. the receipt's Merkle proof leads from the certificate's leaf to the receipt's root
   (RFC 9162; leaf = SHA-256(0x00 || "ENOTARY-LEAF-V1" || id || digest));
3. a quorum of chain nodes says that root is anchored at the receipt's block, and that
   the leaf is neither revoked nor superseded.
The PDF signature itself is checked by ``notary verify`` (it needs a PDF library).

This file deliberately repeats the few lines of Merkle code it needs instead of importing
them: it must stand alone. Its tests check it against the main implementation.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from collections import Counter
from dataclasses import dataclass

from web3 import Web3

LEAF_TAG = b"ENOTARY-LEAF-V1"
ABI = [
    {"type": "function", "name": "getAnchor", "stateMutability": "view",
     "inputs": [{"name": "root", "type": "bytes32"}],
     "outputs": [{"name": "office", "type": "uint32"}, {"name": "treeSize", "type": "uint64"},
                 {"name": "blockNumber", "type": "uint64"}, {"name": "timestamp", "type": "uint64"}]},
    {"type": "function", "name": "getLeafStatus", "stateMutability": "view",
     "inputs": [{"name": "leaf", "type": "bytes32"}],
     "outputs": [{"name": "reason", "type": "uint8"}, {"name": "blockNumber", "type": "uint64"},
                 {"name": "successor", "type": "bytes32"}]},
]
SUPERSEDED = 255


@dataclass(frozen=True)
class Result:
    indication: str  # PASSED | FAILED | INDETERMINATE
    code: str
    message: str
    block_number: int | None = None
    block_timestamp: int | None = None
    nodes_agreeing: int = 0


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(certificate_id: uuid.UUID, document_sha256: bytes) -> bytes:
    return _h(b"\x00" + LEAF_TAG + certificate_id.bytes + document_sha256)


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162, section 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def revision_digests(document: bytes) -> list[str]:
    """SHA-256 of the file and of each earlier revision. A revision ends at a %%EOF marker,
    with or without the end-of-line after it (writers differ), so each cut is tried."""
    digests = [hashlib.sha256(document).hexdigest()]
    pos = 0
    while (pos := document.find(b"%%EOF", pos)) != -1:
        pos += 5
        end = pos
        while end < len(document) and document[end:end + 1] in (b"\r", b"\n"):
            end += 1
        for cut in range(pos, end + 1):
            if cut < len(document):
                digest = hashlib.sha256(document[:cut]).hexdigest()
                if digest not in digests:
                    digests.append(digest)
    return digests


def _ask(url: str, receipt: dict, timeout: float) -> tuple | None:
    try:
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
        if w3.eth.chain_id != receipt["chain_id"]:
            return None
        c = w3.eth.contract(address=Web3.to_checksum_address(receipt["contract"]), abi=ABI)
        anchor = tuple(c.functions.getAnchor(bytes.fromhex(receipt["root"])).call())
        status = tuple(c.functions.getLeafStatus(bytes.fromhex(receipt["leaf_hash"])).call())
        return anchor + status
    except Exception:  # noqa: BLE001 - any failure of a node is "no answer", never a verdict
        return None


def check(document: bytes, receipt: dict, rpc_urls: list[str], quorum: int | None = None,
          timeout: float = 10.0) -> Result:
    """Everything: the document matches the receipt, and the receipt holds on chain."""
    if receipt.get("document_sha256") not in revision_digests(document):
        return Result("FAILED", "RECEIPT_OTHER_DOCUMENT", "the receipt belongs to a different document")
    return check_receipt(receipt, rpc_urls, quorum, timeout)


def check_receipt(receipt: dict, rpc_urls: list[str], quorum: int | None = None, timeout: float = 10.0) -> Result:
    """The receipt alone: its leaf, its Merkle proof, and a quorum of nodes on its root and leaf."""
    if receipt.get("version") != "ENOTARY-RECEIPT-V1":
        return Result("FAILED", "RECEIPT_VERSION", "unknown receipt version")
    leaf = leaf_hash(uuid.UUID(receipt["certificate_id"]), bytes.fromhex(receipt["document_sha256"]))
    if leaf.hex() != receipt["leaf_hash"]:
        return Result("FAILED", "RECEIPT_LEAF_MISMATCH", "the receipt's leaf is not this certificate's")
    path = [bytes.fromhex(p) for p in receipt["audit_path"]]
    if not verify_inclusion(leaf, receipt["leaf_index"], receipt["tree_size"], path, bytes.fromhex(receipt["root"])):
        return Result("FAILED", "ANCHOR_PROOF_INVALID", "the Merkle proof does not lead to the root")
    answers = [a for a in (_ask(u, receipt, timeout) for u in rpc_urls) if a is not None]
    needed = quorum or len(rpc_urls) // 2 + 1
    if not answers:
        return Result("INDETERMINATE", "LEDGER_UNAVAILABLE", "no chain node answered")
    (office, size, block, ts, reason, _rblock, successor), agreeing = Counter(answers).most_common(1)[0]
    if agreeing < needed:
        return Result("INDETERMINATE", "NO_QUORUM", f"only {agreeing} of {needed} nodes agree", nodes_agreeing=agreeing)
    if block == 0 or block != receipt["block_number"] or size != receipt["tree_size"]:
        return Result("FAILED", "ANCHOR_NOT_ON_CHAIN", "the root is not anchored where the receipt says",
                      nodes_agreeing=agreeing)
    if reason == SUPERSEDED:
        return Result("FAILED", "SUPERSEDED", f"corrected; replaced by leaf {successor.hex()}", block, ts, agreeing)
    if reason != 0:
        return Result("FAILED", "REVOKED", f"revoked (reason {reason})", block, ts, agreeing)
    return Result("PASSED", "ANCHORED", "anchored and in force", block, ts, agreeing)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: python -m verifier.standalone CERTIFICATE.pdf RECEIPT.json RPC_URL [RPC_URL ...]",
              file=sys.stderr)
        return 3
    try:
        with open(argv[0], "rb") as fh:
            document = fh.read()
        with open(argv[1], encoding="utf-8") as fh:
            receipt = json.load(fh)
        result = check(document, receipt, argv[2:])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: cannot use these files: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(result.__dict__, indent=2))
    return {"PASSED": 0, "FAILED": 1}.get(result.indication, 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
