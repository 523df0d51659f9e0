"""Evidence packages for a court: evidence-package (made with the service in this data
directory) and verify-package (offline: the package, a trust bundle and chain nodes)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from errors import NotaryError

from .console import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INDETERMINATE,
    EXIT_PASSED,
    EXIT_UNAVAILABLE,
    OperatorOption,
    app,
    fail,
    open_runtime_or_exit,
    operator_actor,
)

if TYPE_CHECKING:
    from verifier.package_report import PackageReport


@app.command("evidence-package")
def evidence_package(
    certificate: Annotated[str, typer.Argument(help="the certificate's number, e.g. (2026)沪东证字第000123号, or its id")],
    out: Annotated[Path, typer.Option(help="where to write the package (.asice)")],
    with_file: Annotated[bool, typer.Option(
        "--with-file", help="include the preserved file itself (released on --order, recorded in the audit log); "
                            "without it the package holds the file's fingerprint")] = False,
    order: Annotated[str | None, typer.Option(
        help="with --with-file: the order that asks for the file (its number and who made it)")] = None,
    operator: OperatorOption = None,
) -> None:
    """Make the evidence package (ASiC-E) of an anchored certificate: the PDF, the evidence
    or its fingerprint, its timestamp, the receipt, the anchoring transaction and the
    signed verification report, the manifest signed with the office's key. Exit code 0
    written, 2 not anchored yet, 3 bad input, 4 unavailable."""
    from anchoring.errors import AnchoringError
    from preservation.errors import PackageNotAnchored, PackageUnavailable
    from preservation.evidence_package import PackageSources, build_evidence_package, find_certificate
    from records import audit

    actor = operator_actor(operator)
    if with_file and not order:
        fail(EXIT_BAD_INPUT, "--with-file releases the preserved file: name the order that asks for it (--order)")
    rt = open_runtime_or_exit()
    try:
        try:
            cert = find_certificate(rt.engine, certificate)
            evidence_file = _released_file(rt, cert.id, order, actor) if with_file else None
            if rt.registry is None:
                fail(EXIT_UNAVAILABLE, "the chain is not configured: a package holds the ledger's record")
            sources = PackageSources(rt.engine, rt.office.code, rt.signer, rt.verifier_context(), rt.registry.w3)
            package = build_evidence_package(sources, cert.id, evidence_file=evidence_file)
            audit.record(rt.engine, actor, "certificate.package", str(cert.id),
                         {"sha256": package.sha256, "evidence": package.evidence}, office=rt.office.code)
        except PackageNotAnchored as exc:
            fail(EXIT_INDETERMINATE, f"{exc.message} [{exc.code}]")
        except (AnchoringError, PackageUnavailable) as exc:
            fail(EXIT_UNAVAILABLE, f"{exc.message} [{exc.code}]")
        except NotaryError as exc:
            fail(EXIT_BAD_INPUT, f"{exc.message} / {exc.message_zh} [{exc.code}]")
    finally:
        rt.close()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(package.data)
    except OSError as exc:
        fail(EXIT_BAD_INPUT, f"cannot write {out}: {exc.strerror}")
    typer.echo(f"certificate: {package.number}  ({package.certificate_id})")
    typer.echo(f"evidence:    {package.evidence}")
    typer.echo(f"members:     {', '.join(package.members)}")
    typer.echo(f"package:     {out}  (SHA-256 {package.sha256})")


def _released_file(rt, certificate_id, order: str | None, actor: str) -> bytes:
    """The preserved file of a preservation certificate, released on ``order`` (the release
    is in the audit log before the file is read)."""
    from preservation.custody import release_on_order
    from preservation.errors import EvidenceNotFound
    from preservation.evidence_package import preserved_evidence

    row = preserved_evidence(rt.engine, certificate_id)
    if row is None:
        raise EvidenceNotFound()
    _, content = release_on_order(rt.preservation_context(rt.issuer_context()), row.id, order or "", actor)
    return content


@app.command("verify-package")
def verify_package(
    file: Annotated[Path, typer.Argument(help="the evidence package (.asice)")],
    trust_bundle: Annotated[Path, typer.Option(
        help="trust bundle (GET /pki/trust-bundle.json, or `notary trust-bundle`): the ledger and notarial root "
             "to trust; nothing in the package chooses them")],
    rpc_url: Annotated[list[str] | None, typer.Option(
        "--rpc-url", "--rpc", help="chain node URL; repeat for a quorum")] = None,
    quorum: Annotated[int | None, typer.Option(help="nodes that must agree (default: a majority)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
) -> None:
    """Verify an evidence package offline: no database, no service. Exit code 0 PASSED,
    1 FAILED, 2 INDETERMINATE (e.g. no chain node answered), 3 bad input (not a package,
    over a limit, unsafe names: the error's code says which)."""
    from pydantic import ValidationError

    from verifier.asic_container import ContainerLimits
    from verifier.errors import PackageTooLarge, VerifierError
    from verifier.evidence_package import verify_package as verify
    from verifier.trust_bundle import TrustBundle

    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)  # its warnings for altered files are noise here
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    if not rpc_url:
        fail(EXIT_BAD_INPUT, "verify-package needs at least one --rpc-url")
    limits = ContainerLimits()
    try:
        if file.stat().st_size > limits.max_bytes:
            too_large = PackageTooLarge(f"the file is larger than {limits.max_bytes // (1024 * 1024)} MB")
            fail(EXIT_BAD_INPUT, f"{too_large.message} [{too_large.code}]")
        data = file.read_bytes()
        bundle = TrustBundle.model_validate_json(trust_bundle.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(EXIT_BAD_INPUT, f"cannot read {exc.filename or file}: {exc.strerror}")
    except (ValidationError, UnicodeDecodeError) as exc:
        fail(EXIT_BAD_INPUT, f"{trust_bundle} is not a valid trust bundle: {str(exc).splitlines()[0]}")
    try:
        report = verify(data, bundle, rpc_url, quorum=quorum, limits=limits)
    except VerifierError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.message} / {exc.message_zh} [{exc.code}]")
    except ValueError as exc:  # a quorum outside 1..distinct nodes
        fail(EXIT_BAD_INPUT, str(exc))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_report(report)
    raise typer.Exit({"PASSED": EXIT_PASSED, "FAILED": EXIT_FAILED}.get(report.indication.value, EXIT_INDETERMINATE))


def _print_report(report: PackageReport) -> None:
    """The report for a terminal; text from the package is made visible first."""
    from signing.text_safety import visible

    typer.echo(f"{report.indication.value} (evidence package)")
    if report.certificate_id:
        typer.echo(f"  certificate {report.certificate_id}  SHA-256 {report.certificate_sha256}")
    if report.evidence_sha256:
        typer.echo(visible(f"  evidence SHA-256 {report.evidence_sha256}  ({report.evidence_member or 'not in the package'})"))
    if report.evidence_timestamp_time:
        typer.echo(f"  evidence timestamped {report.evidence_timestamp_time:%Y-%m-%d %H:%M:%S} UTC")
    if report.anchor_block_time:
        typer.echo(f"  anchored {report.anchor_block_time:%Y-%m-%d %H:%M:%S} UTC, block {report.anchor_block_number}")
    for check in report.checks:
        typer.echo(visible(f"  {check.name:20} {check.status.value:8} {check.code:32} {check.message_en}"))
    if report.certificate_report is not None:
        typer.echo("  certificate report:")
        for c in report.certificate_report.checks:
            typer.echo(visible(f"    {c.name:18} {c.status.value:8} {c.code:26} {c.message_en}"))
