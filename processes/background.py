"""A thread that runs beside a block and is stopped when the block ends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stopped_after(started: tuple[threading.Thread, threading.Event] | None,
                  join_seconds: float = 30.0) -> Iterator[None]:
    """Run the block; then set the thread's stop event and wait (up to ``join_seconds``)
    for it to end. ``started`` is a thread already started with its stop event, or None."""
    try:
        yield
    finally:
        if started is not None:
            thread, stop = started
            stop.set()
            thread.join(timeout=join_seconds)
