"""Verifying commands: verify (with the local service, or offline with a receipt), trust-bundle."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from verifier.errors import VerifierError

from .console import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INDETERMINATE,
    EXIT_PASSED,
    EXIT_UNAVAILABLE,
    app,
    fail,
    open_runtime_or_exit,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

MAX_FILE_BYTES = 100 * 1024 * 1024  # a certificate is well under 1 MB; this only bounds the work
ModelT = TypeVar("ModelT", bound="BaseModel")


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
    service: Annotated[str | None, typer.Option(
        envvar="NOTARY_VERIFY_SERVICE", show_envvar=True,
        help="verify with this public verification service (its base URL) instead of a local one")] = None,
    as_report: Annotated[bool, typer.Option(
        "--report", help="check a verification report the service signed (it never passes as a certificate)")] = False,
) -> None:
    """Verify a certificate PDF (or, with --report, a verification report the service signed).
    With the service in this data directory, a public service (--service), or offline
    (--receipt). Never creates keys. Exit code 0 PASSED, 1 FAILED, 2 INDETERMINATE, 3 bad
    input, 4 unavailable."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(EXIT_BAD_INPUT, f"cannot read {file}: {exc.strerror}")
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)  # its tracebacks for altered files are noise here
    if as_report and (receipt is not None or service is not None):
        fail(EXIT_BAD_INPUT, "--report checks a report with the service in this data directory; "
                             "leave out --receipt and --service")
    if receipt is not None:
        report = _verify_offline(data, receipt, rpc or [], trust_bundle, quorum)
    elif service is not None:
        report = _verify_with_service(data, service)
    else:
        report = _verify_locally(data, as_report)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_report(report)
    raise typer.Exit({"PASSED": EXIT_PASSED, "FAILED": EXIT_FAILED}.get(report.indication.value, EXIT_INDETERMINATE))


def _print_report(report) -> None:
    """The report for a terminal. Every string that came from the document or from a
    service is made visible first: a control character cannot repaint the screen."""
    from signing.text_safety import visible

    kind = " (a verification report signed by the service)" if report.document_kind != "certificate" else ""
    typer.echo(f"{report.indication.value}{kind}")
    if report.certificate:
        c = report.certificate
        typer.echo(visible(f"  certificate {c.number_masked} · {c.office}"))
    if report.revocation:
        rv = report.revocation
        when = f"{rv.at:%Y-%m-%d %H:%M} UTC" if rv.at else (f"block {rv.ledger_block}" if rv.ledger_block else "")
        typer.echo(visible(f"  {rv.kind} {when}: {rv.reason_en} / {rv.reason_zh}"))
    for check in report.checks:
        typer.echo(visible(f"  {check.name:20} {check.status.value:8} {check.code:26} {check.message_en}"))
        changes = check.details.get("changes", [])
        for change in changes if isinstance(changes, list) else []:
            if isinstance(change, dict):
                typer.echo(visible(f"      - {change.get('en', '')} / {change.get('zh', '')}"))


def _verify_locally(data: bytes, as_report: bool = False):
    from notary.runtime import NoInstallation
    from verifier.intake import open_signed_pdf
    from verifier.service import verify_pdf

    try:
        open_signed_pdf(data, MAX_FILE_BYTES)  # a file that is no signed PDF is bad input wherever we are
    except VerifierError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.message} / {exc.message_zh} [{exc.code}]")
    try:
        rt = open_runtime_or_exit(create=False)
    except NoInstallation as exc:
        fail(EXIT_UNAVAILABLE, f"{exc}: verify with a public service (--service URL or NOTARY_VERIFY_SERVICE), "
                               "or offline (--receipt, --trust-bundle, --rpc); nothing was created here")
    try:
        return verify_pdf(rt.verifier_context(), data, as_report=as_report)
    except VerifierError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.message} / {exc.message_zh} [{exc.code}]")
    finally:
        rt.close()


def _verify_with_service(data: bytes, base_url: str):
    """Send the PDF to a verification service's API and read its report."""
    import httpx
    from pydantic import ValidationError

    from verifier.report import Report

    url = base_url.rstrip("/") + "/api/v1/verify"
    try:
        answer = httpx.post(url, content=data, headers={"content-type": "application/pdf"}, timeout=120)
    except (httpx.HTTPError, ValueError) as exc:
        fail(EXIT_UNAVAILABLE, f"cannot reach the verification service at {base_url}: {type(exc).__name__}")
    if 400 <= answer.status_code < 500:
        try:
            error = answer.json()["error"]
            fail(EXIT_BAD_INPUT, f"{error['message']} / {error['message_zh']} [{error['code']}]")
        except (ValueError, KeyError, TypeError):
            fail(EXIT_BAD_INPUT, f"the verification service refused the file (HTTP {answer.status_code})")
    if answer.status_code != 200:
        fail(EXIT_UNAVAILABLE, f"the verification service answered HTTP {answer.status_code}; try again later")
    try:
        return Report.model_validate_json(answer.content)
    except ValidationError:
        fail(EXIT_UNAVAILABLE, f"{base_url} did not answer as a verification service")


def _verify_offline(data: bytes, receipt_path: Path, rpc_urls: list[str], bundle_path: Path | None,
                    quorum: int | None):
    from pydantic import ValidationError

    from anchoring.receipt import AnchorReceipt
    from verifier.offline import verify_offline
    from verifier.trust_bundle import TrustBundle

    if not rpc_urls:
        fail(EXIT_BAD_INPUT, "offline verification needs at least one --rpc URL")
    if bundle_path is None:
        fail(EXIT_BAD_INPUT, "offline verification needs --trust-bundle (from GET /pki/trust-bundle.json or "
                              "`notary trust-bundle --out FILE`): the ledger to trust is never taken from the receipt")

    def load(name: str, path: Path, model: type[ModelT]) -> ModelT:
        try:
            return model.model_validate_json(path.read_text(encoding="utf-8"))
        except OSError as exc:
            fail(EXIT_BAD_INPUT, f"cannot read {path}: {exc.strerror}")
        except (ValidationError, UnicodeDecodeError) as exc:
            fail(EXIT_BAD_INPUT, f"{path} is not a valid {name}: {str(exc).splitlines()[0]}")

    receipt, bundle = load("receipt", receipt_path, AnchorReceipt), load("trust bundle", bundle_path, TrustBundle)
    try:
        return verify_offline(data, receipt, rpc_urls, bundle, quorum=quorum)
    except VerifierError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.message} / {exc.message_zh} [{exc.code}]")
    except ValueError as exc:  # a quorum outside 1..distinct nodes
        fail(EXIT_BAD_INPUT, str(exc))


@app.command("trust-bundle")
def trust_bundle(
    out: Annotated[Path | None, typer.Option(help="write the JSON bundle here")] = None,
    text: Annotated[bool, typer.Option("--text", help="print it for a court's file instead of JSON")] = False,
) -> None:
    """The trust bundle verifiers pin: chain id, registry, checkpoint block, notarial root."""
    rt = open_runtime_or_exit()
    try:
        bundle = rt.trust_bundle()
    finally:
        rt.close()
    if out is not None:
        out.write_text(bundle.to_json() + "\n", encoding="utf-8")
    typer.echo(bundle.as_text() if text or out is not None else bundle.to_json())
