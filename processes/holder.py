"""Who holds a short-lived claim (a reserved number, a certificate being corrected), and
whether that holder is gone.

A holder is named ``host/pid/start/space/tag``:
- ``start`` is the process's start time in clock ticks since boot (from ``/proc``), so a
  pid reused by another process is not taken for the one that made the claim;
- ``space`` names the boot and the pid namespace, so two containers that share a host
  name (or a VM rebooted) never judge each other's pids;
- ``tag`` is random, so two threads of one process never hold the same claim.

A holder in this host, boot and pid namespace is known alive or gone at once; any other
holder is judged by the age of its claim alone, on the database's clock.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from functools import lru_cache
from pathlib import Path

# How long a claim of a holder that cannot be checked stands. Longer than any signing (a
# thousand-page batch at B-LTA), short enough that a crashed host's numbers come back the
# same working morning.
STALE_AFTER = dt.timedelta(minutes=15)


class _Unknown(Exception):
    """/proc cannot tell (hidden by hidepid, or not Linux)."""


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat), or None if it is gone or a
    zombie (a zombie holds nothing: it will never commit)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError as exc:  # hidden from us: alive or not, we cannot say
        raise _Unknown() from exc
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    if fields[0] == "Z":
        return None
    return fields[19]


@lru_cache(maxsize=None)
def _host() -> str:
    return socket.gethostname()[:40].replace("/", "_")


@lru_cache(maxsize=None)
def _space() -> str:
    """This boot and pid namespace ("?" where /proc cannot tell)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
        return f"{boot}.{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return "?"


def new_holder() -> str:
    """A holder for one claim made by this process (the pid read afresh, so a forked
    child has its own)."""
    pid = os.getpid()
    try:
        start = _start_ticks(pid) or "?"
    except _Unknown:
        start = "?"
    return f"{_host()}/{pid}/{start}/{_space()}/{secrets.token_hex(6)}"


def holder_gone(holder: str, claimed_at: dt.datetime, now: dt.datetime,
                stale_after: dt.timedelta = STALE_AFTER) -> bool:
    """True when ``holder`` can no longer finish what it claimed: a process of this host,
    boot and pid namespace that has ended, or, for any other holder, a claim older than
    ``stale_after`` (``claimed_at`` and ``now`` both on the database's clock). A live
    process that can be checked is never judged stale, however long its batch takes."""
    host, pid_text, start, space = (holder.split("/") + ["", "", ""])[:4]
    if host == _host() and space == _space() != "?" and pid_text.isdigit() and start != "?":
        try:
            return _start_ticks(int(pid_text)) != start
        except _Unknown:
            pass
    return now - claimed_at > stale_after
