"""Gauges of the anchoring queue, read from the database when /metrics is scraped (so every
API process reports the same truth, whichever process anchors)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.clock import database_now

from .chain import RegistryClient
from .errors import AnchoringError
from .models import AnchorBatch, BatchState, LedgerCursor, OutboxEntry


class AnchoringQueue(Collector):
    """``notary_outbox_depth``: certificates not yet anchored in a confirmed batch;
    ``notary_oldest_unanchored_seconds``: the age of the oldest of them (0 when none);
    ``notary_ledger_mirror_behind_blocks``: how far the ledger mirror (the follower) is
    behind the node (absent while nothing follows, or the node is away)."""

    def __init__(self, engine: Engine, registry: RegistryClient | None = None):
        self.engine = engine
        self.registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with Session(self.engine) as s:
            depth, oldest = s.exec(
                select(func.count(col(OutboxEntry.id)), func.min(OutboxEntry.created_at))
                .select_from(OutboxEntry)
                .outerjoin(AnchorBatch, col(AnchorBatch.id) == OutboxEntry.batch_id)
                .where(or_(col(OutboxEntry.batch_id).is_(None), col(AnchorBatch.state) != BatchState.CONFIRMED))
            ).one()
            now = database_now(s)
            cursor = s.get(LedgerCursor, self.registry.address) if self.registry is not None else None
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("notary_outbox_depth", "Certificates not yet anchored in a confirmed batch",
                                value=depth)
        yield GaugeMetricFamily("notary_oldest_unanchored_seconds", "Age of the oldest certificate not yet anchored",
                                value=max(age, 0.0))
        if self.registry is None or cursor is None:
            return
        try:
            head = self.registry.block_number()
        except AnchoringError:
            return
        yield GaugeMetricFamily("notary_ledger_mirror_behind_blocks", "Blocks the ledger mirror is behind the node",
                                value=max(0, head - cursor.block_number))
