"""Evidence preservation at the office (电子证据保全): receive a file or its fingerprint for a
walk-in client, list what is held, release a file on a recorded order, delete files whose
retention ended. Exit codes: 0 done, 3 bad input (or no such evidence, or its file not
held), 4 unavailable (database, chain, time-stamping authority, signing key)."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from errors import NotaryError
from records.errors import InvalidMatterData

from .console import (
    EXIT_BAD_INPUT,
    EXIT_UNAVAILABLE,
    JsonOption,
    OperatorOption,
    anchor_now,
    app,
    fail,
    fail_fields,
    open_runtime_or_exit,
    operator_name,
    when,
)

preservation_app = typer.Typer(help="Evidence preservation (电子证据保全): receive, list, release on order, purge.",
                               no_args_is_help=True)
app.add_typer(preservation_app, name="preservation")


def _fail_error(exc: NotaryError) -> NoReturn:
    """A refusal as one line: field errors listed; the office's side (5xx) is 'unavailable'."""
    if isinstance(exc, InvalidMatterData):
        fail_fields(exc, exc.message)
    fields = getattr(exc, "errors", None)
    if isinstance(fields, list):
        for e in fields:
            typer.secho(f"  {e['field']}: {e['message']} ({e['rule']})", err=True)
    fail(EXIT_UNAVAILABLE if exc.http_status >= 500 else EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")


def _evidence_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(EXIT_BAD_INPUT, f"not an evidence id: {value[:80]!r} (see `notary preservation list`)")


def _read_limited(file: Path, limit: int) -> bytes:
    """The file's bytes, refused (exit 3) past the office's limit before it is read."""
    try:
        if file.stat().st_size > limit:
            fail(EXIT_BAD_INPUT, f"{file} is larger than the preservation limit ({limit:,} bytes); "
                                 "preserve its --sha256 instead")
        return file.read_bytes()
    except OSError as exc:
        fail(EXIT_BAD_INPUT, f"cannot read {file}: {exc.strerror or exc}")


@preservation_app.command("submit")
def submit_command(
    file: Annotated[Path | None, typer.Argument(help="the file to preserve; or give --sha256 only")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="the file's SHA-256 (hex), when the file stays "
                                               "with its holder")] = None,
    size: Annotated[int | None, typer.Option(help="with --sha256: the file's size in bytes, as declared")] = None,
    name: Annotated[str, typer.Option("--name", help="the person submitting (申请人)")] = "",
    sex: Annotated[str, typer.Option(help="男 or 女")] = "",
    birth_date: Annotated[str, typer.Option(help="YYYY-MM-DD")] = "",
    id_number: Annotated[str, typer.Option(help="公民身份号码 (18 characters)")] = "",
    description: Annotated[str, typer.Option(help="what the file is (at most 500 characters)")] = "",
    description_en: Annotated[str | None, typer.Option(help="the description in English (with --bilingual)")] = None,
    on_behalf_of: Annotated[str | None, typer.Option(help="the company or person the submitter acts for")] = None,
    file_name: Annotated[str | None, typer.Option(help="the file's name as recorded (default: FILE's name)")] = None,
    notary: Annotated[str | None, typer.Option(help="the notary named (default: NOTARY_PRESERVATION_NOTARY)")] = None,
    bilingual: Annotated[bool, typer.Option(help="add the English translation page")] = False,
    out: Annotated[Path | None, typer.Option(help="write the preservation certificate (PDF) here")] = None,
    wait: Annotated[bool, typer.Option(help="anchor now and wait for the ledger")] = True,
    operator: OperatorOption = None,
) -> None:
    """Receive a file (or its SHA-256) for a walk-in client and issue the preservation
    certificate; prints the evidence id, the certificate's number, verify URL and access code."""
    from preservation.submission import Submission, operator_principal, submit

    who = operator_name(operator)
    if (file is None) == (sha256 is None):
        fail(EXIT_BAD_INPUT, "give the FILE to preserve, or --sha256 HEX (not both)")
    if file is not None and not file.is_file():
        fail(EXIT_BAD_INPUT, f"not a file: {file}")
    rt = open_runtime_or_exit()
    try:
        content = _read_limited(file, rt.settings.preservation_max_bytes) if file is not None else None
        submission = Submission(
            applicant_name=name or None, sex=sex or None, birth_date=birth_date or None, id_number=id_number or None,
            description=description or None, description_en=description_en, on_behalf_of=on_behalf_of,
            content=content, sha256=sha256, size=size,
            file_name=file_name or (file.name if file is not None else None),
            language="zh-en" if bilingual else "zh")
        ctx = rt.preservation_context(rt.issuer_context())
        try:
            done = submit(ctx, operator_principal(who, rt.office.code), submission, notary=notary,
                          actor=f"operator:{who}")
        except NotaryError as exc:
            _fail_error(exc)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(done.certificate.pdf)
        typer.echo(f"evidence:   {done.evidence_id}")
        typer.echo(f"sha256:     {done.sha256}")
        typer.echo(f"timestamp:  {done.timestamp_time.isoformat()}")
        typer.echo(f"file kept:  {'yes, until ' + done.retention_until.isoformat() if done.file_kept else 'no (fingerprint only)'}")
        typer.echo(f"number:     {done.certificate.number}")
        typer.echo(f"verify URL: {done.certificate.verify_url}")
        typer.echo(f"access:     {done.certificate.access_code}  (give to the submitter; shows the full record)")
        if out is not None:
            typer.echo(f"pdf:        {out}")
        if wait:
            deferred = anchor_now(rt)
            typer.echo(f"anchored:   not yet ({deferred}); the worker will retry" if deferred else "anchored:   yes")
    finally:
        rt.close()


@preservation_app.command("list")
def list_command(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
                 offset: Annotated[int, typer.Option(min=0)] = 0, as_json: JsonOption = False) -> None:
    """The office's preserved evidence, newest first: id, received, fingerprint, size, whether
    the file is held, the certificate's number, the submitter."""
    from preservation.reads import list_office

    rt = open_runtime_or_exit(chain=False)
    try:
        views, total = list_office(rt.engine, rt.office.code, limit, offset)
    finally:
        rt.close()
    for v in views:
        e, cert = v.evidence, v.certificate
        held = "held" if v.file_held else ("purged" if e.purged_at else "fingerprint only")
        row = {"id": str(e.id), "received_at": e.received_at.isoformat(), "sha256": e.sha256, "size": e.size,
               "file": held, "retention_until": e.retention_until.isoformat(),
               "certificate": cert.number if cert else None, "submitter": e.submitter_name}
        if as_json:
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            typer.echo(f"{e.id}  {when(e.received_at)}  {e.sha256[:16]}…  {e.size if e.size is not None else '-':>10}  "
                       f"{held:16}  {row['certificate'] or '-'}  {e.submitter_name}")
    if not as_json:
        typer.echo(f"{len(views)} of {total}")


@preservation_app.command("release")
def release_command(
    evidence: Annotated[str, typer.Argument(metavar="ID", help="the evidence id (see `notary preservation list`)")],
    order: Annotated[str, typer.Option(help="the order that asks for the file: its number and who made it")],
    out: Annotated[Path, typer.Option(help="where to write the file (must not exist)")],
    operator: OperatorOption = None,
) -> None:
    """Release a held file on a recorded order (a court's, an arbitration body's): the order is
    in the audit log before the file is written."""
    from preservation.custody import release_on_order

    who = operator_name(operator)
    evidence_id = _evidence_id(evidence)
    if out.exists():
        fail(EXIT_BAD_INPUT, f"{out} exists; choose a new file name")
    rt = open_runtime_or_exit(chain=False)
    try:
        ctx = rt.preservation_context(rt.issuer_context())
        try:
            row, content = release_on_order(ctx, evidence_id, order, f"operator:{who}")
        except NotaryError as exc:
            _fail_error(exc)
    finally:
        rt.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    # Evidence is personal data: readable by the operator only.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    typer.echo(f"released {row.id} ({len(content):,} bytes, sha256 {row.sha256}) to {out}")


@preservation_app.command("purge")
def purge_command(
    today: Annotated[str | None, typer.Option(help="the day to count from (YYYY-MM-DD; default today)")] = None,
    operator: OperatorOption = None,
) -> None:
    """Delete held files whose retention period has ended (kept through its last day); their
    fingerprints, timestamps and certificates remain. Each deletion is in the audit log."""
    from preservation.custody import purge_expired

    who = operator_name(operator)
    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        fail(EXIT_BAD_INPUT, f"--today: not a date (YYYY-MM-DD): {today!r}")
    rt = open_runtime_or_exit(chain=False)
    try:
        purged = purge_expired(rt.engine, rt.office.code, day, f"operator:{who}")
    finally:
        rt.close()
    typer.echo(f"purged {len(purged)} file(s) whose retention ended before {day.isoformat()}")
    for evidence_id in purged:
        typer.echo(f"  {evidence_id}")
