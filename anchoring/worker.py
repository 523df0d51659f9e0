"""The outbox worker: takes pending leaves in batches, anchors each batch's Merkle root
in one transaction, and marks the batch confirmed once the chain has enough blocks on top.

Every step is idempotent, so a crash anywhere is repaired by running again:
- a batch's tree is fixed in the database before anything is sent;
- the transaction hash is recorded before the transaction is broadcast;
- before sending, the contract is asked whether the root is already anchored *by this
  office*: anchors are scoped by office on the ledger, so another office anchoring the same
  root first (front-running) is not taken for ours.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy import text
from sqlmodel import Session, col, select
from web3.exceptions import Web3RPCError

from observability.metrics import ANCHOR_GAS, ANCHOR_TRANSACTIONS

from .chain import OnChainLeafStatus, RegistryClient
from .errors import AnchoringError, ChainUnavailable, OfficeNotRegistered, TransactionFailed
from .merkle import MerkleTree
from anchoring.models import AnchorBatch, BatchState, LeafAction, LeafActionState, OutboxEntry
from storage.clock import utcnow
from .outbox import SUPERSEDED as SUPERSEDED_REASON
from storage.sessions import read_session, write_session

log = logging.getLogger("notary.anchoring")


@dataclass(frozen=True)
class WorkerConfig:
    office_code: str
    batch_size: int = 1000
    batch_age_seconds: float = 5.0
    confirmations: int = 1
    receipt_timeout_seconds: float = 30.0
    # A sent transaction not mined after this long is replaced: same nonce, higher fee.
    resend_after_seconds: float = 120.0
    # Confirmed batches this close to the chain head are re-checked for reorganisations.
    reorg_window_blocks: int = 64


def batch_id_bytes32(batch_id: uuid.UUID) -> bytes:
    return batch_id.bytes + b"\x00" * 16


class AnchorWorker:
    def __init__(self, engine: Engine, registry: RegistryClient, account: LocalAccount, config: WorkerConfig,
                 commitment: Callable[[Session], bytes] | None = None,
                 saved_since: Callable[[float], bool] | None = None,
                 on_ledger_change: Callable[[], object] | None = None):
        """``commitment`` gives 32 bytes to anchor with each batch, read in the transaction
        that builds it (the issuer passes its audit-log head); default: the batch's uuid.
        ``saved_since(t)``: whether the node has saved its state since time ``t`` (the
        embedded node, which keeps its chain in a file written every second); an anchor
        counts as confirmed only once saved, so a node killed at once does not lose it.
        ``on_ledger_change``: called after a round that confirmed anchors or recorded
        revocations (the runtime catches the ledger mirror up, so lookups see them at once)."""
        self.engine = engine
        self.registry = registry
        self.account = account
        self.config = config
        self.commitment = commitment
        self.saved_since = saved_since
        self.on_ledger_change = on_ledger_change
        self._office_number: int | None = None

    @property
    def office_number(self) -> int:
        """This office's number on the ledger (looked up by code once)."""
        if self._office_number is None:
            number = self.registry.office_by_code(self.config.office_code)
            if number == 0:
                raise OfficeNotRegistered(f"office {self.config.office_code} is not registered on the ledger")
            self._office_number = number
        return self._office_number

    # ------------------------------------------------------------ claiming
    def claim_batch(self, force: bool = False) -> uuid.UUID | None:
        """Fix the next batch of pending leaves into a tree. Returns its id, or None when
        there is nothing to do (or the batch is neither full nor old enough)."""
        cfg = self.config
        try:
            with write_session(self.engine) as s:
                query = (
                    select(OutboxEntry)
                    .where(col(OutboxEntry.batch_id).is_(None), OutboxEntry.office_code == cfg.office_code)
                    .order_by(col(OutboxEntry.id))
                    .limit(cfg.batch_size)
                )
                if self.engine.dialect.name == "postgresql":
                    # Several workers: each takes rows the others have not locked.
                    query = query.with_for_update(skip_locked=True)
                rows = list(s.exec(query))
                if not rows:
                    return None
                age = (utcnow() - rows[0].created_at).total_seconds()
                if not force and len(rows) < cfg.batch_size and age < cfg.batch_age_seconds:
                    return None
                tree = MerkleTree([bytes.fromhex(r.leaf_hash) for r in rows])
                batch = AnchorBatch(root=tree.root.hex(), tree_size=tree.size, office_code=cfg.office_code)
                if self.commitment is not None:
                    batch.commitment = self.commitment(s).hex()
                s.add(batch)
                s.flush()
                for index, row in enumerate(rows):
                    row.batch_id = batch.id
                    row.leaf_index = index
                    row.audit_path = b"".join(tree.inclusion_proof(index))
                    s.add(row)
                s.commit()
                log.info("built batch %s: %d leaves, root %s", batch.id, tree.size, batch.root)
                return batch.id
        except OperationalError as exc:
            # SQLite: another process wrote first; its rows are taken, try again next round.
            log.debug("claim lost a race: %s", exc)
            return None

    # ------------------------------------------------------------ anchoring
    def process_batch(self, batch_id: uuid.UUID) -> bool:
        """Advance one batch as far as it can go now. True once it is confirmed.
        Chain calls happen outside database transactions; each write is a short one."""
        batch = self._load(batch_id)
        if batch is None or batch.state == BatchState.CONFIRMED:
            return batch is not None
        root = bytes.fromhex(batch.root)
        onchain = self.registry.get_anchor(self.office_number, root)
        if onchain is None:
            if batch.state == BatchState.SENT and not self._should_resend(batch):
                self._await_receipt(batch)
            else:
                self._send(batch)
            onchain = self.registry.get_anchor(self.office_number, root)
        if onchain is None:
            return False
        head = self.registry.block_number()
        if head - onchain.block_number + 1 < self.config.confirmations:
            return False
        if not self._saved(time.time()):
            return False
        block_hash = self.registry.block_hash(onchain.block_number)
        chain_id = self.registry.chain_id()
        with write_session(self.engine) as s:
            batch = s.get(AnchorBatch, batch_id)
            assert batch is not None  # loaded above; batches are never deleted
            if batch.state == BatchState.CONFIRMED:
                return True
            batch.state = BatchState.CONFIRMED
            batch.block_number = onchain.block_number
            batch.block_hash = block_hash
            batch.block_time = dt.datetime.fromtimestamp(onchain.timestamp, dt.timezone.utc)
            batch.chain_id = chain_id
            batch.contract = self.registry.address
            batch.confirmed_at = utcnow()
            batch.last_error = None
            tx_hash = batch.tx_hash
            s.add(batch)
            s.commit()
        log.info("batch %s confirmed in block %d", batch_id, onchain.block_number)
        ANCHOR_TRANSACTIONS.labels("confirmed").inc()
        try:  # for the gas metric only: a node away now must not undo a confirmation
            receipt = self.registry.receipt_if_mined(tx_hash) if tx_hash else None
        except AnchoringError:
            receipt = None
        if receipt is not None:
            ANCHOR_GAS.inc(int(receipt["gasUsed"]))
        return True

    def _saved(self, seen: float, wait: float = 5.0) -> bool:
        """Wait (briefly) until the node has saved its state since ``seen``, the moment the
        anchor was seen on chain; True at once for a node without such a file."""
        if self.saved_since is None:
            return True
        deadline = time.monotonic() + wait
        while not self.saved_since(seen):
            if time.monotonic() > deadline:
                log.warning("the chain node has not saved its state for %.0f s; the anchor counts once it has", wait)
                return False
            time.sleep(0.1)
        return True

    def _load(self, batch_id: uuid.UUID) -> AnchorBatch | None:
        with read_session(self.engine) as s:
            return s.get(AnchorBatch, batch_id)

    def _should_resend(self, batch: AnchorBatch) -> bool:
        if batch.tx_hash is None or batch.sent_at is None:
            return True
        if self.registry.receipt_if_mined(batch.tx_hash) is not None:
            # Mined, yet the root is not on chain: it reverted or was reorganised away.
            return True
        return (utcnow() - batch.sent_at).total_seconds() > self.config.resend_after_seconds

    def _send(self, batch: AnchorBatch) -> None:
        """Sign, record and broadcast the anchor transaction of ``batch``.

        The nonce is chosen and the transaction recorded in one write transaction that also
        serialises every worker using this account (SQLite's write lock, or a PostgreSQL
        advisory lock), so two workers never sign different transactions with one nonce."""
        tag = bytes.fromhex(batch.commitment) if batch.commitment else batch_id_bytes32(batch.id)
        args = (bytes.fromhex(batch.root), batch.tree_size, tag)
        with write_session(self.engine) as s:
            if self.engine.dialect.name == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key})
            row = s.get(AnchorBatch, batch.id)
            assert row is not None  # ``batch`` was read from the table; batches are never deleted
            if row.state == BatchState.CONFIRMED or row.tx_hash != batch.tx_hash:
                return  # another worker moved this batch on meanwhile
            nonce, min_fees = self._choose_nonce(s, row)
            try:
                sent, raw = self.registry.sign(self.account, "anchor", *args, nonce=nonce, min_fees=min_fees)
            except TransactionFailed as exc:
                row.last_error = exc.message[:500]
                s.add(row)
                s.commit()
                raise
            # Record first, broadcast second: after a crash the hash tells us what was sent.
            row.tx_hash, row.tx_nonce = sent.tx_hash, sent.nonce
            row.max_fee_per_gas, row.max_priority_fee_per_gas = sent.max_fee_per_gas, sent.max_priority_fee_per_gas
            row.state = BatchState.SENT
            row.sent_at = utcnow()
            row.chain_id = self.registry.chain_id()
            row.contract = self.registry.address
            row.attempts += 1
            s.add(row)
            s.commit()
            attempts = row.attempts
        log.info("batch %s: sent %s (nonce %d, attempt %d)", batch.id, sent.tx_hash, sent.nonce, attempts)
        try:
            self.registry.broadcast(raw)
        except Web3RPCError as exc:
            # e.g. "nonce too low": the next round sees the transaction missing and re-signs.
            log.warning("batch %s: node refused %s: %s", batch.id, sent.tx_hash, exc)
            ANCHOR_TRANSACTIONS.labels("refused").inc()
            return
        ANCHOR_TRANSACTIONS.labels("sent").inc()
        self._await_receipt(batch, sent.tx_hash)

    @property
    def _lock_key(self) -> int:
        # A stable signed 64-bit key per anchoring account.
        return int.from_bytes(bytes.fromhex(self.account.address[2:18]), "big", signed=True)

    def _choose_nonce(self, s: Session, row: AnchorBatch) -> tuple[int, tuple[int, int] | None]:
        """Replace a pending transaction in place (same nonce, higher fee); otherwise take
        the lowest nonce from the chain's count on that no other sent batch holds.

        The lowest, not the next after the highest: a node that lost its last blocks (killed
        before it saved them) counts from lower again, and a batch whose anchor went with
        those blocks is sent anew. Taking a nonce above every held one then left a nonce
        nobody would ever send, and every later transaction waited behind it for good (found
        by the chaos suite). A held nonce whose transaction was lost is sent again, in place,
        by its own batch."""
        confirmed = self.registry.confirmed_nonce(self.account.address)
        if row.tx_nonce is not None and row.tx_hash and self.registry.receipt_if_mined(row.tx_hash) is None \
                and confirmed <= row.tx_nonce:
            # Both fees are recorded together (_send), from a SentTransaction that has both.
            fees = ((row.max_fee_per_gas, row.max_priority_fee_per_gas)
                    if row.max_fee_per_gas and row.max_priority_fee_per_gas is not None else None)
            return row.tx_nonce, fees
        held = set(s.exec(select(AnchorBatch.tx_nonce).where(
            AnchorBatch.state == BatchState.SENT, AnchorBatch.chain_id == self.registry.chain_id(),
            AnchorBatch.office_code == self.config.office_code, col(AnchorBatch.tx_nonce).is_not(None),
            AnchorBatch.id != row.id,
        )).all())
        nonce = confirmed
        while nonce in held:
            nonce += 1
        return nonce, None

    def recheck_recent(self) -> int:
        """Find confirmed batches whose anchor a reorganisation removed (or moved) and put
        them back in the queue. Returns how many were re-queued."""
        head = self.registry.block_number()
        since = max(0, head - self.config.reorg_window_blocks)
        with read_session(self.engine) as s:
            recent = s.exec(select(AnchorBatch).where(
                AnchorBatch.state == BatchState.CONFIRMED, AnchorBatch.office_code == self.config.office_code,
                col(AnchorBatch.block_number) >= since,
            )).all()
        gone: dict[uuid.UUID, bool] = {}  # batch id -> root still anchored somewhere else
        for batch in recent:
            onchain = self.registry.get_anchor(self.office_number, bytes.fromhex(batch.root))
            if onchain is not None and onchain.block_number == batch.block_number and \
                    self.registry.block_hash(batch.block_number) == batch.block_hash:
                continue
            log.warning("batch %s: anchor in block %s is no longer on chain; anchoring again",
                        batch.id, batch.block_number)
            gone[batch.id] = onchain is not None
        if gone:
            with write_session(self.engine) as s:
                for batch_id, moved in gone.items():
                    row = s.get(AnchorBatch, batch_id)
                    assert row is not None  # read above; batches are never deleted
                    row.state = BatchState.SENT if moved else BatchState.BUILT
                    row.block_number = row.block_hash = row.block_time = row.confirmed_at = None
                    if not moved:
                        row.tx_hash = row.tx_nonce = None  # the old transaction went with its block
                    s.add(row)
                s.commit()
        return len(gone)

    def _await_receipt(self, batch: AnchorBatch, tx_hash: str | None = None) -> None:
        tx_hash = tx_hash or batch.tx_hash
        # Only a sent batch is awaited: _should_resend sends again one without a hash.
        assert tx_hash is not None
        try:
            self.registry.wait(tx_hash, timeout=self.config.receipt_timeout_seconds)
        except ChainUnavailable:
            log.info("batch %s: transaction %s not mined yet", batch.id, tx_hash)
        except TransactionFailed as exc:
            log.warning("batch %s: %s", batch.id, exc.message)

    def unfinished_batches(self) -> list[uuid.UUID]:
        with read_session(self.engine) as s:
            q = (
                select(AnchorBatch.id)
                .where(AnchorBatch.state != BatchState.CONFIRMED, AnchorBatch.office_code == self.config.office_code)
                .order_by(col(AnchorBatch.created_at))
            )
            return list(s.exec(q))

    def run_once(self, force: bool = False) -> int:
        """Re-check recent anchors, resume unfinished batches, then anchor new ones.
        Returns leaves confirmed in this round."""
        self.recheck_recent()
        confirmed = 0
        for batch_id in self.unfinished_batches():
            if self.process_batch(batch_id):
                confirmed += self._size(batch_id)
        while (new_batch_id := self.claim_batch(force=force)) is not None:
            if self.process_batch(new_batch_id):
                confirmed += self._size(new_batch_id)
        changed = self.push_leaf_actions()
        if (confirmed or changed) and self.on_ledger_change is not None:
            try:
                self.on_ledger_change()
            except AnchoringError as exc:  # the follower will catch up on its own
                log.warning("ledger mirror not caught up after anchoring: %s", exc.message)
            except Exception:  # noqa: BLE001 - the anchors are confirmed: a mirror's trouble is not the worker's
                log.exception("ledger mirror not caught up after anchoring")
        return confirmed

    def push_leaf_actions(self) -> int:
        """Send pending revocations and supersessions whose leaves are anchored and
        confirmed. Returns how many were recorded on the ledger in this round."""
        with read_session(self.engine) as s:
            rows = s.exec(
                select(LeafAction, OutboxEntry, AnchorBatch)
                .join(OutboxEntry, col(OutboxEntry.certificate_id) == LeafAction.certificate_id)
                .join(AnchorBatch, col(AnchorBatch.id) == OutboxEntry.batch_id)
                .where(LeafAction.state != LeafActionState.DONE, AnchorBatch.state == BatchState.CONFIRMED,
                       OutboxEntry.office_code == self.config.office_code)
                .order_by(col(LeafAction.id))
            ).all()
        done = 0
        for action, entry, batch in rows:
            assert action.id is not None  # read from the table: the key is set
            leaf = bytes.fromhex(entry.leaf_hash)
            onchain = self.registry.get_leaf_status(self.office_number, leaf)
            if onchain.reason != 0 and not _records(onchain, action):
                # The ledger (this office's own scope) holds another status for the leaf:
                # never call that done; an operator must look.
                message = (f"the ledger shows status {onchain.reason} for this leaf, not {action.reason}; "
                           "not recorded")
                log.error("ledger action for %s: %s", action.certificate_id, message)
                self._note_error(action.id, message)
                continue
            tx_hash: str | None
            if onchain.reason == 0:
                path = entry.audit_path or b""
                args = (bytes.fromhex(batch.root), leaf, entry.leaf_index,
                        [path[i:i + 32] for i in range(0, len(path), 32)])
                try:
                    if action.reason == SUPERSEDED_REASON:
                        assert action.successor_leaf is not None  # enqueue_supersession always names it
                        receipt = self.registry.transact(self.account, "supersedeLeaf", *args,
                                                         bytes.fromhex(action.successor_leaf))
                    else:
                        receipt = self.registry.transact(self.account, "revokeLeaf", *args, action.reason)
                except TransactionFailed as exc:
                    log.warning("ledger action for %s failed: %s", action.certificate_id, exc.message)
                    self._note_error(action.id, exc.message)
                    continue
                tx_hash = receipt["transactionHash"].to_0x_hex()
            else:
                tx_hash = action.tx_hash  # already on the ledger (a retry after a crash)
            with write_session(self.engine) as s:
                row = s.get(LeafAction, action.id)
                assert row is not None  # read above; actions are never deleted
                row.state, row.tx_hash, row.done_at, row.last_error = LeafActionState.DONE, tx_hash, utcnow(), None
                s.add(row)
                s.commit()
            done += 1
        return done

    def _note_error(self, action_id: int, message: str) -> None:
        with write_session(self.engine) as s:
            row = s.get(LeafAction, action_id)
            assert row is not None  # read by the caller; actions are never deleted
            row.last_error = message[:500]
            s.add(row)
            s.commit()

    def _size(self, batch_id: uuid.UUID) -> int:
        b = self._load(batch_id)
        return b.tree_size if b else 0

    def run_forever(self, stop: threading.Event, poll_seconds: float | None = None) -> None:
        """Loop until ``stop`` is set; chain outages are logged and retried with back-off."""
        poll = poll_seconds if poll_seconds is not None else min(1.0, self.config.batch_age_seconds / 4)
        backoff = poll
        while not stop.is_set():
            try:
                self.run_once()
                backoff = poll
            except AnchoringError as exc:
                log.warning("anchoring paused: %s (%s); retrying in %.1f s", exc.message, exc.code, backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception:  # noqa: BLE001 - the worker must outlive one bad round
                log.exception("anchoring round failed; retrying")
                backoff = min(backoff * 2, 30.0)
            stop.wait(backoff)



def _records(onchain: OnChainLeafStatus, action: LeafAction) -> bool:
    """Does the ledger's status of a leaf say what ``action`` was to record?"""
    if onchain.reason != action.reason:
        return False
    return action.reason != SUPERSEDED_REASON or onchain.successor.hex() == (action.successor_leaf or "")
