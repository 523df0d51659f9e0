"""Client for the registry contract over any EVM JSON-RPC node (web3.py).

Every call that reaches the node maps transport failures to :class:`ChainUnavailable`,
so callers can tell "the node is down" (ERROR / INDETERMINATE) from "the ledger says no".
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import sys
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.abi import collapse_if_tuple
from eth_typing import ChecksumAddress, HexStr
from hexbytes import HexBytes
from web3 import Web3
from web3.types import RPCEndpoint, TxReceipt
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3Exception, Web3RPCError

from contracts import load_artifact

# py_ecc, imported by web3, raises Python's recursion limit to 100,000 at import time. With
# that, a deeply nested JSON body or PDF overflows the C stack and kills the process
# (SIGSEGV) instead of raising RecursionError. Nothing in this service needs more than the
# interpreter's default.
sys.setrecursionlimit(1000)

from .errors import ChainUnavailable, TransactionFailed  # noqa: E402 - after the limit is restored, on purpose

T = TypeVar("T")
ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class OnChainAnchor:
    office: int
    tree_size: int
    block_number: int
    timestamp: int

    @property
    def block_time(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp, dt.timezone.utc)


@dataclass(frozen=True)
class OnChainSigningKey:
    office: int
    not_before: int
    not_after: int
    revoked_at: int
    registered_at: int = 0  # block time of registration; it vouches only for later signatures


@dataclass(frozen=True)
class OnChainLeafStatus:
    reason: int  # 0 open, 255 superseded, else a revocation reason code
    block_number: int
    successor: bytes


@dataclass(frozen=True)
class OnChainOffice:
    number: int
    registered: bool
    suspended: bool
    code: str
    name: str


@dataclass(frozen=True)
class LedgerEvidence:
    """What the ledger says about one certificate, read in a single call at one block."""

    head_block: int
    signing_key: OnChainSigningKey | None
    office: OnChainOffice | None
    anchor: OnChainAnchor | None
    leaf: OnChainLeafStatus


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: str  # hex, no 0x
    parent: str  # the parent block's hash, hex, no 0x
    timestamp: int


@dataclass(frozen=True)
class LedgerNote:
    """A transaction as the node reports it, read to check a note (RegistryClient.send_note)."""

    tx_hash: str  # 0x-hex
    sender: str  # checksummed address
    to: str | None  # checksummed address; None for a contract creation
    value: int
    data: bytes
    block_number: int | None  # None: not mined yet
    succeeded: bool | None  # the receipt's status; None while not mined


@dataclass(frozen=True)
class SentTransaction:
    tx_hash: str
    nonce: int
    max_fee_per_gas: int = 0
    max_priority_fee_per_gas: int = 0


def connect(rpc_url: str, timeout: float = 10.0) -> Web3:
    """A Web3 over HTTP with a timeout. Only ``eth_chainId`` is cached: web3's validation asks
    for it before every call (two extra round trips each), and it never changes for a node;
    state reads such as revocations must always be fresh."""
    provider = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, cache_allowed_requests=True,
                                 cacheable_requests={RPCEndpoint("eth_chainId")})
    return Web3(provider)


def _guard(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except (requests.RequestException, ConnectionError, TimeoutError, OSError) as exc:
        raise ChainUnavailable(f"chain node unreachable: {type(exc).__name__}") from exc
    except ContractLogicError:
        raise
    except TimeExhausted as exc:
        raise ChainUnavailable("timed out waiting for the chain node") from exc


class RegistryClient:
    """Typed access to one deployed NotaryRegistry."""

    def __init__(self, w3: Web3, address: str):
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact().abi)
        self._raw = RawCaller(w3, self.address)

    # ------------------------------------------------------------ deployment
    @staticmethod
    def deploy(w3: Web3, admin: LocalAccount, timeout: float = 60.0) -> tuple[str, int]:
        """Deploy the registry; returns (address, block number)."""
        art = load_artifact()
        factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        tx = _guard(lambda: factory.constructor().build_transaction(_tx_base(w3, admin)))
        receipt = _send_and_wait(w3, admin, tx, timeout)
        address = receipt["contractAddress"]
        assert address is not None  # the receipt of a contract creation names the contract
        return address, receipt["blockNumber"]

    def has_code(self) -> bool:
        return len(_guard(lambda: self.w3.eth.get_code(self.address))) > 0

    def runs_this_version(self) -> bool:
        """Is the code at the address this build of the contract (it has no immutables, so
        the runtime code is byte for byte the artifact's)?"""
        code = _guard(lambda: self.w3.eth.get_code(self.address))
        return code.hex().removeprefix("0x") == load_artifact().deployed_bytecode.removeprefix("0x")

    # ------------------------------------------------------------ facts
    def chain_id(self) -> int:
        return _guard(lambda: self.w3.eth.chain_id)

    def block_number(self) -> int:
        return _guard(lambda: self.w3.eth.block_number)

    def logs(self, start: int, end: int) -> list[Any]:
        """The registry's raw event logs in blocks ``start``..``end`` (for the ledger mirror)."""
        return list(_guard(lambda: self.w3.eth.get_logs(
            {"address": self.address, "fromBlock": start, "toBlock": end})))

    def logs_of_blocks(self, block_hashes: list[str]) -> list[Any]:
        """The registry's event logs of each block, asked by the block's hash (hex, no 0x),
        in one batch request: a block that is no longer on the node's chain is an error,
        never an empty answer (the ledger mirror reads exactly the blocks it has linked)."""
        def read() -> list[Any]:
            with self.w3.batch_requests() as batch:
                for h in block_hashes:
                    batch.add(self.w3.eth.get_logs({"address": self.address, "blockHash": HexBytes(bytes.fromhex(h))}))
                return list(batch.execute())

        try:
            answers = _guard(read)
        except Web3Exception as exc:
            raise ChainUnavailable(f"the node did not give the logs of {len(block_hashes)} blocks: "
                                   f"{type(exc).__name__}") from exc
        logs: list[Any] = []
        for h, answer in zip(block_hashes, answers):
            if not isinstance(answer, list):
                raise ChainUnavailable(f"the node did not give the logs of block {h[:16]}…: {answer!r:.200}")
            logs += answer
        return logs

    def block_hash(self, number: int) -> str | None:
        header = self.block_header(number)
        return header[0] if header is not None else None

    def block_header(self, number: int) -> tuple[str, int] | None:
        """The block's hash (0x-hex) and time (unix seconds); None when the node has no such block."""
        try:
            block = _guard(lambda: self.w3.eth.get_block(number))
        except Web3Exception:
            return None
        return block["hash"].to_0x_hex(), int(block["timestamp"])

    def block_headers(self, start: int, end: int) -> list[BlockHeader]:
        """Blocks ``start``..``end`` in one batch request. A block the node does not have (its
        chain was shortened meanwhile) is an error: the caller reads again later."""
        def read() -> list[Any]:
            with self.w3.batch_requests() as batch:
                for n in range(start, end + 1):
                    batch.add(self.w3.eth.get_block(n))
                return list(batch.execute())

        try:
            blocks = _guard(read)
        except Web3Exception as exc:
            raise ChainUnavailable(f"the node did not give blocks {start}..{end}: {type(exc).__name__}") from exc
        headers = []
        for n, block in zip(range(start, end + 1), blocks):
            if block is None or block.get("hash") is None:
                raise ChainUnavailable(f"the node has no block {n} (its chain changed meanwhile)")
            headers.append(BlockHeader(n, bytes(block["hash"]).hex(), bytes(block["parentHash"]).hex(),
                                       int(block["timestamp"])))
        return headers

    # ------------------------------------------------------------ views
    def get_anchor(self, office: int, root: bytes) -> OnChainAnchor | None:
        """``office``'s anchor of ``root``: another office anchoring the same root is not it."""
        anchor_office, size, block, ts = _guard(lambda: self.contract.functions.getAnchor(office, root).call())
        return None if block == 0 else OnChainAnchor(anchor_office, size, block, ts)

    def get_signing_key(self, fingerprint: bytes) -> OnChainSigningKey | None:
        office, nb, na, rev, reg = _guard(lambda: self.contract.functions.getSigningKey(fingerprint).call())
        return None if office == 0 else OnChainSigningKey(office, nb, na, rev, reg)

    def get_leaf_status(self, office: int, leaf: bytes) -> OnChainLeafStatus:
        """The status of ``leaf`` as ``office`` recorded it."""
        reason, block, successor = _guard(lambda: self.contract.functions.getLeafStatus(office, leaf).call())
        return OnChainLeafStatus(reason, block, bytes(successor))

    def evidence(self, fingerprint: bytes, root: bytes = ZERO32, leaf: bytes = ZERO32) -> LedgerEvidence:
        """One eth_call for everything verification needs (key, office, anchor, leaf status).

        This is every verification's hot path, so it is encoded and sent without web3.py's
        middleware stack (about 1.4 ms here instead of 6 ms on loopback)."""
        return decode_evidence(self._raw.call("evidence", fingerprint, root, leaf)[0])

    def evidence_at(self, block: int, fingerprint: bytes, root: bytes = ZERO32, leaf: bytes = ZERO32) -> LedgerEvidence:
        """The same, read at ``block`` (a quorum compares nodes at one pinned block)."""
        return decode_evidence(self._raw.call("evidence", fingerprint, root, leaf, block=block)[0])

    def get_office(self, number: int) -> OnChainOffice | None:
        reg, susp, code, name = _guard(lambda: self.contract.functions.getOffice(number).call())
        return OnChainOffice(number, reg, susp, code, name) if reg else None

    def office_by_code(self, code: str) -> int:
        return _guard(lambda: self.contract.functions.officeByCode(code).call())

    def admin(self, block: int | None = None) -> str:
        """The registry administrator's address (checksummed), now or as it was at the end of
        ``block``. A node that no longer keeps that block's state (it prunes) is asked the
        contract's AdminChanged events up to ``block`` instead."""
        try:
            return Web3.to_checksum_address(_guard(lambda: self.contract.functions.admin().call(
                block_identifier="latest" if block is None else block)))
        except (Web3Exception, ValueError):
            if block is None:
                raise
        events = _guard(lambda: self.contract.events.AdminChanged().get_logs(from_block=0, to_block=block))
        if not events:
            raise ChainUnavailable(f"the node cannot tell who administered the registry at block {block}")
        return Web3.to_checksum_address(events[-1]["args"]["admin"])

    # ------------------------------------------------------------ transactions
    def transact(self, account: LocalAccount, fn_name: str, *args, timeout: float = 60.0) -> TxReceipt:
        """Send one contract call and wait for its receipt; reverts raise TransactionFailed."""
        sent, raw = self.sign(account, fn_name, *args)
        try:
            self.broadcast(raw)
        except Web3RPCError as exc:
            raise TransactionFailed(f"{fn_name} refused by the node: {_rpc_message(exc)}") from exc
        return self.wait(sent.tx_hash, timeout)

    def send(self, account: LocalAccount, fn_name: str, *args, nonce: int | None = None) -> SentTransaction:
        """Sign and broadcast without waiting. Reverts found while estimating gas raise."""
        sent, raw = self.sign(account, fn_name, *args, nonce=nonce)
        self.broadcast(raw)
        return sent

    def sign(self, account: LocalAccount, fn_name: str, *args, nonce: int | None = None,
             min_fees: tuple[int, int] | None = None) -> tuple[SentTransaction, bytes]:
        """Build and sign a call. The hash is known before broadcasting, so a caller can
        record it first and find the transaction again after a crash.

        ``min_fees`` (max fee, priority fee) of a transaction being replaced: both are raised
        by at least 12.5 %, as nodes require for a same-nonce replacement."""
        fn = getattr(self.contract.functions, fn_name)(*args)
        base = _tx_base(self.w3, account, nonce)
        try:
            tx = _guard(lambda: fn.build_transaction(base))
        except ContractLogicError as exc:
            raise TransactionFailed(f"{fn_name} rejected by the contract: {_revert_reason(self.contract, exc)}") from exc
        except Web3RPCError as exc:  # e.g. the account cannot pay for gas: a failure to record, not a crash
            raise TransactionFailed(f"{fn_name} refused by the node: {_rpc_message(exc)}") from exc
        if min_fees is not None:
            old_max, old_tip = min_fees
            tx["maxPriorityFeePerGas"] = max(int(tx["maxPriorityFeePerGas"]), old_tip * 9 // 8 + 1)
            tx["maxFeePerGas"] = max(int(tx["maxFeePerGas"]), old_max * 9 // 8 + 1, tx["maxPriorityFeePerGas"])
        signed = account.sign_transaction(tx)
        sent = SentTransaction(signed.hash.to_0x_hex(), tx["nonce"], int(tx["maxFeePerGas"]),
                               int(tx["maxPriorityFeePerGas"]))
        return sent, signed.raw_transaction

    def send_note(self, account: LocalAccount, data: bytes, timeout: float = 60.0) -> TxReceipt:
        """Send a zero-value transaction from ``account`` to itself carrying ``data`` and wait
        for its receipt: a dated, public note on the ledger that no contract reads (an
        inspection draw's commitment; an empty one only makes a development node mine)."""
        sent, raw = self.sign_note(account, data)
        try:
            self.broadcast(raw)
        except Web3RPCError as exc:
            raise TransactionFailed(f"note refused by the node: {_rpc_message(exc)}") from exc
        return self.wait(sent.tx_hash, timeout)

    def sign_note(self, account: LocalAccount, data: bytes, nonce: int | None = None) -> tuple[SentTransaction, bytes]:
        """Build and sign a note (see send_note) without sending it: its hash is known first."""
        tx: dict[str, Any] = {**_tx_base(self.w3, account, nonce), "to": account.address, "value": 0,
                              "data": HexBytes(data)}
        try:
            tx["gas"] = _guard(lambda: self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
            # web3's own default for EIP-1559 fees: twice the base fee plus the tip.
            tip = _guard(lambda: self.w3.eth.max_priority_fee)
            base_fee = int(_guard(lambda: self.w3.eth.get_block("latest")).get("baseFeePerGas", 0))
        except Web3RPCError as exc:  # e.g. the account cannot pay for gas
            raise TransactionFailed(f"note refused by the node: {_rpc_message(exc)}") from exc
        tx["maxPriorityFeePerGas"], tx["maxFeePerGas"] = tip, 2 * base_fee + tip
        signed = account.sign_transaction(tx)
        sent = SentTransaction(signed.hash.to_0x_hex(), tx["nonce"], int(tx["maxFeePerGas"]), int(tip))
        return sent, signed.raw_transaction

    def read_transaction(self, tx_hash: str) -> LedgerNote | None:
        """The transaction ``tx_hash`` (0x-hex) as the node has it, with its receipt's block
        and status once mined; None when the node does not know it."""
        try:
            tx = _guard(lambda: self.w3.eth.get_transaction(HexStr(tx_hash)))
        except TransactionNotFound:
            return None
        block = tx.get("blockNumber")
        succeeded = None
        if block is not None:
            receipt = self.receipt_if_mined(tx_hash)
            succeeded = None if receipt is None else receipt["status"] == 1
        to = tx.get("to")
        return LedgerNote(tx_hash=HexBytes(tx["hash"]).to_0x_hex(), sender=Web3.to_checksum_address(tx["from"]),
                          to=Web3.to_checksum_address(to) if to else None, value=int(tx.get("value", 0)),
                          data=bytes(tx.get("input", b"")), block_number=None if block is None else int(block),
                          succeeded=succeeded)

    def pending_nonce(self, address: ChecksumAddress) -> int:
        """The next nonce counting transactions still in the node's pool."""
        return _guard(lambda: self.w3.eth.get_transaction_count(address, "pending"))

    def confirmed_nonce(self, address: ChecksumAddress) -> int:
        """Transactions of ``address`` already mined (the next nonce the chain will accept)."""
        return _guard(lambda: self.w3.eth.get_transaction_count(address, "latest"))

    def broadcast(self, raw: bytes) -> None:
        _guard(lambda: self.w3.eth.send_raw_transaction(raw))

    def wait(self, tx_hash: str, timeout: float = 60.0) -> TxReceipt:
        receipt = _guard(lambda: self.w3.eth.wait_for_transaction_receipt(HexStr(tx_hash), timeout=timeout,
                                                                          poll_latency=0.05))
        if receipt["status"] != 1:
            raise TransactionFailed(f"transaction {tx_hash} reverted")
        return receipt

    def receipt_if_mined(self, tx_hash: str) -> TxReceipt | None:
        try:
            return _guard(lambda: self.w3.eth.get_transaction_receipt(HexStr(tx_hash)))
        except TransactionNotFound:
            return None


class RawCaller:
    """Read-only contract calls as plain JSON-RPC ``eth_call`` requests, one kept-alive HTTP
    connection a thread; ABI encoding and decoding by eth_abi, as web3.py does underneath."""

    def __init__(self, w3: Web3, address: str):
        provider = w3.provider
        # web3 types w3.provider as BaseProvider, which has no endpoint_uri: it is the HTTPProvider
        # of connect() (whose class declares endpoint_uri only as None).
        self.url = provider.endpoint_uri  # type: ignore[attr-defined]
        self.timeout = (getattr(provider, "_request_kwargs", None) or {}).get("timeout", 10)
        self.address = address
        self._local = threading.local()
        self._functions: dict[str, tuple[bytes, list[str], list[str]]] = {}
        for item in load_artifact().abi:
            if item.get("type") == "function" and item.get("stateMutability") in ("view", "pure"):
                ins = [collapse_if_tuple(i) for i in item["inputs"]]
                outs = [collapse_if_tuple(o) for o in item["outputs"]]
                selector = Web3.keccak(text=f"{item['name']}({','.join(ins)})")[:4]
                self._functions[item["name"]] = (selector, ins, outs)

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            parts = urllib.parse.urlsplit(self.url)
            cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            conn = self._local.conn = cls(parts.hostname, parts.port, timeout=self.timeout)
            self._local.path = parts.path or "/"
        return conn

    def _post(self, body: bytes) -> object:
        # http.client on a kept-alive connection: requests added ~0.9 ms a call here, which
        # was a tenth of a full verification. One retry on a fresh connection when the node
        # closed the idle one.
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", self._local.path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    raise ChainUnavailable(f"chain node answered HTTP {response.status}")
                return json.loads(payload)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                conn.close()
                self._local.conn = None
                if attempt == 2 or isinstance(exc, (TimeoutError, ValueError)):
                    raise ChainUnavailable(f"chain node unreachable: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    def call(self, name: str, *args, block: int | None = None) -> tuple:
        selector, ins, outs = self._functions[name]
        data = "0x" + (selector + abi_encode(ins, list(args))).hex()
        at = "latest" if block is None else hex(block)
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": self.address, "data": data}, at]}
        answer = self._post(json.dumps(body).encode())
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, str) or len(result) < 4:
            # An error, or no contract at the address on this node: no usable answer.
            raise ChainUnavailable(f"the node gave no answer for {name}")
        try:
            return abi_decode(outs, bytes.fromhex(result[2:]))
        except Exception as exc:  # noqa: BLE001 - malformed answer from a node
            raise ChainUnavailable(f"the node's answer for {name} cannot be decoded") from exc


def decode_evidence(e: tuple) -> LedgerEvidence:
    """The contract's Evidence struct as typed facts; the anchor and leaf status are those
    of the signing key's office (the contract reads them in that office's scope)."""
    (head, k_office, k_nb, k_na, k_rev, k_reg, o_reg, o_susp, o_code, o_name,
     a_office, a_size, a_block, a_time, l_reason, l_block, l_succ) = e
    return LedgerEvidence(
        head_block=head,
        signing_key=OnChainSigningKey(k_office, k_nb, k_na, k_rev, k_reg) if k_office else None,
        office=OnChainOffice(k_office, o_reg, o_susp, o_code, o_name) if o_reg else None,
        anchor=OnChainAnchor(a_office, a_size, a_block, a_time) if a_block else None,
        leaf=OnChainLeafStatus(l_reason, l_block, bytes(l_succ)),
    )


def _tx_base(w3: Web3, account: LocalAccount, nonce: int | None = None) -> dict:
    # EIP-1559 fees are filled in by web3 (maxFeePerGas / maxPriorityFeePerGas).
    if nonce is None:
        nonce = _guard(lambda: w3.eth.get_transaction_count(account.address, "pending"))
    return {"from": account.address, "nonce": nonce, "chainId": _guard(lambda: w3.eth.chain_id)}


def _send_and_wait(w3: Web3, account: LocalAccount, tx: dict, timeout: float) -> TxReceipt:
    signed = account.sign_transaction(tx)
    tx_hash = _guard(lambda: w3.eth.send_raw_transaction(signed.raw_transaction))
    receipt = _guard(lambda: w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.05))
    if receipt["status"] != 1:
        raise TransactionFailed(f"transaction {tx_hash.to_0x_hex()} reverted")
    return receipt


def _revert_reason(contract, exc: ContractLogicError) -> str:
    """Name the custom error (e.g. ``RootAlreadyAnchored``) from the revert data."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        selector = data[2:10]
        for item in contract.abi:
            if item.get("type") == "error":
                sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                if Web3.keccak(text=sig).hex().removeprefix("0x")[:8] == selector:
                    return item["name"]
    return str(exc)


def _rpc_message(exc: Web3RPCError) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return str(message)[:200]


def account_from_key(private_key: str | bytes) -> LocalAccount:
    return Account.from_key(private_key)
