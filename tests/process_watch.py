"""Watching the processes that tests start: their children, whether they live, and waiting
for a condition (the server tests, the several-processes test and the chaos suite)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def spawned(pid: int) -> list[int]:
    """The children of ``pid`` started by multiprocessing's spawn: uvicorn's API processes
    under a supervisor, or an API process's signing and parser processes."""
    found = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    """Running (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(condition, seconds: float, what: str, pause: float = 0.2):
    """The first true value of ``condition()`` within ``seconds``; a failure naming ``what``
    after that. A condition that raises an HTTP or OS error counts as not yet."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (httpx.HTTPError, OSError, ValueError):
            value = None
        if value:
            return value
        time.sleep(pause)
    pytest.fail(f"timed out waiting for {what}")


def healthy(url: str) -> bool:
    """Whether the server at ``url`` answers /healthz."""
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
