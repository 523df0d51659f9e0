"""The push feed: receivers (add, list, disable, enable, rotate-secret), deliveries (list,
replay) and a run of the delivery worker."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer

from .console import EXIT_BAD_INPUT, JsonOption, OperatorOption, app, fail, open_runtime_or_exit, operator_actor, when

feed_app = typer.Typer(help="The push feed to the one-stop platform and to registries (signed webhooks).",
                       no_args_is_help=True)
app.add_typer(feed_app, name="feed")


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(EXIT_BAD_INPUT, f"{what}: not an id: {value!r}")


@feed_app.command("add")
def feed_add(
    name: Annotated[str, typer.Argument(help="who receives, e.g. 一网通办")],
    url: Annotated[str, typer.Argument(help="the receiver's https:// URL")],
    api_key: Annotated[str | None, typer.Option(
        "--api-key", help="a registry's API key id: the receiver gets revocations and corrections of the "
                          "certificates that key subscribed to (else: every event of this office)")] = None,
    personal_data: Annotated[bool, typer.Option(
        "--personal-data", help="entitled to the holder's name and ID number (office receivers only)")] = False,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="only these event kinds (repeat): certificate.issued, certificate.corrected, "
                       "certificate.revoked, office.key_rotated")] = None,
    operator: OperatorOption = None,
) -> None:
    """Add a receiver; its signing secret (whsec_…) is printed once."""
    from feed.errors import FeedError
    from feed.receivers import add_receiver

    key_id = _uuid(api_key, "--api-key") if api_key else None
    key_expires = None
    rt = open_runtime_or_exit(chain=False)
    try:
        if key_id is not None:
            from sqlmodel import Session

            from verifier.models import ApiKey

            with Session(rt.engine) as s:
                key_row = s.get(ApiKey, key_id)
                if key_row is None or key_row.revoked_at is not None:
                    fail(EXIT_BAD_INPUT, f"--api-key: no registry API key {key_id} in use (see notary apikey list)")
                key_expires = key_row.expires_at
        receiver, secret = add_receiver(
            rt.engine, rt.feed_config.sealing_key, name=name, url=url, actor=operator_actor(operator),
            office_code=None if key_id else rt.office.code, api_key_id=key_id, personal_data=personal_data,
            kinds=kind, allow_insecure=rt.settings.feed_allow_insecure_receivers, expires_at=key_expires)
    except FeedError as exc:
        fail(EXIT_BAD_INPUT, exc.message)
    finally:
        rt.close()
    typer.echo(f"id:     {receiver.id}\nkinds:  {receiver.event_kinds}\npersonal data: "
               f"{'yes' if receiver.personal_data else 'no'}\nsecret: {secret}\n"
               "(the secret is shown once: the receiver checks each message's webhook-signature with it)")


@feed_app.command("list")
def feed_list(as_json: JsonOption = False) -> None:
    """Receivers with their deliveries pending, delivered and dead (never the secret)."""
    from feed.deliveries import counts
    from feed.receivers import list_receivers

    rt = open_runtime_or_exit(chain=False)
    try:
        rows, counted = list_receivers(rt.engine), counts(rt.engine)
    finally:
        rt.close()
    for r in rows:
        n = counted.get(r.id, {})
        fields = {"id": str(r.id), "name": r.name, "kind": r.kind, "office": r.office_code,
                  "api_key": str(r.api_key_id) if r.api_key_id else None, "url": r.url,
                  "personal_data": r.personal_data, "kinds": r.event_kinds,
                  "state": "disabled" if r.disabled_at else "active", "pending": n.get("pending", 0),
                  "delivered": n.get("delivered", 0), "dead": n.get("dead", 0)}
        if as_json:
            typer.echo(json.dumps(fields, ensure_ascii=False))
        else:
            typer.echo(f"{r.id}  {r.name}  {fields['state']}  {r.url}  pending {fields['pending']}  "
                       f"delivered {fields['delivered']}  dead {fields['dead']}")


def _change(receiver: str, operator: str | None, change: str) -> None:
    from feed.errors import FeedError
    from feed.receivers import disable_receiver, enable_receiver, rotate_secret

    receiver_id = _uuid(receiver, "receiver")
    rt = open_runtime_or_exit(chain=False)
    try:
        actor = operator_actor(operator)
        if change == "disable":
            disable_receiver(rt.engine, receiver_id, actor)
            typer.echo(f"disabled {receiver_id}: nothing more is posted to it, and its download links stop working")
        elif change == "enable":
            enable_receiver(rt.engine, receiver_id, actor)
            typer.echo(f"enabled {receiver_id}")
        else:
            secret = rotate_secret(rt.engine, rt.feed_config.sealing_key, receiver_id, actor)
            typer.echo(f"secret: {secret}\n(shown once; messages carry signatures with the old and the new "
                       "secret for 24 hours, then with the new one only)")
    except FeedError as exc:
        fail(EXIT_BAD_INPUT, exc.message)
    finally:
        rt.close()


@feed_app.command("disable")
def feed_disable(receiver: Annotated[str, typer.Argument(help="receiver id")], operator: OperatorOption = None) -> None:
    """Stop posting to a receiver."""
    _change(receiver, operator, "disable")


@feed_app.command("enable")
def feed_enable(receiver: Annotated[str, typer.Argument(help="receiver id")], operator: OperatorOption = None) -> None:
    """Post to a disabled receiver again (what waited for it goes out in order)."""
    _change(receiver, operator, "enable")


@feed_app.command("rotate-secret")
def feed_rotate(receiver: Annotated[str, typer.Argument(help="receiver id")], operator: OperatorOption = None) -> None:
    """A new signing secret for a receiver; the old one keeps signing beside it for a day."""
    _change(receiver, operator, "rotate")


@feed_app.command("deliveries")
def feed_deliveries(
    receiver: Annotated[str | None, typer.Option(help="only this receiver's")] = None,
    state: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The newest deliveries, with their attempts and the receiver's last answer."""
    from feed.deliveries import list_deliveries
    from feed.models import DeliveryState

    if state is not None and state not in {s.value for s in DeliveryState}:
        fail(EXIT_BAD_INPUT, "--state must be pending, delivered or dead")
    receiver_id = _uuid(receiver, "--receiver") if receiver else None
    rt = open_runtime_or_exit(chain=False)
    try:
        rows = list_deliveries(rt.engine, receiver_id=receiver_id, state=state, limit=limit)
    finally:
        rt.close()
    for d in rows:
        if as_json:
            typer.echo(json.dumps({"id": d.id, "event_id": str(d.event_id), "kind": d.kind,
                                   "certificate_id": str(d.certificate_id) if d.certificate_id else None,
                                   "receiver": d.receiver_name, "state": d.state, "attempts": d.attempts,
                                   "last_status": d.last_status, "last_error": d.last_error,
                                   "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None},
                                  ensure_ascii=False))
        else:
            typer.echo(f"{d.id}  {d.kind}  {d.state}  {d.receiver_name}  attempts {d.attempts}  "
                       f"{d.last_error or ''}  {when(d.delivered_at)}  event {d.event_id}")


@feed_app.command("replay")
def feed_replay(
    ref: Annotated[str | None, typer.Argument(help="an event id (msg_… or uuid) or a delivery number")] = None,
    receiver: Annotated[str | None, typer.Option(help="only to this receiver")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="every dead delivery of --receiver")] = False,
    operator: OperatorOption = None,
) -> None:
    """Post deliveries again, with their original webhook-id and in their original order."""
    from feed.deliveries import replay
    from feed.errors import FeedError

    receiver_id = _uuid(receiver, "--receiver") if receiver else None
    delivery_id = event_id = None
    if dead:
        if receiver_id is None or ref is not None:
            fail(EXIT_BAD_INPUT, "--dead replays the dead deliveries of one --receiver; give no event id with it")
    elif ref is None:
        fail(EXIT_BAD_INPUT, "name an event id or a delivery number (or --dead --receiver ID)")
    elif ref.isdigit() and len(ref) < 19:
        delivery_id = int(ref)
    else:
        event_id = _uuid(ref.removeprefix("msg_"), "event")
    rt = open_runtime_or_exit(chain=False)
    try:
        n = replay(rt.engine, operator_actor(operator), delivery_id=delivery_id, event_id=event_id,
                   receiver_id=receiver_id, dead_of_receiver=dead)
    except FeedError as exc:
        fail(EXIT_BAD_INPUT, exc.message)
    finally:
        rt.close()
    typer.echo(f"{n} deliver{'y' if n == 1 else 'ies'} back in line")
