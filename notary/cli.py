"""The ``notary`` command line (Typer). Uses the same data directory and chain as the server."""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import Annotated

import typer

from anchoring.errors import AnchoringError
from issuer.errors import InvalidMatterData, IssuerError
from keys.errors import KeyStoreError
from verifier.errors import VerifierError

app = typer.Typer(help="Electronic notarial certificates: issue, anchor and verify.", no_args_is_help=True,
                  pretty_exceptions_enable=False)

EXIT_PASSED, EXIT_FAILED, EXIT_INDETERMINATE = 0, 1, 2
EXIT_BAD_INPUT = 3  # the file or data given cannot be used
EXIT_UNAVAILABLE = 4  # keys, database or chain cannot be opened
BULK_CHUNK = 64  # rows numbered, signed and committed together by issue-bulk


def _fail(code: int, message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _fail_fields(exc: InvalidMatterData, summary: str) -> None:
    """Name every field and the rule it broke, then exit with the bad-input code."""
    for e in exc.errors:
        typer.secho(f"  {e['field']}: {e['message']} ({e['rule']})", err=True)
    _fail(EXIT_BAD_INPUT, f"{summary} [{exc.code}]")


def _exit_on_sigterm() -> None:
    """Make SIGTERM a normal exit, so ``finally`` blocks stop the embedded chain node (which
    dumps its state). uvicorn re-raises SIGTERM after its graceful shutdown, and the default
    handler would kill the process before that."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _runtime(chain: bool = True):
    from .runtime import open_runtime

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return open_runtime(chain=chain)
    except (AnchoringError, KeyStoreError) as exc:
        _fail(EXIT_UNAVAILABLE, f"{exc.message} [{exc.code}]")


@app.command()
def matters(example: Annotated[str | None, typer.Option("--example", help="print example input JSON for MATTER")] = None) -> None:
    """List matter types, or print example input for one."""
    from issuer.matters import EXAMPLES, MATTERS, matter_type

    if example:
        try:
            matter_type(example)
        except IssuerError as exc:
            _fail(EXIT_BAD_INPUT, exc.message)
        typer.echo(json.dumps(EXAMPLES[example], ensure_ascii=False, indent=2))
        return
    for key, model in MATTERS.items():
        typer.echo(f"{key:22} {model.title_zh}  ({model.title_en})")


@app.command()
def issue(
    matter: Annotated[str, typer.Option(help="matter type, see `notary matters`")],
    data: Annotated[Path, typer.Option(help="input JSON file", exists=False)],
    out: Annotated[Path, typer.Option(help="where to write the signed PDF")],
    wait: Annotated[bool, typer.Option(help="anchor now and wait for the ledger")] = True,
    bilingual: Annotated[bool, typer.Option(help="add the English translation page (for use abroad)")] = False,
    level: Annotated[str | None, typer.Option(help="PAdES level above the default: B-LT or B-LTA")] = None,
) -> None:
    """Issue a certificate; prints its id, number and verify URL."""
    from issuer.service import issue_certificate

    try:
        if data.stat().st_size > 1024 * 1024:
            _fail(EXIT_BAD_INPUT, f"{data} is larger than 1 MB")
        payload = json.loads(data.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail(EXIT_BAD_INPUT, f"input file not found: {data}")
    except (ValueError, UnicodeDecodeError) as exc:
        _fail(EXIT_BAD_INPUT, f"{data} is not valid JSON: {exc}")
    rt = _runtime()
    try:
        try:
            issued = issue_certificate(rt.issuer_context(), matter, payload, language="zh-en" if bilingual else "zh",
                                      level=level)
        except InvalidMatterData as exc:
            _fail_fields(exc, f"invalid input for {matter}")
        except IssuerError as exc:
            _fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(issued.pdf)
        typer.echo(f"id:         {issued.id}")
        typer.echo(f"number:     {issued.number}")
        typer.echo(f"verify URL: {issued.verify_url}")
        typer.echo(f"access:     {issued.access_code}  (give to the holder; shows the full record)")
        typer.echo(f"pdf:        {out}")
        if wait:
            try:
                rt.worker().run_once(force=True)
                typer.echo("anchored:   yes")
            except AnchoringError as exc:
                typer.echo(f"anchored:   not yet ({exc.code}); the worker will retry")
    finally:
        rt.close()


BULK_MAX_BYTES = 50 * 1024 * 1024
BULK_MAX_ROWS = 100_000


def _bulk_rows(path: Path):
    """Rows of a JSON Lines or CSV file as dicts (CSV: flat fields only; lists need JSON Lines)."""
    import csv

    if path.stat().st_size > BULK_MAX_BYTES:
        _fail(EXIT_BAD_INPUT, f"{path} is larger than {BULK_MAX_BYTES // (1024 * 1024)} MB")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        rows = [{k: v for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(text.splitlines())]
    else:
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    rows.append({"__error__": f"line {n} is not JSON: {exc}"})
    if len(rows) > BULK_MAX_ROWS:
        _fail(EXIT_BAD_INPUT, f"{path} has more than {BULK_MAX_ROWS:,} rows")
    return rows


@app.command("issue-bulk")
def issue_bulk(
    matter: Annotated[str, typer.Option(help="matter type of every row")],
    input: Annotated[Path, typer.Option("--input", help="JSON Lines (.jsonl) or CSV (.csv) file, one applicant a row")],
    out_dir: Annotated[Path, typer.Option(help="where the signed PDFs go")],
    errors: Annotated[Path | None, typer.Option(help="per-row errors (JSON Lines); default OUT_DIR/errors.jsonl")] = None,
    bilingual: Annotated[bool, typer.Option(help="add the English translation page")] = False,
    level: Annotated[str | None, typer.Option(help="PAdES level above the default: B-LT or B-LTA")] = None,
) -> None:
    """Issue many certificates from a file, with a progress bar, a summary and a file of
    per-row errors. Exit code 0 when every row was issued, 3 when some were not."""
    from rich.progress import Progress

    from issuer.matters import parse_matter
    from issuer.policy import apply_policies
    from issuer.service import IssueRequest, issue_batch

    if not input.exists():
        _fail(EXIT_BAD_INPUT, f"input file not found: {input}")
    rows = _bulk_rows(input)
    out_dir.mkdir(parents=True, exist_ok=True)
    errors = errors or out_dir / "errors.jsonl"
    language = "zh-en" if bilingual else "zh"
    rt = _runtime()
    issued, failed = 0, 0
    try:
        ctx = rt.issuer_context(pool=True)
        try:
            level = ctx.check_level(level)
        except IssuerError as exc:
            _fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
        with errors.open("w", encoding="utf-8") as err, open(out_dir / "issued.jsonl", "w", encoding="utf-8") as ok, \
                Progress() as progress:
            task = progress.add_task(f"issuing {matter}", total=len(rows))
            for chunk_start in range(0, len(rows), BULK_CHUNK):
                # Rows are checked one by one (a bad row goes to the errors file); the good
                # ones of a chunk are numbered, signed in parallel and committed together.
                valid: list[tuple[int, IssueRequest]] = []
                for n, row in enumerate(rows[chunk_start:chunk_start + BULK_CHUNK], chunk_start + 1):
                    try:
                        if "__error__" in row:
                            raise InvalidMatterData(row["__error__"], [{"field": "(row)", "rule": "json",
                                                                        "message": row["__error__"]}])
                        parsed = parse_matter(matter, row)
                        apply_policies(parsed, dt.date.today())
                        ctx.check_printable(parsed, language)  # a row the font cannot print goes to errors
                        valid.append((n, IssueRequest(matter, parsed, language, level)))
                    except IssuerError as exc:
                        failed += 1
                        err.write(json.dumps({"row": n, "code": exc.code, "message": exc.message,
                                              "fields": getattr(exc, "errors", [])}, ensure_ascii=False) + "\n")
                        progress.advance(task)
                if not valid:
                    continue
                try:
                    certs = issue_batch(ctx, [r for _, r in valid])
                except IssuerError as exc:
                    _fail(EXIT_UNAVAILABLE, f"issuing stopped at row {valid[0][0]}: {exc.message} [{exc.code}]; "
                                            f"{issued} certificates were issued before it")
                for (n, _), cert in zip(valid, certs):
                    (out_dir / f"{cert.id}.pdf").write_bytes(cert.pdf)
                    ok.write(json.dumps({"row": n, "id": str(cert.id), "number": cert.number,
                                         "verify_url": cert.verify_url, "access_code": cert.access_code},
                                        ensure_ascii=False) + "\n")
                    issued += 1
                    progress.advance(task)
        try:
            rt.worker().run_once(force=True)
        except AnchoringError as exc:
            typer.echo(f"anchoring deferred ({exc.code}); the worker will retry")
    finally:
        rt.close()
    typer.echo(f"issued {issued} of {len(rows)}; {failed} failed (see {errors}); list in {out_dir / 'issued.jsonl'}")
    raise typer.Exit(EXIT_PASSED if failed == 0 else EXIT_BAD_INPUT)


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="the PDF to verify")],
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    receipt: Annotated[Path | None, typer.Option(help="verify offline with this receipt: no database, no service")] = None,
    rpc: Annotated[list[str] | None, typer.Option(help="chain node URL for offline verification; repeat for a quorum")] = None,
    trust_bundle: Annotated[Path | None, typer.Option(
        help="trust bundle (GET /pki/trust-bundle.json, or `notary trust-bundle`): the ledger and notarial root "
             "to trust offline; the receipt's own ledger is never trusted")] = None,
    quorum: Annotated[int | None, typer.Option(help="nodes that must agree (default: a majority)")] = None,
) -> None:
    """Verify a PDF. Exit code 0 PASSED, 1 FAILED, 2 INDETERMINATE, 3 bad input, 4 unavailable."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(EXIT_BAD_INPUT, f"cannot read {file}: {exc.strerror}")
    if receipt is not None:
        report = _verify_offline(data, receipt, rpc or [], trust_bundle, quorum)
    else:
        from verifier.service import verify_pdf

        rt = _runtime()
        try:
            report = verify_pdf(rt.verifier_context(), data)
        except VerifierError as exc:
            _fail(EXIT_BAD_INPUT, f"{exc.message} / {exc.message_zh} [{exc.code}]")
        finally:
            rt.close()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        typer.echo(f"{report.indication.value}")
        if report.certificate:
            typer.echo(f"  certificate {report.certificate.number_masked} · {report.certificate.office}")
        for c in report.checks:
            typer.echo(f"  {c.name:20} {c.status.value:8} {c.code:26} {c.message_en}")
            for change in c.details.get("changes", []):
                typer.echo(f"      - {change['en']} / {change['zh']}")
    raise typer.Exit({"PASSED": EXIT_PASSED, "FAILED": EXIT_FAILED}.get(report.indication.value, EXIT_INDETERMINATE))


def _verify_offline(data: bytes, receipt_path: Path, rpc_urls: list[str], bundle_path: Path | None,
                    quorum: int | None):
    from pydantic import ValidationError

    from anchoring.receipt import AnchorReceipt
    from verifier.offline import verify_offline
    from verifier.trust_bundle import TrustBundle

    if not rpc_urls:
        _fail(EXIT_BAD_INPUT, "offline verification needs at least one --rpc URL")
    if bundle_path is None:
        _fail(EXIT_BAD_INPUT, "offline verification needs --trust-bundle (from GET /pki/trust-bundle.json or "
                              "`notary trust-bundle --out FILE`): the ledger to trust is never taken from the receipt")
    loaded = {}
    for name, path, model in (("receipt", receipt_path, AnchorReceipt), ("trust bundle", bundle_path, TrustBundle)):
        try:
            loaded[name] = model.model_validate_json(path.read_text(encoding="utf-8"))
        except OSError as exc:
            _fail(EXIT_BAD_INPUT, f"cannot read {path}: {exc.strerror}")
        except (ValidationError, UnicodeDecodeError) as exc:
            _fail(EXIT_BAD_INPUT, f"{path} is not a valid {name}: {str(exc).splitlines()[0]}")
    try:
        return verify_offline(data, loaded["receipt"], rpc_urls, loaded["trust bundle"], quorum=quorum)
    except VerifierError as exc:
        _fail(EXIT_BAD_INPUT, f"{exc.message} / {exc.message_zh} [{exc.code}]")
    except ValueError as exc:  # a quorum outside 1..distinct nodes
        _fail(EXIT_BAD_INPUT, str(exc))


@app.command("trust-bundle")
def trust_bundle(
    out: Annotated[Path | None, typer.Option(help="write the JSON bundle here")] = None,
    text: Annotated[bool, typer.Option("--text", help="print it for a court's file instead of JSON")] = False,
) -> None:
    """The trust bundle verifiers pin: chain id, registry, checkpoint block, notarial root."""
    rt = _runtime()
    try:
        bundle = rt.trust_bundle()
    finally:
        rt.close()
    if out is not None:
        out.write_text(bundle.to_json() + "\n", encoding="utf-8")
    typer.echo(bundle.as_text() if text or out is not None else bundle.to_json())


@app.command()
def receipt(
    certificate_id: Annotated[str, typer.Argument(help="certificate id (UUID)")],
    out: Annotated[Path | None, typer.Option(help="write here instead of standard output")] = None,
) -> None:
    """Print (or write) the anchor receipt of a certificate."""
    from sqlmodel import Session

    from anchoring.status import anchor_status

    try:
        cid = uuid.UUID(certificate_id)
    except ValueError:
        _fail(EXIT_BAD_INPUT, f"not a certificate id: {certificate_id}")
    rt = _runtime(chain=False)
    try:
        with Session(rt.engine) as s:
            st = anchor_status(s, cid)
    finally:
        rt.close()
    if st is None:
        _fail(EXIT_BAD_INPUT, "no certificate with this id")
    if st.receipt is None:
        _fail(EXIT_INDETERMINATE, "the certificate is not anchored yet")
    text = st.receipt.model_dump_json(indent=2)
    if out:
        out.write_text(text + "\n")
    else:
        typer.echo(text)


@app.command()
def revoke(
    certificate_id: Annotated[str, typer.Argument(help="certificate id (UUID)")],
    reason: Annotated[int, typer.Option(help="1 issued in error, 2 withdrawn, 3 obtained by deception, 4 court order, 9 other")],
    note: Annotated[str | None, typer.Option(help="a short note for the record (200 characters at most)")] = None,
) -> None:
    """Revoke (撤销) a certificate; the ledger records it once the certificate is anchored."""
    from issuer.errors import IssuerError
    from issuer.lifecycle import RevocationReason, revoke_certificate

    try:
        cid, why = uuid.UUID(certificate_id), RevocationReason(reason)
    except ValueError as exc:
        _fail(EXIT_BAD_INPUT, str(exc))
    if note is not None and len(note) > 200:
        _fail(EXIT_BAD_INPUT, "the note is longer than 200 characters")
    rt = _runtime()
    try:
        cert = revoke_certificate(rt.engine, cid, why, note, office_code=rt.office.code)
        rt.worker().run_once(force=True)
    except IssuerError as exc:
        _fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
    finally:
        rt.close()
    typer.echo(f"revoked {cert.number} ({why.name.lower()})")


@app.command()
def correct(
    certificate_id: Annotated[str, typer.Argument(help="certificate id (UUID) to correct")],
    data: Annotated[Path, typer.Option(help="the corrected input JSON")],
    out: Annotated[Path, typer.Option(help="where to write the new signed PDF")],
) -> None:
    """Correct (更正): issue a replacement certificate and supersede the old one."""
    from issuer.errors import IssuerError
    from issuer.lifecycle import correct_certificate

    try:
        cid = uuid.UUID(certificate_id)
        payload = json.loads(data.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        _fail(EXIT_BAD_INPUT, f"cannot use the input: {exc}")
    rt = _runtime()
    try:
        new = correct_certificate(rt.issuer_context(), cid, payload, office_code=rt.office.code)
        out.write_bytes(new.pdf)
        rt.worker().run_once(force=True)
    except InvalidMatterData as exc:
        _fail_fields(exc, "invalid corrected input")
    except IssuerError as exc:
        _fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
    finally:
        rt.close()
    typer.echo(f"id:         {new.id}\nnumber:     {new.number}\nverify URL: {new.verify_url}")
    typer.echo(f"access:     {new.access_code}\npdf:        {out}")


keys_app = typer.Typer(help="The office's signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """New signing key and certificate; registered on the ledger, the old one retired from
    now on. Certificates signed before keep verifying."""
    from .runtime import rotate_office_key

    rt = _runtime()
    try:
        old, new = rotate_office_key(rt)
    finally:
        rt.close()
    typer.echo(f"retired:    {old.hex()}\nregistered: {new.hex()}")


@keys_app.command("revoke-cert")
def keys_revoke_cert(
    yes: Annotated[bool, typer.Option("--yes", help="confirm: certificates signed with this key stop verifying")] = False,
) -> None:
    """Compromise: revoke the office's current signing certificate (CRL) and retire it on the
    ledger. Run `notary keys rotate` afterwards to sign again."""
    from .runtime import revoke_office_certificate

    if not yes:
        _fail(EXIT_BAD_INPUT, "this makes every certificate signed with the current key fail; add --yes")
    rt = _runtime()
    try:
        fingerprint = revoke_office_certificate(rt)
    finally:
        rt.close()
    typer.echo(f"revoked: {fingerprint.hex()}")


db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema (every process also does this at start)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .database import current_revision, make_engine, migrate
    from .settings import Settings

    engine = make_engine(Settings().sqlalchemy_url)
    try:
        before = current_revision(engine)
        migrate(engine)
        typer.echo(f"schema {before or 'empty'} -> {current_revision(engine)}")
    except SQLAlchemyError as exc:
        _fail(EXIT_UNAVAILABLE, f"cannot migrate the database: {type(exc).__name__}")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """The database's schema revision and the newest this version knows."""
    from .database import current_revision, head_revision, make_engine
    from .settings import Settings

    engine = make_engine(Settings().sqlalchemy_url)
    try:
        typer.echo(f"database: {current_revision(engine) or 'empty'}\nnewest:   {head_revision()}")
    finally:
        engine.dispose()


token_app = typer.Typer(help="Bearer tokens of notaries and administrators for the issuer API.", no_args_is_help=True)
app.add_typer(token_app, name="token")

OperatorOption = Annotated[str | None, typer.Option(
    "--operator", envvar="NOTARY_OPERATOR", show_envvar=True,
    help="who does this, for the audit log (default: NOTARY_OPERATOR, else the OS user name)")]
ExpiresOption = Annotated[str | None, typer.Option(
    "--expires", help="a duration (90d, 12h, 30m, 2w) or an ISO date (2026-12-31, 00:00 UTC) or date-time")]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")]


def _operator(name: str | None) -> str:
    """The audit log's actor for a credential command: ``operator:NAME``."""
    if name is None:
        import getpass

        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no user name in this environment
            name = "unknown"
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        _fail(EXIT_BAD_INPUT, "--operator must be a printable name of 1 to 100 characters")
    return f"operator:{name}"


def _expiry(value: str | None) -> dt.datetime | None:
    from keys.credentials import parse_expiry

    if value is None:
        return None
    try:
        return parse_expiry(value)
    except ValueError as exc:
        _fail(EXIT_BAD_INPUT, f"--expires: {exc}")


def _when(at: dt.datetime | None) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ") if at else "-"


def _until(at: dt.datetime | None) -> str:
    return _when(at) if at else "no expiry"


def _print_credentials(rows: list, third: tuple[str, object], as_json: bool) -> None:
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
        str(r.id), r.name, third[1](r), _when(r.created_at),
        _when(r.expires_at) + (" (expired)" if r.expires_at and r.expires_at <= now else ""),
        _when(r.last_used_at), _when(r.revoked_at),
    ) for r in rows]

    def width(text: str) -> int:  # CJK characters take two columns
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    widths = [max(width(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        typer.echo("  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(line)).rstrip())


def _revoke_credential(kind: str, revoke, ref: str, operator: str | None, describe) -> None:
    from keys.credentials import CredentialLookupError

    actor = _operator(operator)
    rt = _runtime(chain=False)
    try:
        row, revoked_now = revoke(rt.engine, ref, actor=actor)
    except CredentialLookupError as exc:
        _fail(EXIT_BAD_INPUT, str(exc).replace("credential", kind))
    finally:
        rt.close()
    if revoked_now:
        typer.echo(f"revoked {kind} {row.id} ({describe(row)})")
    else:
        typer.echo(f"{kind} {row.id} ({describe(row)}) was already revoked at {_when(row.revoked_at)}")


def _describe_token(row) -> str:
    return f"{row.name}, {row.role} {row.office_code or ''}".rstrip()


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="whose token, e.g. 王丽")],
    role: Annotated[str, typer.Option(help="notary, office_admin or registry_admin")] = "notary",
    office: Annotated[str | None, typer.Option(help="office code (default: this service's office)")] = None,
    expires: ExpiresOption = None,
    operator: OperatorOption = None,
) -> None:
    """Create a token; it is printed once and only its hash is stored."""
    from issuer.auth import Role, create_token

    try:
        role_ = Role(role)
    except ValueError:
        _fail(EXIT_BAD_INPUT, "role must be notary, office_admin or registry_admin")
    expires_at, actor = _expiry(expires), _operator(operator)
    rt = _runtime(chain=False)
    try:
        row, token = create_token(rt.engine, name, role_, office or rt.office.code, expires_at=expires_at, actor=actor)
    finally:
        rt.close()
    typer.echo(f"id:    {row.id}\nrole:  {row.role} {row.office_code or ''}\nuntil: {_until(row.expires_at)}\n"
               f"token: {token}")


@token_app.command("list")
def token_list(as_json: JsonOption = False) -> None:
    """Tokens with their role, office, expiry, last use and revocation (never the token)."""
    from issuer.auth import list_tokens

    rt = _runtime(chain=False)
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


@app.command("audit")
def audit_check() -> None:
    """Check the audit log's hash chain, and its heads against the ledger."""
    from issuer.audit import check_anchored_heads, verify_chain

    rt = _runtime()
    try:
        broken = verify_chain(rt.engine)
        problems = check_anchored_heads(rt.engine, rt.registry)
    finally:
        rt.close()
    if broken is not None:
        _fail(EXIT_FAILED, f"the audit log is broken at event {broken}")
    for p in problems:
        typer.secho(p, err=True)
    if problems:
        raise typer.Exit(EXIT_FAILED)
    typer.echo("audit log intact; every anchored head matches the ledger")


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

    expires_at, actor = _expiry(expires), _operator(operator)
    rt = _runtime(chain=False)
    try:
        row, key = create_api_key(rt.engine, name, per_minute, expires_at=expires_at, actor=actor)
    finally:
        rt.close()
    typer.echo(f"id:    {row.id}")
    typer.echo(f"until: {_until(row.expires_at)}")
    typer.echo(f"key:   {key}")


@apikey_app.command("list")
def apikey_list(as_json: JsonOption = False) -> None:
    """Keys with their rate, expiry, last use and revocation (never the key)."""
    from verifier.apikeys import list_api_keys

    rt = _runtime(chain=False)
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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default NOTARY_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default NOTARY_PORT")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="API processes (default NOTARY_WORKERS, 1); "
                                                "a supervisor restarts any that dies")] = None,
) -> None:
    """Run the API (and, unless NOTARY_WORKER_ENABLED=false, the anchoring worker)."""
    rt = _runtime()
    count = workers or rt.settings.workers
    if count > 1:
        _serve_supervised(rt, host, port, count)
    else:
        _serve(rt, host, port)


@app.command()
def worker() -> None:
    """Run the anchoring worker alone (for deployments with separate worker processes)."""
    import threading

    rt = _runtime()
    logging.getLogger("notary").setLevel(logging.INFO)
    stop = threading.Event()
    _exit_on_sigterm()
    try:
        rt.worker().run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        rt.close()


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="default NOTARY_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default NOTARY_PORT")] = None,
) -> None:
    """Set up on the embedded defaults, issue one demo certificate, and serve the API."""
    from issuer.matters import EXAMPLES
    from issuer.service import issue_certificate

    rt = _runtime()
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    path = rt.settings.data_path / "demo" / f"{issued.id}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(issued.pdf)
    try:
        rt.worker().run_once(force=True)
    except AnchoringError as exc:
        typer.echo(f"(anchoring deferred: {exc.code})")
    typer.secho("\nDemo certificate issued and anchored.", fg=typer.colors.GREEN, bold=True)
    typer.echo(f"  number:     {issued.number}")
    typer.echo(f"  PDF:        {path}")
    typer.echo(f"  verify URL: {issued.verify_url}")
    typer.echo(f"  access:     {issued.access_code}  (enter it on the verify page to see the full record)")
    typer.echo(f"  check it:   .venv/bin/notary verify {path}\n")
    _serve(rt, host, port)


def _serve(rt, host: str | None, port: int | None) -> None:
    import uvicorn

    from .app import create_app

    s = rt.settings
    logging.getLogger("notary").setLevel(logging.INFO)
    app_ = create_app(rt, run_worker=s.worker_enabled)
    if rt.signing_pool is not None:
        # Start the signing processes now, not on the first issue request (~2 s to import).
        threading.Thread(target=rt.signing_pool.warm_up, name="signing-warm-up", daemon=True).start()
    # The access log is off unless asked for: a line per request cost a third of the
    # throughput of a cached lookup (a reverse proxy in front usually keeps one anyway).
    config = uvicorn.Config(app_, host=host or s.host, port=port or s.port, loop="uvloop", http="httptools",
                            log_level="info", access_log=s.access_log, proxy_headers=False)
    _exit_on_sigterm()
    try:
        uvicorn.Server(config).run()
    finally:
        rt.close()


def _serve_supervised(rt, host: str | None, port: int | None, workers: int) -> None:
    """``workers`` API processes under uvicorn's process manager, which restarts one that
    dies; this process (the supervisor) runs the anchoring worker. The runtime opened here
    has already migrated the database and deployed the contract, so the API processes
    (notary.asgi) start without racing each other."""
    import uvicorn

    s = rt.settings
    logging.getLogger("notary").setLevel(logging.INFO)
    anchoring = rt.start_worker_thread() if s.worker_enabled else None
    try:
        uvicorn.run("notary.asgi:create", factory=True, workers=workers, host=host or s.host, port=port or s.port,
                    loop="uvloop", http="httptools", log_level="info", access_log=s.access_log, proxy_headers=False)
    finally:
        if anchoring is not None:
            thread, stop = anchoring
            stop.set()
            thread.join(timeout=30)
        rt.close()


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
