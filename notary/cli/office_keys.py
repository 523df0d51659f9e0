"""The office's signing keys: rotate, revoke-cert."""

from __future__ import annotations

from typing import Annotated

import typer

from .console import (
    EXIT_BAD_INPUT,
    OperatorOption,
    app,
    fail,
    open_runtime_or_exit,
    operator_actor,
)

keys_app = typer.Typer(help="The office's signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate(operator: OperatorOption = None) -> None:
    """New signing key and certificate; registered on the ledger, the old one retired from
    now on. Certificates signed before keep verifying."""
    from ..runtime import rotate_office_key

    actor = operator_actor(operator)
    rt = open_runtime_or_exit()
    try:
        old, new = rotate_office_key(rt, actor)
    finally:
        rt.close()
    typer.echo(f"retired:    {old.hex()}\nregistered: {new.hex()}")


@keys_app.command("revoke-cert")
def keys_revoke_cert(
    yes: Annotated[bool, typer.Option("--yes", help="confirm: certificates signed with this key stop verifying")] = False,
    operator: OperatorOption = None,
) -> None:
    """Compromise: revoke the office's current signing certificate (CRL) and retire it on the
    ledger. Run `notary keys rotate` afterwards to sign again."""
    from ..runtime import revoke_office_certificate

    if not yes:
        fail(EXIT_BAD_INPUT, "this makes every certificate signed with the current key fail; add --yes")
    actor = operator_actor(operator)
    rt = open_runtime_or_exit()
    try:
        fingerprint = revoke_office_certificate(rt, actor)
    finally:
        rt.close()
    typer.echo(f"revoked: {fingerprint.hex()}")
