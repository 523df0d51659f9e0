"""Staff accounts of the web console: create, reset, disable, enable, list. A new or reset
account gets a temporary password (changed at the first sign-in) and a TOTP secret for the
person's authenticator app, printed once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from .console import EXIT_BAD_INPUT, OperatorOption, app, fail, open_runtime_or_exit, operator_actor, when

user_app = typer.Typer(help="Staff accounts of the web console (/console).", no_args_is_help=True)
app.add_typer(user_app, name="user")

RoleOption = Annotated[str, typer.Option(help="notary, office_admin or registry_admin")]


@contextmanager
def _runtime(chain: bool = False) -> Iterator:
    """The runtime, closed afterwards; a console error is one line and exit 3."""
    from console.errors import ConsoleError

    rt = open_runtime_or_exit(chain=chain)
    try:
        yield rt
    except ConsoleError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
    finally:
        rt.close()


def _print_new(made, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"id": str(made.user.id), "username": made.user.username, "password": made.password,
                               "totp_secret": made.totp_secret, "totp_uri": made.totp_uri}, ensure_ascii=False))
        return
    typer.echo(f"user:        {made.user.username} ({made.user.name}, {made.user.role}"
               f"{', ' + made.user.office_code if made.user.office_code else ''})")
    typer.echo(f"password:    {made.password}")
    typer.echo(f"totp secret: {made.totp_secret}")
    typer.echo(f"totp uri:    {made.totp_uri}")
    typer.echo("Give these to the person in person; they are not shown again. The password must be changed at "
               "the first sign-in.", err=True)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="the sign-in name: lower-case letters, digits, . _ -")],
    name: Annotated[str, typer.Option(help="the person's name as printed on certificates")],
    role: RoleOption = "notary",
    office: Annotated[str | None, typer.Option(help="office code (default: this service's office)")] = None,
    holder: Annotated[str | None, typer.Option(help="the holder id of this person's API token, so that what "
                                                    "they issue either way is theirs")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    operator: OperatorOption = None,
) -> None:
    """Create a console account (audited)."""
    from console import accounts
    from issuer.auth import Role

    try:
        role_ = Role(role)
        holder_id = uuid.UUID(holder) if holder else None
    except ValueError:
        fail(EXIT_BAD_INPUT, f"unknown role {role!r} or holder id; roles: notary, office_admin, registry_admin")
    with _runtime() as rt:
        made = accounts.create_user(rt.engine, rt.totp_sealing_key, username, name, role_,
                                    office or rt.office.code, actor=operator_actor(operator), holder=holder_id)
    _print_new(made, as_json)


@user_app.command("reset")
def user_reset(
    username: Annotated[str, typer.Argument(help="user name or id")],
    keep_totp: Annotated[bool, typer.Option(help="keep the authenticator secret (a forgotten password only)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    operator: OperatorOption = None,
) -> None:
    """A new temporary password (and authenticator secret); lifts a lock-out and ends every
    session of the account (audited)."""
    from console import accounts

    with _runtime() as rt:
        made = accounts.reset_user(rt.engine, rt.totp_sealing_key, username, actor=operator_actor(operator),
                                   new_totp=not keep_totp)
    _print_new(made, as_json)


def _set_disabled(username: str, disabled: bool, operator: str | None) -> None:
    from console import accounts

    with _runtime() as rt:
        user = accounts.set_disabled(rt.engine, username, disabled, actor=operator_actor(operator))
    typer.echo(f"{user.username}: {'disabled; every session ended' if disabled else 'enabled'}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="user name or id")],
                 operator: OperatorOption = None) -> None:
    """Disable an account: it cannot sign in and its sessions end at once (audited)."""
    _set_disabled(username, True, operator)


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="user name or id")],
                operator: OperatorOption = None) -> None:
    """Enable a disabled account again (audited)."""
    _set_disabled(username, False, operator)


@user_app.command("list")
def user_list(office: Annotated[str | None, typer.Option(help="one office's accounts")] = None) -> None:
    """Every console account: never a password or a secret."""
    from console import accounts

    with _runtime() as rt:
        users = accounts.list_users(rt.engine, office)
    for u in users:
        state = "disabled" if u.disabled_at else "active"
        typer.echo(f"{u.username}\t{u.name}\t{u.role}\t{u.office_code or '-'}\t{state}\tlast sign-in "
                   f"{when(u.last_signin_at)}")


@user_app.command("code")
def user_code(username: Annotated[str, typer.Argument(help="user name or id")]) -> None:
    """The account's current TOTP code, for the operator of a development or demo service
    who holds the database (an authenticator app does this for real staff)."""
    from console import accounts, totp

    from ..runtime import DEV_CHAIN_IDS

    with _runtime(chain=True) as rt:
        if rt.node is None and (rt.registry is None or rt.registry.chain_id() not in DEV_CHAIN_IDS):
            fail(EXIT_BAD_INPUT, "codes are printed on a development chain only; staff use an authenticator app")
        user = accounts.find_user(rt.engine, username)
        secret = totp.unseal(rt.totp_sealing_key, user.totp_sealed, str(user.id))
    typer.echo(totp.code_now(secret))
