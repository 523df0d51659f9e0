"""The outbox worker: takes pending leaves in batches, anchors each batch's Merkle root
in one transaction, and marks the batch confirmed once the chain has enough blocks on top.

Every step is idempotent, so a crash anywhere is repaired by running again:
- a batch's tree is fixed in the database before anything is sent;
- the transaction hash is recorded before the transaction is broadcast;
- before sending, the contract is asked whether the root is already anchored.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from .chain import RegistryClient
from .errors import AnchoringError, ChainUnavailable, TransactionFailed
from .merkle import MerkleTree
from .models import AnchorBatch, BatchState, OutboxEntry, utcnow

log = logging.getLogger("notary.anchoring")


@dataclass(frozen=True)
class WorkerConfig:
    office_code: str
    batch_size: int = 1000
    batch_age_seconds: float = 5.0
    confirmations: int = 1
    receipt_timeout_seconds: float = 30.0
    # A sent transaction not mined after this long is signed again with the same nonce.
    resend_after_seconds: float = 120.0


def batch_id_bytes32(batch_id: uuid.UUID) -> bytes:
    return batch_id.bytes + b"\x00" * 16


class AnchorWorker:
    def __init__(self, engine: Engine, registry: RegistryClient, account: LocalAccount, config: WorkerConfig):
        self.engine = engine
        self.registry = registry
        self.account = account
        self.config = config

    # ------------------------------------------------------------ claiming
    def claim_batch(self, force: bool = False) -> uuid.UUID | None:
        """Fix the next batch of pending leaves into a tree. Returns its id, or None when
        there is nothing to do (or the batch is neither full nor old enough)."""
        cfg = self.config
        try:
            with Session(self.engine) as s:
                query = (
                    select(OutboxEntry)
                    .where(OutboxEntry.batch_id.is_(None), OutboxEntry.office_code == cfg.office_code)
                    .order_by(OutboxEntry.id)
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
        """Advance one batch as far as it can go now. True once it is confirmed."""
        with Session(self.engine) as s:
            batch = s.get(AnchorBatch, batch_id)
            if batch is None or batch.state == BatchState.CONFIRMED:
                return batch is not None
            root = bytes.fromhex(batch.root)
            onchain = self.registry.get_anchor(root)
            if onchain is None:
                if batch.state == BatchState.SENT and not self._should_resend(batch):
                    self._await_receipt(batch)
                    onchain = self.registry.get_anchor(root)
                else:
                    self._send(s, batch)
                    onchain = self.registry.get_anchor(root)
            if onchain is None:
                return False
            head = self.registry.block_number()
            if head - onchain.block_number + 1 < self.config.confirmations:
                return False
            batch.state = BatchState.CONFIRMED
            batch.block_number = onchain.block_number
            batch.block_hash = self.registry.block_hash(onchain.block_number)
            batch.block_time = dt.datetime.fromtimestamp(onchain.timestamp, dt.timezone.utc)
            batch.chain_id = self.registry.chain_id()
            batch.contract = self.registry.address
            batch.confirmed_at = utcnow()
            batch.last_error = None
            s.add(batch)
            s.commit()
            log.info("batch %s confirmed in block %d", batch.id, onchain.block_number)
            return True

    def _should_resend(self, batch: AnchorBatch) -> bool:
        if batch.tx_hash is None or batch.sent_at is None:
            return True
        if self.registry.receipt_if_mined(batch.tx_hash) is not None:
            # Mined, yet the root is not on chain: it reverted or was reorganised away.
            return True
        return (utcnow() - batch.sent_at).total_seconds() > self.config.resend_after_seconds

    def _send(self, s: Session, batch: AnchorBatch) -> None:
        args = (bytes.fromhex(batch.root), batch.tree_size, batch_id_bytes32(batch.id))
        try:
            sent, raw = self.registry.sign(self.account, "anchor", *args)
        except TransactionFailed as exc:
            batch.last_error = exc.message[:500]
            s.add(batch)
            s.commit()
            raise
        # Record first, broadcast second: after a crash the hash tells us what was sent.
        batch.tx_hash, batch.tx_nonce = sent.tx_hash, sent.nonce
        batch.state = BatchState.SENT
        batch.sent_at = utcnow()
        batch.chain_id = self.registry.chain_id()
        batch.contract = self.registry.address
        batch.attempts += 1
        s.add(batch)
        s.commit()
        self.registry.broadcast(raw)
        self._await_receipt(batch)

    def _await_receipt(self, batch: AnchorBatch) -> None:
        try:
            self.registry.wait(batch.tx_hash, timeout=self.config.receipt_timeout_seconds)
        except ChainUnavailable:
            log.info("batch %s: transaction %s not mined yet", batch.id, batch.tx_hash)
        except TransactionFailed as exc:
            log.warning("batch %s: %s", batch.id, exc.message)

    def unfinished_batches(self) -> list[uuid.UUID]:
        with Session(self.engine) as s:
            q = (
                select(AnchorBatch.id)
                .where(AnchorBatch.state != BatchState.CONFIRMED, AnchorBatch.office_code == self.config.office_code)
                .order_by(AnchorBatch.created_at)
            )
            return list(s.exec(q))

    def run_once(self, force: bool = False) -> int:
        """Resume unfinished batches, then anchor new ones. Returns leaves confirmed."""
        confirmed = 0
        for batch_id in self.unfinished_batches():
            if self.process_batch(batch_id):
                confirmed += self._size(batch_id)
        while (batch_id := self.claim_batch(force=force)) is not None:
            if self.process_batch(batch_id):
                confirmed += self._size(batch_id)
        return confirmed

    def _size(self, batch_id: uuid.UUID) -> int:
        with Session(self.engine) as s:
            b = s.get(AnchorBatch, batch_id)
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

