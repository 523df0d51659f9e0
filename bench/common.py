"""Shared bits of the benchmarks: timing, a throwaway runtime, and the JSON last line."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from notary.runtime import Runtime, open_runtime
from notary.settings import Settings
from records.idnumber import check_digit
from records.matters import EXAMPLES


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


def interleaved_rates(fns: dict[str, Callable[[], object]], seconds: float = 3.0, rounds: int = 10,
                      warmup: int = 3) -> dict[str, tuple[float, list[float]]]:
    """Calls per second and latencies of each function, measured in alternating slices of
    ``seconds / rounds`` each, so that a change in machine load between the start and the
    end of the run falls on all of them alike (this machine is shared and noisy)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    spent = {name: 0.0 for name in fns}
    latencies: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            while time.perf_counter() - start < seconds / rounds:
                t = time.perf_counter()
                fn()
                latencies[name].append(time.perf_counter() - t)
            spent[name] += time.perf_counter() - start
    return {name: (len(latencies[name]) / spent[name], latencies[name]) for name in fns}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def temp_runtime(**overrides) -> Runtime:
    """A runtime in a fresh temporary data directory on the embedded anvil node."""
    data = Path(tempfile.mkdtemp(prefix="notary-bench-"))
    return open_runtime(Settings(data_dir=data, key_passphrase="bench", **overrides))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def applicant(i: int) -> dict:
    """A distinct, valid applicant for request ``i``."""
    base = EXAMPLES["birth"]
    id17 = f"31010119900307{i % 1000:03d}"
    return {**base, "applicant_name": f"张{'明亮华国建英'[i % 6]}{'一二三四五六七八九十'[i // 6 % 10]}",
            "id_number": id17 + check_digit(id17)}


def emit(result: dict) -> None:
    """Benchmarks end with one JSON object on the last line."""
    print(json.dumps(result, ensure_ascii=False, sort_keys=True))


@contextlib.contextmanager
def service_and_hello(env: dict[str, str], workers: int = 1) -> Iterator[tuple[str, str]]:
    """`notary serve` (``workers`` API processes) with ``env``, and the hello-world baseline
    served by uvicorn the same way (one process, uvloop + httptools): their base URLs once
    both answer; both stopped afterwards."""
    app_port, hello_port = free_port(), free_port()
    python = sys.executable
    servers = [
        subprocess.Popen([str(Path(python).with_name("notary")), "serve", "--port", str(app_port), "--workers",
                          str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True),
        subprocess.Popen([python, "-m", "uvicorn", "bench.hello_app:app", "--port", str(hello_port), "--loop",
                          "uvloop", "--http", "httptools", "--log-level", "warning"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
    ]
    try:
        app, hello = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{hello_port}"
        wait_up(f"{app}/healthz")
        wait_up(f"{hello}/hello")
        yield app, hello
    finally:
        os.killpg(servers[0].pid, signal.SIGTERM)  # the server and, with --workers, its API processes
        servers[1].terminate()
        for p in servers:
            p.wait(60)
