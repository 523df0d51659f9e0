"""Long-running commands: serve, worker, demo."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from records.models import Owner

from anchoring.errors import AnchoringError, MirrorRaced
from observability.logs import configure_logs
from processes.background import stopped_after

from .console import EXIT_UNAVAILABLE, anchor_now, app, exit_on_sigterm, fail, open_runtime_or_exit, operator_name

if TYPE_CHECKING:  # the runtime imports web3 and more: only when a command needs it
    from ..runtime import Runtime


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default NOTARY_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default NOTARY_PORT")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="API processes (default NOTARY_WORKERS, 1); "
                                                "a supervisor restarts any that dies")] = None,
) -> None:
    """Run the API (and, unless NOTARY_WORKER_ENABLED / NOTARY_FOLLOWER_ENABLED=false, the
    anchoring worker and the ledger follower)."""
    from observability.multiprocess import enable_multiprocess

    from ..settings import Settings

    settings = Settings()
    count = workers or settings.workers
    if count > 1:  # before anything imports the metrics: every API process adds to one set
        enable_multiprocess(settings.data_path / "metrics")
    configure_logs(settings.log_format)
    rt = open_runtime_or_exit()
    if count > 1:
        _serve_supervised(rt, host, port, count)
    else:
        _serve(rt, host, port)


@app.command()
def worker() -> None:
    """Run the anchoring worker (and, unless NOTARY_FEED_ENABLED=false, the feed's deliveries)
    alone, for deployments with separate worker processes."""
    import threading

    from ..settings import Settings

    settings = Settings()
    configure_logs(settings.log_format)
    rt = open_runtime_or_exit()
    stop = threading.Event()
    exit_on_sigterm()
    try:
        with node_kept_alive(rt), stopped_after(rt.start_feed_thread() if settings.feed_enabled else None):
            rt.worker().run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        rt.close()


@app.command()
def follower(
    once: Annotated[bool, typer.Option("--once", help="catch up with the ledger, then stop")] = False,
) -> None:
    """Mirror the registry's events into the database (the ledger mirror), block by block."""
    from ..settings import Settings

    configure_logs(Settings().log_format)
    rt = open_runtime_or_exit()
    stop = threading.Event()
    exit_on_sigterm()
    try:
        mirror = rt.follower()
        if once:
            while True:
                try:
                    if (position := mirror.step()).behind == 0:
                        break
                except MirrorRaced:
                    continue  # a server stepped the mirror at the same moment: go on from there
            typer.echo(f"ledger mirror at block {position.block_number} ({position.block_hash[:16]}…), up to date")
            return
        with node_kept_alive(rt):
            mirror.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    except AnchoringError as exc:
        fail(EXIT_UNAVAILABLE, f"{exc.message} [{exc.code}]")
    finally:
        rt.close()


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="default NOTARY_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default NOTARY_PORT")] = None,
) -> None:
    """Set up on the embedded defaults, issue one demo certificate, and serve the API."""
    from issuer.service import issue_certificate
    from records.matters import EXAMPLES

    rt = open_runtime_or_exit()
    who = operator_name(None)  # NOTARY_OPERATOR, else the OS user: the audit log names a person
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"], actor=f"operator:{who}", issued_by=Owner(who))
    path = rt.settings.data_path / "demo" / f"{issued.id}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(issued.pdf)
    if deferred := anchor_now(rt):
        typer.echo(f"(anchoring deferred: {deferred})")
    typer.secho("\nDemo certificate issued and anchored.", fg=typer.colors.GREEN, bold=True)
    typer.echo(f"  number:     {issued.number}")
    typer.echo(f"  PDF:        {path}")
    typer.echo(f"  verify URL: {issued.verify_url}")
    typer.echo(f"  access:     {issued.access_code}  (enter it on the verify page to see the full record)")
    typer.echo(f"  check it:   .venv/bin/notary verify {path}\n")
    _demo_preservation(rt, who)
    _demo_staff(rt, who)
    _serve(rt, host, port)


def _demo_preservation(rt, who: str) -> None:
    """A preserved demo file and its preservation certificate: the file, and a copy changed by
    one character, to try on the public check page."""
    from preservation.submission import Submission, operator_principal, submit
    from records.matters import EXAMPLES

    folder = rt.settings.data_path / "demo"
    original, changed = folder / "evidence.txt", folder / "evidence-changed.txt"
    text = "2026年11月20日聊天记录：对方确认于12月1日前交付货物。\n"
    original.write_text(text, encoding="utf-8")
    changed.write_text(text.replace("12月1日", "12月9日"), encoding="utf-8")
    person = {k: EXAMPLES["evidence-preservation"][k] for k in ("applicant_name", "sex", "birth_date", "id_number")}
    done = submit(rt.preservation_context(rt.issuer_context()), operator_principal(who, rt.office.code),
                  Submission(**person, description="微信聊天记录（演示）", content=original.read_bytes(),
                             file_name=original.name),
                  notary=EXAMPLES["evidence-preservation"]["notary"], actor=f"operator:{who}")
    anchor_now(rt)
    check = done.certificate.verify_url.replace("?", "/evidence?", 1)
    typer.secho("Demo evidence preserved (电子证据保全).", fg=typer.colors.GREEN, bold=True)
    typer.echo(f"  number:     {done.certificate.number}")
    typer.echo(f"  check page: {check}")
    typer.echo(f"  try:        {original} (matches) and {changed} (does not)\n")


def _demo_staff(rt, who: str) -> None:
    """The demo's console accounts: a notary, an office administrator and a regulator, each
    with a new password on every run and the same authenticator secret (add it to an
    authenticator app once, or take the code printed by `notary user code`)."""
    import secrets

    from console import accounts, totp
    from console.errors import AccountNotFound
    from issuer.auth import Role

    people = [("demo-notary", "王芳", Role.NOTARY), ("demo-admin", "李明", Role.OFFICE_ADMIN),
              ("demo-regulator", "赵强", Role.REGISTRY_ADMIN)]
    typer.secho("Staff console: " + rt.settings.public_base_url.rstrip("/") + "/console/signin", fg=typer.colors.GREEN,
                bold=True)
    for username, name, role in people:
        password = "demo-" + secrets.token_urlsafe(9)
        try:
            accounts.find_user(rt.engine, username)
            made = accounts.reset_user(rt.engine, rt.totp_sealing_key, username, actor=f"operator:{who}",
                                       new_totp=False, password=password)
        except AccountNotFound:
            made = accounts.create_user(rt.engine, rt.totp_sealing_key, username, name, role, rt.office.code,
                                        actor=f"operator:{who}", password=password)
        typer.echo(f"  {role.value:15} user {username}  password {made.password}  TOTP secret {made.totp_secret}"
                   f"  (code now: {totp.code_now(made.totp_secret)})")
    typer.echo("  A code for any moment: .venv/bin/notary user code USER\n")


def _uvicorn_logs(settings) -> dict:
    """uvicorn's own logging set-up would replace the JSON lines with its text format."""
    return {"log_config": None} if settings.log_format == "json" else {}


@contextmanager
def node_kept_alive(rt: Runtime) -> Iterator[None]:
    """While the block runs, the embedded chain node (if this runtime uses one) is started
    again whenever it dies; the watch ends before the runtime closes, so a clean stop is
    never taken for a crash."""
    with stopped_after(rt.node.start_keep_alive() if rt.node is not None else None, join_seconds=10):
        yield


def _serve(rt, host: str | None, port: int | None) -> None:
    import uvicorn

    from ..app import create_app

    s = rt.settings
    app_ = create_app(rt, run_worker=s.worker_enabled, run_follower=s.follower_enabled, run_feed=s.feed_enabled)
    if rt.signing_pool is not None:
        # Start the signing processes now, not on the first issue request (~2 s to import).
        threading.Thread(target=rt.signing_pool.warm_up, name="signing-warm-up", daemon=True).start()
    # The access log is off unless asked for: a line per request cost a third of the
    # throughput of a cached lookup (a reverse proxy in front usually keeps one anyway).
    config = uvicorn.Config(app_, host=host or s.host, port=port or s.port, loop="uvloop", http="httptools",
                            log_level="info", access_log=s.access_log, proxy_headers=False,
                            **_uvicorn_logs(s))
    exit_on_sigterm()
    try:
        with node_kept_alive(rt):
            uvicorn.Server(config).run()
    finally:
        rt.close()


def _serve_supervised(rt, host: str | None, port: int | None, workers: int) -> None:
    """``workers`` API processes under uvicorn's process manager, which restarts one that
    dies; this process (the supervisor) runs the anchoring worker and the ledger follower. The runtime opened here
    has already migrated the database and deployed the contract, so the API processes
    (notary.asgi) start without racing each other."""
    import uvicorn

    s = rt.settings
    try:
        follow = s.follower_enabled and rt.registry is not None
        with stopped_after(rt.start_worker_thread() if s.worker_enabled else None), \
                stopped_after(rt.start_follower_thread() if follow else None), \
                stopped_after(rt.start_feed_thread() if s.feed_enabled else None), node_kept_alive(rt):
            uvicorn.run("notary.asgi:create", factory=True, workers=workers, host=host or s.host, port=port or s.port,
                        loop="uvloop", http="httptools", log_level="info", access_log=s.access_log,
                        proxy_headers=False, **_uvicorn_logs(s))
    finally:
        rt.close()
