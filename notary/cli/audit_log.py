"""The audit log: check its chain against the ledger; list and filter its entries."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from .console import EXIT_BAD_INPUT, EXIT_FAILED, JsonOption, app, fail, open_runtime_or_exit

audit_app = typer.Typer(help="The hash-chained audit log: `notary audit` checks it, `notary audit list` shows it.",
                        invoke_without_command=True)
app.add_typer(audit_app, name="audit")


@audit_app.callback()
def audit_default(context: typer.Context) -> None:
    """With no subcommand: check the log (as `notary audit check`)."""
    if context.invoked_subcommand is None:
        audit_check()


@audit_app.command("check")
def audit_check() -> None:
    """Check the audit log's hash chain, and its heads against the ledger."""
    from records.audit import check_anchored_heads, verify_chain

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


def _moment(value: str | None, option: str) -> dt.datetime | None:
    """A date (midnight UTC) or an ISO date-time (UTC unless it says otherwise)."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(EXIT_BAD_INPUT, f"{option}: not a date (2026-11-25) or date-time (2026-11-25T09:30): {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


@audit_app.command("list")
def audit_list(
    office: Annotated[str | None, typer.Option(help="office code, e.g. SH-DONGFANG")] = None,
    actor: Annotated[str | None, typer.Option(help="who: a name (王丽) or a full actor (notary:王丽)")] = None,
    action: Annotated[str | None, typer.Option(help="an action (revoke) or a family (token, certificate, key)")] = None,
    since: Annotated[str | None, typer.Option(help="from this date or date-time on (UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="before this date or date-time (UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="entries at most")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List audit entries, newest first, filtered by office, actor, action and period."""
    from records.audit import list_events

    start, end = _moment(since, "--since"), _moment(until, "--until")
    rt = open_runtime_or_exit(chain=False)
    try:
        events = list_events(rt.engine, office=office, actor=actor, action=action, since=start, until=end, limit=limit)
    finally:
        rt.close()
    for e in events:
        at = e.at  # aware, in UTC, as every stored time comes back
        if as_json:
            typer.echo(json.dumps({"seq": e.seq, "at": at.isoformat(), "office": e.office_code, "actor": e.actor,
                                   "action": e.action, "target": e.target, "details": json.loads(e.details)},
                                  ensure_ascii=False))
        else:
            details = json.loads(e.details)
            brief = " ".join(f"{k}={v}" for k, v in details.items() if k != "ids" and v not in (None, ""))
            if "ids" in details:
                brief += f" ({len(details['ids'])} certificates)"
            typer.echo(f"{e.seq:>7}  {at:%Y-%m-%d %H:%M:%S}  {e.office_code or '-':12}  {e.actor:24}  "
                       f"{e.action:18}  {e.target}  {brief}".rstrip())
    if not events and not as_json:
        typer.echo("no audit entries match")
