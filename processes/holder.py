"""Who holds a short-lived claim (a reserved number, a certificate being corrected), and
whether that holder is gone.

A holder is named ``host/pid/start/tag`` where ``start`` is the process's start time in
clock ticks since boot (from ``/proc``), so a pid reused after a crash or a reboot is not
taken for the process that made the claim, and ``tag`` is random, so two threads of one
process never hold the same claim. On the same host a holder is known alive or gone at
once; a holder on another host is judged by the age of its claim alone.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from functools import lru_cache
from pathlib import Path


# How long a claim of a holder on another host stands without a word from it. Longer than
# any signing (a thousand-page batch at B-LTA), short enough that a crashed host's numbers
# come back the same working morning.
STALE_AFTER = dt.timedelta(minutes=15)


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat), or None if it is gone or a
    zombie (a zombie holds nothing: it will never commit)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    if fields[0] == "Z":
        return None
    return fields[19]


@lru_cache(maxsize=None)
def _host() -> str:
    return socket.gethostname()[:60]


def new_holder() -> str:
    """A holder for one claim made by this process: ``host/pid/start/tag`` (the pid read
    afresh, so a forked child has its own)."""
    pid = os.getpid()
    return f"{_host()}/{pid}/{_start_ticks(pid) or '?'}/{secrets.token_hex(6)}"


def holder_gone(holder: str, claimed_at: dt.datetime, now: dt.datetime,
                stale_after: dt.timedelta = STALE_AFTER) -> bool:
    """True when ``holder`` can no longer finish what it claimed: a process of this host
    that has ended, or, for a process elsewhere (or where /proc cannot tell), a claim older
    than ``stale_after``. A live process on this host is never judged stale, however long
    its batch takes."""
    host, pid_text, start = (holder.split("/") + ["", ""])[:3]
    if host == _host() and pid_text.isdigit() and start != "?" and Path("/proc/self/stat").exists():
        return _start_ticks(int(pid_text)) != start
    return now - claimed_at > stale_after
