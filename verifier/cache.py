"""A small in-process cache of PDF analyses, keyed by the file's SHA-256.

The same bytes always give the same signature analysis, so a certificate scanned a
thousand times is parsed once. Entries expire so that trust decisions are re-taken now
and then (a revoked office certificate, a new trust root)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from .analysis import PdfAnalysis


class AnalysisCache:
    def __init__(self, maxsize: int = 4096, ttl_seconds: float = 600.0):
        self.maxsize, self.ttl = maxsize, ttl_seconds
        self._items: OrderedDict[str, tuple[float, PdfAnalysis]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> PdfAnalysis | None:
        with self._lock:
            item = self._items.get(digest)
            if item is None:
                return None
            stored, value = item
            if time.monotonic() - stored > self.ttl:
                del self._items[digest]
                return None
            self._items.move_to_end(digest)
            return value

    def put(self, digest: str, value: PdfAnalysis) -> None:
        with self._lock:
            self._items[digest] = (time.monotonic(), value)
            self._items.move_to_end(digest)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
