"""The regulator's random inspection (双随机、一公开): draw, complete, show, list, finding,
verify-draw. verify-draw needs only the published file and a chain node."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from anchoring.errors import AnchoringError
from errors import NotaryError

from .console import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_UNAVAILABLE,
    OperatorOption,
    app,
    fail,
    open_runtime_or_exit,
    operator_actor,
)

inspect_app = typer.Typer(help="Random inspection (双随机、一公开): draws anyone can re-derive from the ledger.",
                          no_args_is_help=True)
app.add_typer(inspect_app, name="inspect")

WaitOption = Annotated[float, typer.Option(
    "--wait", min=0, max=3600, help="on a shared chain: seconds to wait for the block after the commitment")]
MAX_DRAW_FILE = 64 * 1024 * 1024


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(EXIT_BAD_INPUT, f"{option}: not a date (2026-01-31): {value!r}")


def _fail_with(exc: NotaryError) -> NoReturn:
    """The ledger away is 'unavailable'; every other refusal is bad input."""
    fail(EXIT_UNAVAILABLE if isinstance(exc, AnchoringError) else EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")


def _print_draw(draw) -> None:
    from console.inspection import selected

    typer.echo(f"draw:        {draw.id}\nstate:       {draw.state}")
    typer.echo(f"office:      {draw.office_code or 'all'}\nmatter:      {draw.matter or 'all'}")
    typer.echo(f"period:      {draw.period_from.isoformat()} to {draw.period_to.isoformat()}")
    typer.echo(f"population:  {draw.population_size} certificates (sha256 {draw.population_sha256})")
    typer.echo(f"commitment:  {draw.commitment}")
    block = f" (block {draw.commit_block})" if draw.commit_block is not None else " (not mined yet)"
    typer.echo(f"commit tx:   {draw.commit_tx}{block}")
    if draw.seed_block is None:
        typer.echo("seed block:  not on the ledger yet: `notary inspect complete` later")
        return
    typer.echo(f"seed block:  {draw.seed_block} {draw.seed_block_hash}")
    chosen = selected(draw)
    typer.echo(f"selected ({len(chosen)} of {draw.population_size}):")
    for i, number in enumerate(chosen, 1):
        typer.echo(f"  {i:>4}. {number}")


def _complete(rt, draw_id, actor: str, wait: float):
    """Complete the draw: on a development chain by mining the seed block, on a shared one
    by waiting up to ``wait`` seconds for it."""
    from console.inspection import complete_draw
    from console.models import DrawState

    from ..runtime import DEV_CHAIN_IDS

    mine = rt.node is not None or rt.registry.chain_id() in DEV_CHAIN_IDS
    deadline = time.monotonic() + wait
    while True:
        draw = complete_draw(rt.engine, rt.registry, rt.accounts.admin if rt.accounts else None, draw_id,
                             actor=actor, mine_if_needed=mine)
        if draw.state == DrawState.DRAWN or time.monotonic() >= deadline:
            return draw
        time.sleep(1.0)


@inspect_app.command("draw")
def inspect_draw(
    period_from: Annotated[str, typer.Option("--from", help="first issue date (UTC), e.g. 2026-01-01")],
    period_to: Annotated[str, typer.Option("--to", help="last issue date (UTC), at most 5 years after --from")],
    size: Annotated[int, typer.Option("--size", help="certificates to draw (1 to 1000)")],
    office: Annotated[str | None, typer.Option(help="office code (default: every office)")] = None,
    matter: Annotated[str | None, typer.Option(help="matter, see `notary matters` (default: every matter)")] = None,
    wait: WaitOption = 120.0,
    operator: OperatorOption = None,
) -> None:
    """Commit a draw on the ledger, then draw from the block after the commitment (the
    embedded development node mines that block at once). Prints the sample."""
    from console.inspection import commit_draw

    start, end = _date(period_from, "--from"), _date(period_to, "--to")
    actor = operator_actor(operator)
    rt = open_runtime_or_exit()
    try:
        if rt.registry is None or rt.accounts is None:
            fail(EXIT_UNAVAILABLE, "the ledger is not configured")
        try:
            draw = commit_draw(rt.engine, rt.registry, rt.accounts.admin, office=office, matter=matter,
                               period_from=start, period_to=end, sample_size=size, actor=actor)
            draw = _complete(rt, draw.id, actor, wait)
        except NotaryError as exc:
            _fail_with(exc)
    finally:
        rt.close()
    _print_draw(draw)


@inspect_app.command("complete")
def inspect_complete(draw_id: Annotated[str, typer.Argument(help="the draw's id")], wait: WaitOption = 120.0,
                     operator: OperatorOption = None) -> None:
    """Draw the sample of a committed draw once the block after its commitment is there."""
    actor = operator_actor(operator)
    rt = open_runtime_or_exit()
    try:
        if rt.registry is None:
            fail(EXIT_UNAVAILABLE, "the ledger is not configured")
        try:
            draw = _complete(rt, draw_id, actor, wait)
        except NotaryError as exc:
            _fail_with(exc)
    finally:
        rt.close()
    _print_draw(draw)


@inspect_app.command("show")
def inspect_show(
    draw_id: Annotated[str, typer.Argument(help="the draw's id")],
    json_file: Annotated[Path | None, typer.Option(
        "--json", help="write the published draw (for `notary inspect verify-draw`) to this file; - for stdout")] = None,
) -> None:
    """A draw, and its findings; with --json the published draw anyone can re-derive."""
    from console.inspection import findings, get_draw, published_draw

    rt = open_runtime_or_exit(chain=False)
    try:
        try:
            draw = get_draw(rt.engine, draw_id)
            doc = published_draw(rt.engine, draw.id) if json_file is not None else None
            found = findings(rt.engine, draw.id)
        except NotaryError as exc:
            _fail_with(exc)
    finally:
        rt.close()
    if doc is not None and json_file is not None:
        text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
        if str(json_file) == "-":
            typer.echo(text, nl=False)
            return
        json_file.write_text(text, encoding="utf-8")
    _print_draw(draw)
    for f in found:
        typer.echo(f"finding:     {f.recorded_at:%Y-%m-%d %H:%M} {f.certificate_id} {f.outcome} by {f.recorded_by}"
                   + (f": {f.note!r}" if f.note else ""))


@inspect_app.command("list")
def inspect_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 50) -> None:
    """Draws, newest first (a draw never completed stays listed)."""
    from console.inspection import list_draws

    rt = open_runtime_or_exit(chain=False)
    try:
        draws = list_draws(rt.engine, limit)
    finally:
        rt.close()
    for d in draws:
        typer.echo(f"{d.id}  {d.created_at:%Y-%m-%d %H:%M}  {d.state:9}  {d.office_code or 'all':12}  "
                   f"{d.matter or 'all':18}  {d.period_from}..{d.period_to}  {d.sample_size}/{d.population_size}")
    if not draws:
        typer.echo("no inspection draws")


@inspect_app.command("finding")
def inspect_finding(
    draw_id: Annotated[str, typer.Argument(help="the draw's id")],
    certificate: Annotated[str, typer.Argument(help="a drawn certificate's number or id")],
    outcome: Annotated[str, typer.Option(help="conforming, defective or follow_up")],
    note: Annotated[str | None, typer.Option(help="at most 500 characters")] = None,
    operator: OperatorOption = None,
) -> None:
    """Record the finding on a drawn certificate (audited; the latest one counts)."""
    from console.inspection import record_finding

    actor = operator_actor(operator)
    rt = open_runtime_or_exit(chain=False)
    try:
        try:
            finding = record_finding(rt.engine, draw_id, certificate, outcome, note, actor)
        except NotaryError as exc:
            _fail_with(exc)
    finally:
        rt.close()
    typer.echo(f"recorded {finding.outcome} for certificate {finding.certificate_id}")


@inspect_app.command("verify-draw")
def inspect_verify_draw(
    file: Annotated[Path, typer.Argument(help="a published draw (`notary inspect show ID --json FILE`)")],
    rpc_url: Annotated[str | None, typer.Option(
        "--rpc-url", envvar="NOTARY_RPC_URL", show_envvar=True,
        help="a node of the draw's chain (default: this data directory's embedded node)")] = None,
) -> None:
    """Re-derive a published draw against the ledger, with only the file and a chain node:
    exit 0 re-derived, 1 not (each problem listed), 3 not a published draw, 4 the draw's
    ledger cannot be reached at the node."""
    from anchoring.chain import RegistryClient, connect
    from console.draw_procedure import ledger_problems, local_problems, parse_published

    try:
        if file.stat().st_size > MAX_DRAW_FILE:
            fail(EXIT_BAD_INPUT, f"{file} is larger than a published draw can be")
        doc = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(EXIT_BAD_INPUT, f"cannot read {file}: {exc.strerror}")
    except (ValueError, UnicodeDecodeError):
        fail(EXIT_BAD_INPUT, f"{file} is not JSON")
    try:
        draw = parse_published(doc)
    except NotaryError as exc:
        _fail_with(exc)
    node = None
    if rpc_url is None:
        node, rpc_url = _embedded_node()
    try:
        registry = RegistryClient(connect(rpc_url), draw.registry)
        chain_id = registry.chain_id()
        if chain_id != draw.chain_id:
            fail(EXIT_UNAVAILABLE, f"the node at {rpc_url} is on chain {chain_id}; the draw was made on chain "
                                   f"{draw.chain_id}: give a node of that chain (--rpc-url)")
        problems = local_problems(draw) + ledger_problems(draw, registry)
    except AnchoringError as exc:
        fail(EXIT_UNAVAILABLE, f"the chain node at {rpc_url} cannot be asked: {exc.message} [{exc.code}]")
    finally:
        if node is not None:
            node.stop()
    if problems:
        typer.echo(f"FAILED: the draw {doc.get('draw_id', '')} does not re-derive")
        for p in problems:
            typer.echo(f"  - {p}")
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"re-derived: {len(draw.selected)} of {len(draw.population)} certificates, selected by block "
               f"{draw.seed_block} ({draw.seed_block_hash}), the block after the commitment in block "
               f"{draw.commit_block} from the registry administrator")


def _embedded_node():
    """This data directory's embedded chain node (started if need be), when it has one."""
    from anchoring.errors import AnchoringError as NodeError
    from anchoring.node import EmbeddedNode

    from ..settings import Settings

    chain_dir = Settings().data_path / "chain"
    if not (chain_dir / "anvil-state.json").exists() and not (chain_dir / "node.json").exists():
        fail(EXIT_BAD_INPUT, "give a node of the draw's chain: --rpc-url URL (or NOTARY_RPC_URL)")
    node = EmbeddedNode(chain_dir)
    try:
        return node, node.ensure()
    except NodeError as exc:
        fail(EXIT_UNAVAILABLE, f"{exc.message} [{exc.code}]")
