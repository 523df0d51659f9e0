"""Issuer tokens and registry API keys: create, list, revoke."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from .console import (
    EXIT_BAD_INPUT,
    ExpiresOption,
    JsonOption,
    OperatorOption,
    app,
    expiry,
    fail,
    open_runtime_or_exit,
    operator_actor,
    until,
    when,
)

token_app = typer.Typer(help="Bearer tokens of notaries and administrators for the issuer API.", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _print_credentials(rows: list, third: tuple[str, Callable[[Any], str]], as_json: bool) -> None:
    """A listing of tokens or keys: never the secret, never its hash."""
    import unicodedata

    from keys.credentials import columns, utcnow

    if as_json:
        for row in rows:
            fields = {"id": row.id, "name": row.name, **columns(row)}
            typer.echo(json.dumps({k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in fields.items()},
                                  ensure_ascii=False, default=str))
        return
    now = utcnow()
    header = ("id", "name", third[0], "created", "expires", "last used", "revoked")
    table = [header] + [(
        str(r.id), r.name, third[1](r), when(r.created_at),
        when(r.expires_at) + (" (expired)" if r.expires_at and r.expires_at <= now else ""),
        when(r.last_used_at), when(r.revoked_at),
    ) for r in rows]

    def width(text: str) -> int:  # CJK characters take two columns
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    widths = [max(width(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(line)).rstrip())


def _revoke_credential(kind: str, revoke, ref: str, operator: str | None, describe) -> None:
    from keys.credentials import CredentialLookupError

    actor = operator_actor(operator)
    rt = open_runtime_or_exit(chain=False)
    try:
        row, revoked_now = revoke(rt.engine, ref, actor=actor)
    except CredentialLookupError as exc:
        fail(EXIT_BAD_INPUT, str(exc).replace("credential", kind))
    finally:
        rt.close()
    if revoked_now:
        typer.echo(f"revoked {kind} {row.id} ({describe(row)})")
    else:
        typer.echo(f"{kind} {row.id} ({describe(row)}) was already revoked at {when(row.revoked_at)}")


def _describe_token(row) -> str:
    return f"{row.name}, {row.role} {row.office_code or ''}".rstrip()


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="whose token, e.g. 王丽")],
    role: Annotated[str, typer.Option(help="notary, office_admin, registry_admin or client (a registered client "
                                           "who submits evidence for preservation)")] = "notary",
    office: Annotated[str | None, typer.Option(help="office code (default: this service's office)")] = None,
    expires: ExpiresOption = None,
    operator: OperatorOption = None,
    holder: Annotated[str | None, typer.Option(
        help="the holder id of this person's other token: the new token keeps their certificates and drafts")] = None,
    new_person: Annotated[bool, typer.Option(
        "--new-person", help="another person who has the same name as someone holding a token")] = False,
) -> None:
    """Create a token; it is printed once and only its hash is stored. Certificates belong
    to a person (the holder id printed here), never to a name: a second token for the same
    person takes --holder, a namesake takes --new-person."""
    import uuid

    from issuer.auth import Role, create_token, namesakes

    try:
        role_ = Role(role)
    except ValueError:
        fail(EXIT_BAD_INPUT, "role must be notary, office_admin, registry_admin or client")
    expires_at, actor = expiry(expires), operator_actor(operator)
    rt = open_runtime_or_exit(chain=False)
    try:
        if role_ == Role.REGISTRY_ADMIN and office is not None:
            fail(EXIT_BAD_INPUT, "a registry administrator supervises every office and belongs to none; leave out --office")
        if office is not None and office != rt.office.code:
            # This service issues for one office only: a token for any other could do nothing
            # here, and a typing mistake would go unnoticed until the holder is refused.
            fail(EXIT_BAD_INPUT, f"no office {office!r} here; this service is {rt.office.name} ({rt.office.code})")
        holder_id = None
        if holder is not None:
            try:
                holder_id = uuid.UUID(holder)
            except ValueError:
                fail(EXIT_BAD_INPUT, f"--holder: not a holder id: {holder!r}")
        elif not new_person and role_ != Role.REGISTRY_ADMIN:
            others = namesakes(rt.engine, name, office or rt.office.code)
            if others:
                ids = ", ".join(sorted({str(t.holder_id) for t in others}))
                fail(EXIT_BAD_INPUT, f"{name} already holds a token (holder {ids}): for the same person add "
                                     f"--holder ID; for another person of the same name add --new-person")
        try:
            row, token = create_token(rt.engine, name, role_, office or rt.office.code, expires_at=expires_at,
                                      actor=actor, holder=holder_id)
        except ValueError as exc:
            fail(EXIT_BAD_INPUT, str(exc))
    finally:
        rt.close()
    typer.echo(f"id:    {row.id}\nrole:  {row.role} {row.office_code or ''}\nuntil: {until(row.expires_at)}\n"
               f"token: {token}\nholder: {row.holder_id}  (--holder for this person's next token)")


@token_app.command("list")
def token_list(as_json: JsonOption = False) -> None:
    """Tokens with their role, office, expiry, last use and revocation (never the token)."""
    from issuer.auth import list_tokens

    rt = open_runtime_or_exit(chain=False)
    try:
        rows = list_tokens(rt.engine)
    finally:
        rt.close()
    _print_credentials(rows, ("role/office", lambda r: f"{r.role} {r.office_code or ''}".rstrip()), as_json)


@token_app.command("revoke")
def token_revoke(
    ref: Annotated[str, typer.Argument(metavar="ID_OR_NAME", help="the token's id, or its holder's name if only one "
                                       "unrevoked token has it")],
    operator: OperatorOption = None,
) -> None:
    """Revoke a token: every API process refuses it from the next request on."""
    from issuer.auth import revoke_token

    _revoke_credential("token", revoke_token, ref, operator, _describe_token)


apikey_app = typer.Typer(help="API keys of registries for the batch verification API.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="who the key is for, e.g. 上海市不动产登记局")],
    per_minute: Annotated[int, typer.Option(min=1, max=1_000_000, help="items a minute")] = 6000,
    expires: ExpiresOption = None,
    operator: OperatorOption = None,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    from verifier.apikeys import create_api_key

    expires_at, actor = expiry(expires), operator_actor(operator)
    rt = open_runtime_or_exit(chain=False)
    try:
        row, key = create_api_key(rt.engine, name, per_minute, expires_at=expires_at, actor=actor)
    finally:
        rt.close()
    typer.echo(f"id:    {row.id}")
    typer.echo(f"until: {until(row.expires_at)}")
    typer.echo(f"key:   {key}")


@apikey_app.command("list")
def apikey_list(as_json: JsonOption = False) -> None:
    """Keys with their rate, expiry, last use and revocation (never the key)."""
    from verifier.apikeys import list_api_keys

    rt = open_runtime_or_exit(chain=False)
    try:
        rows = list_api_keys(rt.engine)
    finally:
        rt.close()
    _print_credentials(rows, ("items/min", lambda r: str(r.items_per_minute)), as_json)


@apikey_app.command("revoke")
def apikey_revoke(
    ref: Annotated[str, typer.Argument(metavar="ID_OR_NAME", help="the key's id, or its name if only one unrevoked "
                                       "key has it")],
    operator: OperatorOption = None,
) -> None:
    """Revoke a key: every API process refuses it from the next request on."""
    from verifier.apikeys import revoke_api_key

    _revoke_credential("API key", revoke_api_key, ref, operator, lambda r: r.name)
