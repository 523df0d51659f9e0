"""A tiny time-to-live cache for public lookups (status, fingerprint).

A certificate's status changes rarely (anchored, revoked), and the ledger moves a block
at a time; answering the same lookup from memory for about a second lets one API process
serve thousands of lookups a second, while a revocation still shows within the TTL."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool


class MicroCache:
    def __init__(self, ttl_seconds: float = 1.0, maxsize: int = 100_000):
        self.ttl, self.maxsize = ttl_seconds, maxsize
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[Any, asyncio.Future] = {}

    def get(self, key: Any) -> Any | None:
        item = self._items.get(key)
        if item is None or time.monotonic() - item[0] > self.ttl:
            return None
        return item[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    async def through(self, key: Any, compute: Callable[[], Any]) -> Any:
        """Serve from memory on the event loop; compute a miss once in the thread pool,
        however many requests wait for it (no stampede when an entry expires)."""
        if self.ttl <= 0:
            return await run_in_threadpool(compute)
        hit = self.get(key)
        if hit is not None:
            return hit
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await run_in_threadpool(compute)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._inflight.pop(key, None)
        self.put(key, value)
        future.set_result(value)
        return value
