"""Several processes, one set of metrics: the Prometheus client's multiprocess mode.

Kept apart from observability.metrics on purpose: the directory must be named before the
client is first imported (it picks how to keep values at import), so this module must not
import it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def enable_multiprocess(directory: Path) -> None:
    """Make this process and the processes it starts write their samples to ``directory``
    (emptied first: samples of an earlier run must not be added up). Call at the top of a
    command, before anything imports the client; an operator's own setting is kept."""
    if os.environ.get(MULTIPROCESS_ENV):
        return
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)
