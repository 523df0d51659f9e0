"""Make a worker process end when the process that started it is gone."""

from __future__ import annotations

import os
import threading
import time


def end_with_parent(parent_pid: int, interval: float = 1.0) -> None:
    """End this process as soon as ``parent_pid`` is no longer its parent.

    The parent passes its own pid, read before the child exists: a child that reads
    ``os.getppid()`` itself may already have been re-parented (its parent killed while the
    child was still importing), and would then watch the wrong process for ever.

    Linux's PR_SET_PDEATHSIG is no substitute: it fires when the *thread* that started the
    child ends, which in the API process is any short-lived request thread.
    """
    if os.getppid() != parent_pid:
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
