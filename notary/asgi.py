"""The application for each API worker process of ``notary serve --workers N``.

uvicorn's process manager starts N of these and restarts any that dies (a crash, a kill);
the parent (the supervisor) has already created the data directory, migrated the database
and deployed the contract, and runs the anchoring worker, so each API process only opens
the runtime and serves.
"""

from __future__ import annotations

import atexit
import threading

from observability.logs import configure_logs

from .app import create_app
from .runtime import open_runtime
from .settings import Settings


def create():
    """An ASGI app with its own runtime (database engine, signing and parser processes)."""
    configure_logs(Settings().log_format)
    rt = open_runtime()
    atexit.register(rt.close)  # its signing and parser processes end with it
    if rt.signing_pool is not None:
        threading.Thread(target=rt.signing_pool.warm_up, name="signing-warm-up", daemon=True).start()
    return create_app(rt, run_worker=False)
