"""What every ``notary`` command shares: the Typer app, exit codes, failing with one clear
line, opening the runtime, and the operator named in the audit log."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
from typing import Annotated, NoReturn

import typer

from anchoring.errors import AnchoringError
from keys.errors import KeyStoreError
from records.errors import InvalidMatterData

app = typer.Typer(help="Electronic notarial certificates: issue, anchor and verify.", no_args_is_help=True,
                  pretty_exceptions_enable=False)

EXIT_PASSED, EXIT_FAILED, EXIT_INDETERMINATE = 0, 1, 2
EXIT_BAD_INPUT = 3  # the file or data given cannot be used
EXIT_UNAVAILABLE = 4  # keys, database or chain cannot be opened


def fail(code: int, message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def fail_fields(exc: InvalidMatterData, summary: str) -> NoReturn:
    """Name every field and the rule it broke, then exit with the bad-input code."""
    for e in exc.errors:
        typer.secho(f"  {e['field']}: {e['message']} ({e['rule']})", err=True)
    fail(EXIT_BAD_INPUT, f"{summary} [{exc.code}]")


def exit_on_sigterm() -> None:
    """Make SIGTERM a normal exit, so ``finally`` blocks stop the embedded chain node (which
    dumps its state). uvicorn re-raises SIGTERM after its graceful shutdown, and the default
    handler would kill the process before that."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def open_runtime_or_exit(chain: bool = True, create: bool = True):
    """The runtime, or a one-line error and exit 4 when keys, database or chain are not
    available (``create=False``: NoInstallation propagates, for the caller to explain)."""
    from ..runtime import open_runtime

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return open_runtime(chain=chain, create=create)
    except (AnchoringError, KeyStoreError) as exc:
        fail(EXIT_UNAVAILABLE, f"{exc.message} [{exc.code}]")


OperatorOption = Annotated[str | None, typer.Option(
    "--operator", envvar="NOTARY_OPERATOR", show_envvar=True,
    help="who does this, for the audit log (default: NOTARY_OPERATOR, else the OS user name)")]
ExpiresOption = Annotated[str | None, typer.Option(
    "--expires", help="a duration (90d, 12h, 30m, 2w) or an ISO date (2026-12-31, 00:00 UTC) or date-time")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")]


def operator_actor(name: str | None) -> str:
    """The audit log's actor for a command: ``operator:NAME``."""
    return f"operator:{operator_name(name)}"


def operator_name(name: str | None) -> str:
    """Who runs this command (--operator, else NOTARY_OPERATOR, else the OS user): the
    audit log names them, and they own what they issue."""
    if name is None:
        import getpass

        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no user name in this environment
            name = "unknown"
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        fail(EXIT_BAD_INPUT, "--operator must be a printable name of 1 to 100 characters")
    return name


def expiry(value: str | None) -> dt.datetime | None:
    from keys.credentials import parse_expiry

    if value is None:
        return None
    try:
        return parse_expiry(value)
    except ValueError as exc:
        fail(EXIT_BAD_INPUT, f"--expires: {exc}")


def when(at: dt.datetime | None) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ") if at else "-"


def until(at: dt.datetime | None) -> str:
    return when(at) if at else "no expiry"



def anchor_now(rt) -> str | None:
    """Anchor at once what was just issued or changed. When the ledger cannot be reached the
    change is kept and the worker anchors it later: returns that error's code, else None.
    (An AnchoringError is a NotaryError too: catching it here keeps a ledger that is away
    from being reported as bad input.)"""
    try:
        rt.worker().run_once(force=True)
    except AnchoringError as exc:
        return exc.code
    return None
