"""Shared bits of the benchmarks: timing, a throwaway runtime, and the JSON last line."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from notary.runtime import Runtime, open_runtime
from notary.settings import Settings


def rate(fn: Callable[[], object], seconds: float = 3.0, warmup: int = 3) -> tuple[float, list[float]]:
    """Calls per second of ``fn`` over about ``seconds``, and each call's latency."""
    for _ in range(warmup):
        fn()
    latencies: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        latencies.append(time.perf_counter() - t)
    return len(latencies) / (time.perf_counter() - start), latencies


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def temp_runtime(**overrides) -> Runtime:
    """A runtime in a fresh temporary data directory on the embedded anvil node."""
    data = Path(tempfile.mkdtemp(prefix="notary-bench-"))
    return open_runtime(Settings(data_dir=data, key_passphrase="bench", **overrides))


def emit(result: dict) -> None:
    """Benchmarks end with one JSON object on the last line."""
    print(json.dumps(result, ensure_ascii=False, sort_keys=True))
