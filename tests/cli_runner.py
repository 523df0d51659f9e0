"""`notary ARGS` run in the test's own process (typer's CliRunner), for the command tests."""

from __future__ import annotations

import signal
from collections.abc import Callable

from click.testing import Result
from typer.testing import CliRunner


def in_process_cli(env: dict[str, str], monkeypatch) -> Callable[..., Result]:
    """A function running ``notary *args`` with ``env``. An exception the command did not
    turn into an exit code is raised (a real process would print a traceback: a bug either
    way)."""
    from notary.cli import app

    # A command may install a SIGTERM handler for its own process: keep pytest's.
    monkeypatch.setattr(signal, "signal", lambda *_a: None)
    runner = CliRunner()

    def run(*args: str) -> Result:
        result = runner.invoke(app, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return run
