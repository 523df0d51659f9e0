"""The ledger mirror: the registry's events read block by block into the database.

Each step reads the blocks after the cursor (at most ``batch_blocks``), with their events
(anchors, leaf revocations and supersessions, office, account and key changes), and stores
them with the new cursor in one transaction: a follower killed at any moment leaves the
mirror at a block boundary, and the next step goes on from there.

Before reading on, the step checks that the node still has the cursor's block: if not (a
reorganisation), it walks back through the recorded block hashes to the last block the node
still agrees with, deletes what was mirrored above it, and reads again from there.

Each step also records the node's head and when it asked (``LedgerCursor.head_block``,
``checked_at``), even when nothing is new: lookups read the mirror (anchoring.mirror) and
judge from these whether it is current, without asking the node.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from storage.clock import database_now, utcnow
from storage.sessions import write_session

from .chain import RegistryClient
from .errors import AnchoringError, MirrorRaced
from .models import LedgerBlock, LedgerCursor, LedgerEvent

log = logging.getLogger("notary.anchoring")

KEEP_BLOCKS = 256  # block hashes kept to find the common ancestor of a reorganisation
_HEX_FIELDS = {"root": "root", "leaf": "leaf", "fingerprint": "fingerprint"}


@dataclass(frozen=True)
class Position:
    """Where the mirror stands: the last block read, and how far behind the node it is."""

    block_number: int
    block_hash: str
    behind: int


class Follower:
    """Mirrors one registry contract into the database."""

    def __init__(self, engine: Engine, registry: RegistryClient, *, from_block: int = 0, batch_blocks: int = 500,
                 moved: Callable[[], None] | None = None):
        """``moved``: called after each step that stored something (a mirror in this
        process then reads the cursor again at once)."""
        self.engine = engine
        self.registry = registry
        self.from_block = from_block
        self.batch_blocks = batch_blocks
        self.moved = moved
        abi: list[dict[str, Any]] = [dict(e) for e in registry.contract.abi]
        self._events = {Web3.keccak(text=_signature(e)).hex().removeprefix("0x"): str(e["name"])
                        for e in abi if e.get("type") == "event"}

    def step(self) -> Position:
        """Read what is new (up to ``batch_blocks`` blocks); rewind first after a reorg.

        The blocks read must form one chain from the cursor's block (each names the one
        before it as its parent), and every event must belong to the block read at its
        height: a chain reorganised while the step reads is not mixed into the mirror (the
        step stores nothing, and the next one finds the reorganisation and rewinds).

        Several followers may run (a ``notary follower`` and a server stepping its mirror
        itself): a step writes only if the cursor is still where it started, so a block's
        events are never stored twice. A step that loses such a race raises MirrorRaced."""
        asked_at = self._database_now()  # before asking the node: the mirror is never younger than this
        head = self.registry.block_number()
        cursor = self._cursor()
        if cursor is not None and self._block_hash(cursor.block_number) != cursor.block_hash:
            self._rewind(cursor)
            return self.position(head)
        start = self.from_block if cursor is None else cursor.block_number + 1
        end = min(head, start + self.batch_blocks - 1)
        if end < start:
            self._record_head(head, asked_at)
            return self.position(head)
        headers = {h.number: h for h in self.registry.block_headers(start, end)}
        previous = cursor.block_hash if cursor is not None else None
        for n in range(start, end + 1):
            if previous is not None and headers[n].parent != previous:
                log.warning("ledger mirror: block %d does not follow block %d as read; reading again", n, n - 1)
                return self.position(head)  # reorganised while reading: the next step rewinds
            previous = headers[n].hash
        # Each block's events asked by the hash just linked: events of another chain, or a
        # block that chain lacks, cannot come back.
        logs = self.registry.logs_of_blocks([headers[n].hash for n in range(start, end + 1)])
        for entry in logs:
            if bytes(entry["blockHash"]).hex() != headers[int(entry["blockNumber"])].hash:
                log.warning("ledger mirror: an event of block %s is from another chain than its block as read; "
                            "reading again", entry["blockNumber"])
                return self.position(head)
        events = [self._event(entry, headers[int(entry["blockNumber"])].timestamp) for entry in logs]
        try:
            with write_session(self.engine) as s:
                if not self._still_at(s, cursor):
                    return self.position(head)  # another follower stored these blocks meanwhile
                s.add_all(events)
                s.add_all([LedgerBlock(contract=self.registry.address, number=n, hash=h.hash)
                           for n, h in headers.items() if n > end - KEEP_BLOCKS])
                self._move_cursor(s, end, headers[end].hash, head, asked_at)
                s.execute(delete(LedgerBlock).where(col(LedgerBlock.contract) == self.registry.address,
                                                    col(LedgerBlock.number) <= end - KEEP_BLOCKS))
                s.commit()
        except IntegrityError as exc:
            raise MirrorRaced("another follower stored these blocks at the same moment") from exc
        if self.moved is not None:
            self.moved()
        if events:
            log.info("ledger mirror: %d events in blocks %d..%d", len(events), start, end)
        return self.position(head)

    def _still_at(self, s: Session, cursor: LedgerCursor | None) -> bool:
        """Lock the cursor's row and check that it is where this step found it."""
        current = s.exec(select(LedgerCursor).where(col(LedgerCursor.contract) == self.registry.address)
                         .with_for_update()).first()
        if current is None or cursor is None:
            return current is None and cursor is None
        return (current.block_number, current.block_hash) == (cursor.block_number, cursor.block_hash)

    def catch_up(self, max_steps: int = 1000) -> Position:
        """Step until the mirror has reached the node's head (as it was when asked)."""
        position = self.step()
        for _ in range(max_steps):
            if position.behind == 0:
                break
            position = self.step()
        return position

    def position(self, head: int | None = None) -> Position:
        cursor = self._cursor()
        head = self.registry.block_number() if head is None else head
        if cursor is None:
            return Position(-1, "", head + 1)
        return Position(cursor.block_number, cursor.block_hash, max(0, head - cursor.block_number))

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        """Follow until ``stop`` is set; a node away is retried with back-off."""
        backoff = poll_seconds
        while not stop.is_set():
            try:
                behind = self.step().behind
                backoff = poll_seconds
                if behind > 0:
                    continue  # still catching up: no pause
            except AnchoringError as exc:
                log.warning("ledger mirror paused: %s (%s); retrying in %.1f s", exc.message, exc.code, backoff)
                backoff = min(backoff * 2, 30.0)
            except SQLAlchemyError as exc:  # the database restarting: the mirror waits for it
                log.warning("ledger mirror paused: database unavailable (%s); retrying in %.1f s",
                            type(exc).__name__, backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception:  # noqa: BLE001 - the follower must outlive one bad step (lookups then say LEDGER_STALE)
                log.exception("ledger mirror step failed; retrying in %.1f s", backoff)
                backoff = min(backoff * 2, 30.0)
            stop.wait(backoff)

    # --- internals ---------------------------------------------------------------------

    def _cursor(self) -> LedgerCursor | None:
        with Session(self.engine, expire_on_commit=False) as s:
            return s.get(LedgerCursor, self.registry.address)

    def _block_hash(self, number: int) -> str | None:
        found = self.registry.block_hash(number)
        return found.lower().removeprefix("0x") if found else None

    def _rewind(self, cursor: LedgerCursor) -> None:
        """Delete what was mirrored above the last block the node still agrees with, and put
        the cursor there (or remove it, if no block is left) — unless another follower has
        moved the cursor meanwhile, as the cursor's row is locked first."""
        with Session(self.engine) as s:
            known = s.exec(select(LedgerBlock).where(col(LedgerBlock.contract) == self.registry.address)
                           .order_by(col(LedgerBlock.number).desc())).all()
        ancestor = next((b for b in known if self._block_hash(b.number) == b.hash), None)
        keep = ancestor.number if ancestor is not None else self.from_block - 1
        with write_session(self.engine) as s:
            if not self._still_at(s, cursor):
                return  # another follower moved it: the next step looks again
            for model in (LedgerEvent, LedgerBlock):
                number = col(model.block_number) if model is LedgerEvent else col(LedgerBlock.number)
                s.execute(delete(model).where(col(model.contract) == self.registry.address, number > keep))
            if ancestor is not None:
                self._move_cursor(s, ancestor.number, ancestor.hash)
            else:
                s.execute(delete(LedgerCursor).where(col(LedgerCursor.contract) == self.registry.address))
            s.commit()
        if self.moved is not None:
            self.moved()
        log.warning("ledger mirror: the chain was reorganised above block %d (mirror was at %d); read again",
                    keep, cursor.block_number)

    def _move_cursor(self, s: Session, number: int, block_hash: str, head: int | None = None,
                     asked_at: dt.datetime | None = None) -> None:
        cursor = s.get(LedgerCursor, self.registry.address)
        if cursor is None:
            cursor = LedgerCursor(contract=self.registry.address, chain_id=self.registry.chain_id(),
                                  block_number=number, block_hash=block_hash)
        cursor.block_number, cursor.block_hash, cursor.updated_at = number, block_hash, utcnow()
        if head is not None:
            cursor.head_block, cursor.checked_at = head, asked_at
        s.add(cursor)

    def _record_head(self, head: int, asked_at: dt.datetime) -> None:
        """Nothing new: say so, with the node's head, so that lookups know the mirror is current."""
        with write_session(self.engine) as s:
            s.execute(update(LedgerCursor).where(col(LedgerCursor.contract) == self.registry.address)
                      .values(head_block=head, checked_at=asked_at))
            s.commit()

    def _database_now(self) -> dt.datetime:
        with Session(self.engine) as s:
            return database_now(s)

    def _event(self, entry: Any, block_time: int) -> LedgerEvent:
        topic = bytes(entry["topics"][0]).hex()
        kind = self._events.get(topic, "Unknown")
        args: dict[str, Any] = {}
        if kind != "Unknown":
            args = dict(self.registry.contract.events[kind]().process_log(entry)["args"])
        plain = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in args.items()}
        office = plain.get("office")
        return LedgerEvent(
            contract=self.registry.address, block_number=int(entry["blockNumber"]), log_index=int(entry["logIndex"]),
            tx_hash=bytes(entry["transactionHash"]).hex(), kind=kind, office=int(office) if office is not None else None,
            block_time=block_time,
            **{column: plain.get(name) for name, column in _HEX_FIELDS.items()},
            data=json.dumps({k: v for k, v in plain.items() if k not in _HEX_FIELDS and k != "office"},
                            sort_keys=True, default=str))


def _signature(event: dict[str, Any]) -> str:
    return f"{event['name']}({','.join(i['type'] for i in event['inputs'])})"
