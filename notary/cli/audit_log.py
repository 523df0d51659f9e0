"""The audit log: check its chain against the ledger."""

from __future__ import annotations

import typer

from .console import EXIT_FAILED, app, fail, open_runtime_or_exit


@app.command("audit")
def audit_check() -> None:
    """Check the audit log's hash chain, and its heads against the ledger."""
    from issuer.audit import check_anchored_heads, verify_chain

    rt = open_runtime_or_exit()
    try:
        broken = verify_chain(rt.engine)
        problems = check_anchored_heads(rt.engine, rt.registry)
    finally:
        rt.close()
    if broken is not None:
        fail(EXIT_FAILED, f"the audit log is broken at event {broken}")
    for p in problems:
        typer.secho(p, err=True)
    if problems:
        raise typer.Exit(EXIT_FAILED)
    typer.echo("audit log intact; every anchored head matches the ledger")
