"""What the database knows about one certificate's anchor (pending, sent, confirmed)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session, select

from .models import AnchorBatch, BatchState, OutboxEntry
from .receipt import AnchorReceipt, split_path


@dataclass(frozen=True)
class AnchorStatus:
    state: Literal["pending", "sent", "confirmed"]
    receipt: AnchorReceipt | None = None
    block_time: dt.datetime | None = None


def anchor_status(session: Session, certificate_id: uuid.UUID) -> AnchorStatus | None:
    """None when the certificate never entered the outbox."""
    entry = session.exec(select(OutboxEntry).where(OutboxEntry.certificate_id == certificate_id)).first()
    if entry is None:
        return None
    batch = session.get(AnchorBatch, entry.batch_id) if entry.batch_id else None
    return status_of(entry, batch)


def status_of(entry: OutboxEntry | None, batch: AnchorBatch | None) -> AnchorStatus | None:
    """The status from a certificate's outbox row and its batch, however they were read."""
    if entry is None:
        return None
    if batch is None:
        return AnchorStatus("pending")
    if batch.state != BatchState.CONFIRMED:
        return AnchorStatus("sent" if batch.state == BatchState.SENT else "pending")
    # The worker sets the leaf's index when it builds the batch, and the batch's chain, contract
    # and block when it confirms it.
    assert entry.leaf_index is not None and batch.chain_id is not None and batch.contract is not None \
        and batch.block_number is not None
    receipt = AnchorReceipt(
        certificate_id=entry.certificate_id,
        document_sha256=entry.document_sha256,
        leaf_hash=entry.leaf_hash,
        leaf_index=entry.leaf_index,
        tree_size=batch.tree_size,
        audit_path=split_path(entry.audit_path),
        root=batch.root,
        chain_id=batch.chain_id,
        contract=batch.contract,
        tx_hash=batch.tx_hash or "",
        block_number=batch.block_number,
        office=batch.office_code,
    )
    block_time = batch.block_time
    return AnchorStatus("confirmed", receipt, block_time)
