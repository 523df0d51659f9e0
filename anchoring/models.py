"""Tables owned by anchoring: the outbox of leaves waiting to be anchored, batches, ledger
actions, and the mirror of the registry's events (the follower)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Column, LargeBinary, UniqueConstraint
from storage.clock import utcnow
from sqlmodel import Field, SQLModel


class OutboxEntry(SQLModel, table=True):
    """One certificate leaf. Written in the issuing transaction; the id is the issuance
    sequence that orders leaves within a batch."""

    __tablename__ = "anchor_outbox"

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: uuid.UUID = Field(unique=True, index=True)
    document_sha256: str = Field(max_length=64, index=True)
    leaf_hash: str = Field(max_length=64, index=True)
    office_code: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    batch_id: uuid.UUID | None = Field(default=None, index=True, foreign_key="anchor_batch.id")
    leaf_index: int | None = None
    # Audit path from the leaf up, 32-byte hashes concatenated; set when the batch is built.
    audit_path: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class BatchState:
    BUILT = "built"  # tree fixed, nothing sent yet
    SENT = "sent"  # transaction broadcast, waiting for inclusion and confirmations
    CONFIRMED = "confirmed"


class AnchorBatch(SQLModel, table=True):
    __tablename__ = "anchor_batch"
    __table_args__ = (UniqueConstraint("root", name="uq_anchor_batch_root"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    state: str = Field(default=BatchState.BUILT, max_length=16, index=True)
    root: str = Field(max_length=64)
    tree_size: int
    office_code: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    chain_id: int | None = None
    contract: str | None = Field(default=None, max_length=42)
    # 32 bytes committed on chain as the batch's id: e.g. the audit log's head when built.
    commitment: str | None = Field(default=None, max_length=64)
    tx_hash: str | None = Field(default=None, max_length=66)
    tx_nonce: int | None = None
    # EIP-1559 fees of the last signed transaction (wei), so a stuck one is replaced at a higher fee.
    max_fee_per_gas: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    max_priority_fee_per_gas: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    sent_at: dt.datetime | None = None
    block_number: int | None = None
    block_hash: str | None = Field(default=None, max_length=66)
    block_time: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


class LeafActionState:
    PENDING = "pending"  # waiting for the leaf's batch to be confirmed, or for sending
    SENT = "sent"
    DONE = "done"


class LeafAction(SQLModel, table=True):
    """A revocation or supersession to record on the ledger once the leaf is anchored.
    Written in the same transaction as the certificate's change of status."""

    __tablename__ = "anchor_leaf_action"

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: uuid.UUID = Field(index=True, unique=True)
    reason: int  # contract reason code; 255 = superseded
    successor_leaf: str | None = Field(default=None, max_length=64)
    state: str = Field(default=LeafActionState.PENDING, max_length=16, index=True)
    tx_hash: str | None = Field(default=None, max_length=66)
    created_at: dt.datetime = Field(default_factory=utcnow)
    done_at: dt.datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)


class LedgerCursor(SQLModel, table=True):
    """How far the ledger mirror has read: one row per registry contract."""

    __tablename__ = "ledger_cursor"

    contract: str = Field(primary_key=True, max_length=42)
    chain_id: int
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    block_hash: str = Field(max_length=66)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    # The node's head when the follower last asked, and when: lookups judge from these
    # whether the mirror is current without asking the node themselves.
    head_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    checked_at: dt.datetime | None = None


class LedgerBlock(SQLModel, table=True):
    """The hash of each recent block mirrored, to find the common ancestor after a reorg."""

    __tablename__ = "ledger_block"

    contract: str = Field(primary_key=True, max_length=42)
    number: int = Field(sa_column=Column(BigInteger, primary_key=True))
    hash: str = Field(max_length=66)


class LedgerEvent(SQLModel, table=True):
    """One event of the registry, as mirrored (``kind``: the event's name). The columns hold
    what lookups search by; ``data`` holds the rest as JSON."""

    __tablename__ = "ledger_event"

    contract: str = Field(primary_key=True, max_length=42)
    block_number: int = Field(sa_column=Column(BigInteger, primary_key=True))
    log_index: int = Field(primary_key=True)
    tx_hash: str = Field(max_length=66)
    kind: str = Field(max_length=40, index=True)
    office: int | None = Field(default=None, index=True)
    root: str | None = Field(default=None, max_length=64, index=True)
    leaf: str | None = Field(default=None, max_length=64, index=True)
    fingerprint: str | None = Field(default=None, max_length=64, index=True)
    block_time: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # unix seconds
    data: str = "{}"
