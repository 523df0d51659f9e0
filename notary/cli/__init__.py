"""The ``notary`` command line (Typer). Uses the same data directory and chain as the server.

Each module holds one family of commands; importing them registers them on ``app``."""

from __future__ import annotations

import sys

from . import (  # noqa: F401 - registers
    audit_log,
    credentials,
    evidence_packages,
    feeding,
    inspecting,
    issuing,
    office_keys,
    preservation,
    schema,
    serving,
    staff_accounts,
    verifying,
)
from .console import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
