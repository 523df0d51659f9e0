"""The anchoring transaction of a certificate's batch, as a chain node reports it, for an
evidence package (``transaction.json``): so a court's file shows the raw ledger record, and
a verifier can hold it against the receipt and against any node of the pinned ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hexbytes import HexBytes
from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3
from web3.exceptions import BlockNotFound, TransactionNotFound

from anchoring.receipt import AnchorReceipt

from . import standalone
from .trust_bundle import TrustBundle

TRANSACTION_VERSION = "ENOTARY-ANCHOR-TX-V1"
# NotaryRegistry.anchor(bytes32 root, uint64 treeSize, bytes32 batchId)
ANCHOR_SELECTOR = bytes(Web3.keccak(text="anchor(bytes32,uint64,bytes32)")[:4])
HASH32 = "^0x[0-9a-f]{64}$"
ADDRESS = "^0x[0-9a-fA-F]{40}$"


class AnchorTransaction(BaseModel):
    """One mined transaction and its block, every field as the node gave it (hex lower-case)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    version: str = TRANSACTION_VERSION
    chain_id: int = Field(ge=1)
    hash: str = Field(pattern=HASH32)
    block_number: int = Field(ge=0)
    block_hash: str = Field(pattern=HASH32)
    block_timestamp: int = Field(ge=0, description="unix seconds, the block's own time")
    block_time: str = Field(description="the same, as ISO 8601 UTC, for a reader")
    sender: str = Field(alias="from", pattern=ADDRESS)
    to: str | None = Field(default=None, pattern=ADDRESS)
    input: str = Field(pattern="^0x([0-9a-f]{2})*$", max_length=20_000)
    status: int = Field(description="the receipt's status: 1 executed, 0 reverted")

    def as_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2) + "\n"

    def anchor_call(self) -> tuple[str, int] | None:
        """(root hex, tree size) when the input is a call of ``anchor``; else None."""
        data = bytes.fromhex(self.input[2:])
        if len(data) != 4 + 3 * 32 or data[:4] != ANCHOR_SELECTOR:
            return None
        return data[4:36].hex(), int.from_bytes(data[36:68], "big")

    def facts(self) -> tuple:
        """What two readings must agree on (addresses compared without their checksum case)."""
        return (self.chain_id, self.hash, self.block_number, self.block_hash, self.block_timestamp,
                self.sender.lower(), (self.to or "").lower(), self.input, self.status)


def read_transaction(w3: Web3, tx_hash: str) -> AnchorTransaction | None:
    """The transaction and its block as the node ``w3`` has them; None when the node does
    not know it or it is not mined. Errors of the connection propagate."""
    try:
        tx = w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return None
    number = tx.get("blockNumber")
    if number is None:
        return None
    try:
        block = w3.eth.get_block(number)
        receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except (BlockNotFound, TransactionNotFound):
        return None
    to = tx.get("to")
    return AnchorTransaction.model_validate({
        "chain_id": int(w3.eth.chain_id), "hash": _hex(tx["hash"]), "block_number": int(number),
        "block_hash": _hex(block["hash"]), "block_timestamp": int(block["timestamp"]),
        "block_time": dt.datetime.fromtimestamp(int(block["timestamp"]), dt.timezone.utc).isoformat(),
        "from": Web3.to_checksum_address(tx["from"]), "to": Web3.to_checksum_address(to) if to else None,
        "input": _hex(tx.get("input", b"")), "status": int(receipt["status"])})


def _hex(value: Any) -> str:
    return HexBytes(value).to_0x_hex().lower()


def receipt_mismatch(tx: AnchorTransaction, receipt: AnchorReceipt, bundle: TrustBundle) -> str | None:
    """The code of the first way the transaction is not the receipt's anchor on the trusted
    ledger, or None: the same hash and block, the pinned chain and registry, executed, and
    a call of ``anchor`` with the receipt's root and tree size."""
    call = tx.anchor_call()
    for wrong, code in [
        (tx.hash != receipt.tx_hash.lower(), "TRANSACTION_NOT_THE_RECEIPTS"),
        (tx.block_number != receipt.block_number, "TRANSACTION_NOT_THE_RECEIPTS"),
        (tx.chain_id != bundle.chain_id or (tx.to or "").lower() != bundle.registry.lower(), "TRANSACTION_WRONG_LEDGER"),
        (tx.status != 1, "TRANSACTION_REVERTED"),
        (call is None or call != (receipt.root, receipt.tree_size), "TRANSACTION_NOT_THE_ANCHOR"),
        (tx.block_time != dt.datetime.fromtimestamp(tx.block_timestamp, dt.timezone.utc).isoformat(),
         "TRANSACTION_MALFORMED"),
    ]:
        if wrong:
            return code
    return None


def node_readings(rpc_urls: list[str], bundle: TrustBundle, tx_hash: str,
                  timeout: float = 10.0) -> list[AnchorTransaction | None]:
    """The transaction as each distinct node on the pinned ledger reads it (None: that node
    does not have it). A node that cannot be reached, or is on another chain (its chain id
    or the checkpoint block differ), gives no reading at all."""
    readings: list[AnchorTransaction | None] = []
    for url in standalone.distinct_nodes(rpc_urls):
        try:
            w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
            checkpoint = _hex(w3.eth.get_block(bundle.checkpoint.number)["hash"])
            if (w3.eth.chain_id, checkpoint) != (bundle.chain_id, bundle.checkpoint.hash.lower()):
                continue
            readings.append(read_transaction(w3, tx_hash))
        except Exception:  # noqa: BLE001 - any failure of a node is "no answer", never a verdict
            continue
    return readings
