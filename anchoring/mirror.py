"""Lookups' view of the ledger: the mirror that the follower keeps (anchoring.follower),
read as the node would answer ``evidence()``, at the mirror's block, without asking the node.

The mirror is *current* when the follower has spoken recently (``max_age_seconds``) and had
then read to within ``max_lag_blocks`` of the node's head. A lookup on a mirror that is not
current must not pass (the caller answers INDETERMINATE, LEDGER_STALE): an old mirror may
not yet hold a revocation that the ledger already records.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.engine import Engine

from storage.clock import utcnow

from .chain import ZERO32, LedgerEvidence, OnChainAnchor, OnChainLeafStatus, OnChainOffice, OnChainSigningKey
from .errors import AnchoringError
from .models import LedgerCursor, LedgerEvent

log = logging.getLogger("notary.anchoring")

_EVENTS = LedgerEvent.__table__  # type: ignore[attr-defined]  # SQLModel tables are SQLAlchemy tables
_CURSOR = LedgerCursor.__table__  # type: ignore[attr-defined]
OFFICE_KINDS = ("OfficeRegistered", "OfficeSuspensionChanged")
_EVIDENCE = (select(_EVENTS.c.kind, _EVENTS.c.office, _EVENTS.c.block_number, _EVENTS.c.block_time,
                    _EVENTS.c.root, _EVENTS.c.leaf, _EVENTS.c.fingerprint, _EVENTS.c.data)
             .where(_EVENTS.c.contract == bindparam("contract"), _EVENTS.c.block_number <= bindparam("block"),
                    or_(_EVENTS.c.fingerprint == bindparam("fingerprint"), _EVENTS.c.root == bindparam("root"),
                        _EVENTS.c.leaf == bindparam("leaf")))
             .order_by(_EVENTS.c.block_number, _EVENTS.c.log_index))
SUPERSEDED = 255
# Lookups within this share one reading of the cursor: at hundreds of lookups a second, a
# cursor read each was a fifth of a lookup's time.
STATE_REUSE_SECONDS = 0.25


@dataclass(frozen=True)
class MirrorState:
    """Where the mirror stands, and whether a lookup may rely on it."""

    block_number: int
    block_hash: str
    head_block: int | None  # the node's head when the follower last asked
    age_seconds: float | None  # since the follower last asked the node
    current: bool
    why_not: str | None = None  # e.g. "12 blocks behind the node", when not current

    def as_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"mirror_block": self.block_number, "mirror_block_hash": self.block_hash}
        if self.head_block is not None:
            details["node_head"] = self.head_block
        if self.why_not:
            details["why"] = self.why_not
        return details


class LedgerMirror:
    """Reads one registry's mirror. ``refresh`` (a follower's step) is called when the
    follower has not spoken for ``refresh_after_seconds``: a server with no follower of its
    own keeps the mirror current itself, at most one step at a time per process, never once
    per request."""

    def __init__(self, engine: Engine, contract: str, *, max_lag_blocks: int = 12, max_age_seconds: float = 30.0,
                 refresh: Callable[[], object] | None = None, refresh_after_seconds: float = 2.0):
        self.engine = engine
        self.contract = contract
        self.max_lag_blocks = max_lag_blocks
        self.max_age_seconds = max_age_seconds
        self.refresh = refresh
        self.refresh_after_seconds = refresh_after_seconds
        self._refreshing = threading.Lock()
        self._offices: tuple[tuple[int, str], dict[int, OnChainOffice]] | None = None
        self._last_refresh = 0.0
        self._state: tuple[float, MirrorState | None] | None = None

    # --- where it stands -----------------------------------------------------------

    def state(self) -> MirrorState | None:
        """The mirror's position; None when the follower has never run against this registry.
        Steps the mirror first when the follower has been quiet (see ``refresh``)."""
        cached = self._state
        if cached is not None and time.monotonic() - cached[0] < STATE_REUSE_SECONDS:
            return cached[1]
        found = self._read_state()
        if self.refresh is not None and (found is None or found.age_seconds is None
                                         or found.age_seconds > self.refresh_after_seconds):
            if self._refresh():
                found = self._read_state()
        self._state = (time.monotonic(), found)
        return found

    def forget(self) -> None:
        """Read the cursor again at the next lookup (this process's follower has moved it)."""
        self._state = None

    def _read_state(self) -> MirrorState | None:
        with self.engine.connect() as conn:
            now_column = func.now() if conn.dialect.name == "postgresql" else None
            columns = [_CURSOR.c.block_number, _CURSOR.c.block_hash, _CURSOR.c.head_block, _CURSOR.c.checked_at]
            row = conn.execute(select(*columns, *([now_column] if now_column is not None else []))
                               .where(_CURSOR.c.contract == self.contract)).first()
        if row is None:
            return None
        # The database's clock on PostgreSQL: the follower may run on another host.
        now = row[4] if len(row) > 4 else utcnow()
        checked = row.checked_at
        age = None if checked is None else (_aware(now) - _aware(checked)).total_seconds()
        behind = None if row.head_block is None else max(0, row.head_block - row.block_number)
        why = None
        if age is None or age > self.max_age_seconds:
            why = "the ledger mirror has not been updated recently" if age is None else \
                f"the ledger mirror was last updated {age:.0f} s ago"
        elif behind is not None and behind > self.max_lag_blocks:
            why = f"the ledger mirror is {behind} blocks behind the node"
        return MirrorState(row.block_number, row.block_hash, row.head_block, age, current=why is None, why_not=why)

    def _refresh(self) -> bool:
        if not self._refreshing.acquire(blocking=False):
            return False  # another thread is stepping it: answer from what is there
        try:
            if time.monotonic() - self._last_refresh < self.refresh_after_seconds / 2:
                return False  # just tried (the node may be away): not again for every request
            self._last_refresh = time.monotonic()
            assert self.refresh is not None  # state() calls here only with one
            self.refresh()
            self._state = None
            return True
        except AnchoringError as exc:
            log.warning("ledger mirror not refreshed: %s (%s)", exc.message, exc.code)
            return False
        except Exception:  # noqa: BLE001 - a lookup must not fail for it: the mirror then ages into LEDGER_STALE
            log.exception("ledger mirror not refreshed")
            return False
        finally:
            self._refreshing.release()

    # --- what it says ----------------------------------------------------------------

    def evidence(self, state: MirrorState, fingerprint: bytes, root: bytes = ZERO32,
                 leaf: bytes = ZERO32) -> LedgerEvidence:
        """What ``RegistryClient.evidence`` would answer at the mirror's block: the signing
        key and its office and, in that office's scope only, the anchor of ``root`` and the
        status of ``leaf``."""
        params = {"contract": self.contract, "block": state.block_number, "fingerprint": fingerprint.hex(),
                  "root": root.hex(), "leaf": leaf.hex()}
        with self.engine.connect() as conn:
            # A zero root or leaf (none given) is looked up like any other, as the contract does.
            rows = conn.execute(_EVIDENCE, params).all()
            key = _signing_key(rows, fingerprint.hex())
            office = self._office(conn, state, key.office) if key is not None else None
        empty = OnChainLeafStatus(0, 0, ZERO32)
        if key is None:
            return LedgerEvidence(state.block_number, None, None, None, empty)
        anchor, status = None, empty
        for r in rows:
            if r.office != key.office:
                continue  # another office's anchor or leaf: a different scope
            data = json.loads(r.data)
            if r.kind == "RootAnchored" and r.root == root.hex() and anchor is None:
                anchor = OnChainAnchor(r.office, int(data["treeSize"]), r.block_number, r.block_time or 0)
            elif r.kind == "LeafRevoked" and r.leaf == leaf.hex() and status.reason == 0:
                status = OnChainLeafStatus(int(data["reason"]), r.block_number, ZERO32)
            elif r.kind == "LeafSuperseded" and r.leaf == leaf.hex() and status.reason == 0:
                status = OnChainLeafStatus(SUPERSEDED, r.block_number, bytes.fromhex(data["successor"]))
        return LedgerEvidence(state.block_number, key, office, anchor, status)

    def _office(self, conn: Any, state: MirrorState, number: int) -> OnChainOffice | None:
        """Offices change rarely: read all of them again only when the mirror has moved."""
        block = (state.block_number, state.block_hash)
        cached = self._offices
        if cached is None or cached[0] != block:  # (number, hash): a reorganised block is another block
            offices: dict[int, OnChainOffice] = {}
            rows = conn.execute(select(_EVENTS.c.kind, _EVENTS.c.office, _EVENTS.c.data)
                                .where(_EVENTS.c.contract == self.contract, _EVENTS.c.block_number <= block[0],
                                       _EVENTS.c.kind.in_(OFFICE_KINDS))
                                .order_by(_EVENTS.c.block_number, _EVENTS.c.log_index)).all()
            for r in rows:
                data = json.loads(r.data)
                if r.kind == "OfficeRegistered":
                    offices[r.office] = OnChainOffice(r.office, True, False, data["code"], data["name"])
                elif r.office in offices:
                    o = offices[r.office]
                    offices[r.office] = OnChainOffice(o.number, True, bool(data["suspended"]), o.code, o.name)
            cached = self._offices = (block, offices)
        return cached[1].get(number)


def _signing_key(rows: Sequence[Any], fingerprint: str) -> OnChainSigningKey | None:
    key = None
    for r in rows:
        if r.fingerprint != fingerprint:
            continue
        data = json.loads(r.data)
        if r.kind == "SigningKeyRegistered" and key is None:
            key = OnChainSigningKey(r.office, int(data["notBefore"]), int(data["notAfter"]), 0, r.block_time or 0)
        elif r.kind == "SigningKeyRevoked" and key is not None:
            # One-way, and only ever moved earlier: the last event holds the earliest time.
            key = OnChainSigningKey(key.office, key.not_before, key.not_after, int(data["revokedAt"]),
                                    key.registered_at)
    return key


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
