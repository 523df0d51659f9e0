"""Issuing commands: matters, issue, issue-bulk, receipt, revoke, correct."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from errors import NotaryError
from records.errors import InvalidMatterData
from records.models import Owner

from .console import (
    EXIT_BAD_INPUT,
    EXIT_INDETERMINATE,
    EXIT_PASSED,
    EXIT_UNAVAILABLE,
    OperatorOption,
    anchor_now,
    app,
    fail,
    fail_fields,
    open_runtime_or_exit,
    operator_name,
)

BULK_CHUNK = 64  # rows numbered, signed and committed together by issue-bulk


@app.command()
def matters(example: Annotated[str | None, typer.Option("--example", help="print example input JSON for MATTER")] = None) -> None:
    """List matter types, or print example input for one."""
    from records.matters import EXAMPLES, MATTERS, matter_type

    if example:
        try:
            matter_type(example)
        except NotaryError as exc:
            fail(EXIT_BAD_INPUT, exc.message)
        typer.echo(json.dumps(EXAMPLES[example], ensure_ascii=False, indent=2))
        return
    for key, model in MATTERS.items():
        how = "" if model.requested_by_staff else "  [issued only from a receipt: notary preservation submit]"
        typer.echo(f"{key:22} {model.title_zh}  ({model.title_en}){how}")


@app.command()
def issue(
    matter: Annotated[str, typer.Option(help="matter type, see `notary matters`")],
    data: Annotated[Path, typer.Option(help="input JSON file", exists=False)],
    out: Annotated[Path, typer.Option(help="where to write the signed PDF")],
    wait: Annotated[bool, typer.Option(help="anchor now and wait for the ledger")] = True,
    bilingual: Annotated[bool, typer.Option(help="add the English translation page (for use abroad)")] = False,
    level: Annotated[str | None, typer.Option(help="PAdES level above the default: B-LT or B-LTA")] = None,
    operator: OperatorOption = None,
) -> None:
    """Issue a certificate; prints its id, number and verify URL."""
    from issuer.service import issue_certificate

    who = operator_name(operator)
    _requestable_or_exit(matter)

    try:
        if data.stat().st_size > 1024 * 1024:
            fail(EXIT_BAD_INPUT, f"{data} is larger than 1 MB")
        payload = json.loads(data.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(EXIT_BAD_INPUT, f"input file not found: {data}")
    except (ValueError, UnicodeDecodeError) as exc:
        fail(EXIT_BAD_INPUT, f"{data} is not valid JSON: {exc}")
    rt = open_runtime_or_exit()
    try:
        try:
            issued = issue_certificate(rt.issuer_context(), matter, payload, language="zh-en" if bilingual else "zh",
                                       level=level, actor=f"operator:{who}", issued_by=Owner(who))
        except InvalidMatterData as exc:
            fail_fields(exc, f"invalid input for {matter}")
        except NotaryError as exc:
            fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(issued.pdf)
        typer.echo(f"id:         {issued.id}")
        typer.echo(f"number:     {issued.number}")
        typer.echo(f"verify URL: {issued.verify_url}")
        typer.echo(f"access:     {issued.access_code}  (give to the holder; shows the full record)")
        typer.echo(f"pdf:        {out}")
        if wait:
            deferred = anchor_now(rt)
            typer.echo(f"anchored:   not yet ({deferred}); the worker will retry" if deferred else "anchored:   yes")
    finally:
        rt.close()


def _requestable_or_exit(matter: str) -> None:
    """Exit with the bad-input code for an unknown matter or one the service issues only from
    its own receipt (evidence preservation), before anything is read or opened."""
    from records.matters import requestable_matter

    try:
        requestable_matter(matter)
    except NotaryError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")


BULK_MAX_BYTES = 50 * 1024 * 1024
BULK_MAX_ROWS = 100_000


def _bulk_rows(path: Path):
    """Rows of a JSON Lines or CSV file as dicts (CSV: flat fields only; lists need JSON Lines)."""
    import csv

    if path.stat().st_size > BULK_MAX_BYTES:
        fail(EXIT_BAD_INPUT, f"{path} is larger than {BULK_MAX_BYTES // (1024 * 1024)} MB")
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
        fail(EXIT_BAD_INPUT, f"{path} has more than {BULK_MAX_ROWS:,} rows")
    return rows


@app.command("issue-bulk")
def issue_bulk(
    matter: Annotated[str, typer.Option(help="matter type of every row")],
    input: Annotated[Path, typer.Option("--input", help="JSON Lines (.jsonl) or CSV (.csv) file, one applicant a row")],
    out_dir: Annotated[Path, typer.Option(help="where the signed PDFs go")],
    errors: Annotated[Path | None, typer.Option(help="per-row errors (JSON Lines); default OUT_DIR/errors.jsonl")] = None,
    bilingual: Annotated[bool, typer.Option(help="add the English translation page")] = False,
    level: Annotated[str | None, typer.Option(help="PAdES level above the default: B-LT or B-LTA")] = None,
    operator: OperatorOption = None,
) -> None:
    """Issue many certificates from a file, with a progress bar, a summary and a file of
    per-row errors. Each PDF is named by its certificate number (its id is in the PDF's
    metadata); OUT_DIR/issued.csv summarises what was issued. Exit code 0 when every row
    was issued, 3 when some were not."""
    import csv

    from rich.progress import Progress

    from issuer.service import IssueRequest, enforce_policies, issue_batch
    from records.matters import parse_matter
    from records.numbers import file_name

    who = operator_name(operator)
    _requestable_or_exit(matter)
    if not input.exists():
        fail(EXIT_BAD_INPUT, f"input file not found: {input}")
    rows = _bulk_rows(input)
    out_dir.mkdir(parents=True, exist_ok=True)
    errors = errors or out_dir / "errors.jsonl"
    language = "zh-en" if bilingual else "zh"
    rt = open_runtime_or_exit()
    issued, failed = 0, 0
    try:
        ctx = rt.issuer_context(pool=True)
        try:
            level = ctx.check_level(level)
        except NotaryError as exc:
            fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
        with errors.open("w", encoding="utf-8") as err, open(out_dir / "issued.jsonl", "w", encoding="utf-8") as ok, \
                open(out_dir / "issued.csv", "w", encoding="utf-8-sig", newline="") as table, Progress() as progress:
            # utf-8-sig: a spreadsheet opened by a clerk shows the Chinese, not mojibake.
            summary = csv.writer(table)
            summary.writerow(["row", "number", "file", "id", "applicant", "verify_url", "access_code"])
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
                        # A refused row is recorded in the audit log, as a refused request is.
                        enforce_policies(ctx, [(matter, parsed)], dt.date.today(), f"operator:{who}")
                        ctx.check_printable(parsed, language)  # a row the font cannot print goes to errors
                        valid.append((n, IssueRequest(matter, parsed, language, level)))
                    except NotaryError as exc:
                        failed += 1
                        err.write(json.dumps({"row": n, "code": exc.code, "message": exc.message,
                                              "fields": getattr(exc, "errors", [])}, ensure_ascii=False) + "\n")
                        progress.advance(task)
                if not valid:
                    continue
                try:
                    certs = issue_batch(ctx, [r for _, r in valid], actor=f"operator:{who}", issued_by=Owner(who))
                except NotaryError as exc:
                    fail(EXIT_UNAVAILABLE, f"issuing stopped at row {valid[0][0]}: {exc.message} [{exc.code}]; "
                                            f"{issued} certificates were issued before it")
                for (n, request), cert in zip(valid, certs):
                    name = file_name(cert.number)
                    (out_dir / name).write_bytes(cert.pdf)
                    ok.write(json.dumps({"row": n, "id": str(cert.id), "number": cert.number, "file": name,
                                         "verify_url": cert.verify_url, "access_code": cert.access_code},
                                        ensure_ascii=False) + "\n")
                    summary.writerow([n, cert.number, name, cert.id, request.matter.applicant_name, cert.verify_url,
                                      cert.access_code])
                    issued += 1
                    progress.advance(task)
        if deferred := anchor_now(rt):
            typer.echo(f"anchoring deferred ({deferred}); the worker will retry")
    finally:
        rt.close()
    typer.echo(f"issued {issued} of {len(rows)}; {failed} failed (see {errors}); "
               f"summary in {out_dir / 'issued.csv'} and {out_dir / 'issued.jsonl'}")
    raise typer.Exit(EXIT_PASSED if failed == 0 else EXIT_BAD_INPUT)


ReferenceArgument = Annotated[str, typer.Argument(
    metavar="CERTIFICATE", help="the certificate's number, e.g. (2026)沪东证字第000123号, or its id")]


def _find(rt, reference: str):
    """The certificate a clerk named by number or id, of this office; exits when none."""
    from sqlmodel import Session

    from records.lookups import find_by_reference

    with Session(rt.engine) as s:
        cert = find_by_reference(s, reference)
    if cert is None or cert.office_code != rt.office.code:
        rt.close()
        fail(EXIT_BAD_INPUT, f"no certificate of this office with the number or id {reference!r}")
    return cert


@app.command()
def receipt(
    certificate: ReferenceArgument,
    out: Annotated[Path | None, typer.Option(help="write here instead of standard output")] = None,
) -> None:
    """Print (or write) the anchor receipt of a certificate."""
    from sqlmodel import Session

    from anchoring.status import anchor_status

    rt = open_runtime_or_exit(chain=False)
    try:
        cert = _find(rt, certificate)
        with Session(rt.engine) as s:
            st = anchor_status(s, cert.id)
    finally:
        rt.close()
    if st is None or st.receipt is None:
        fail(EXIT_INDETERMINATE, f"{cert.number} is not anchored yet; try again after the next batch")
    text = st.receipt.model_dump_json(indent=2)
    if out:
        out.write_text(text + "\n")
    else:
        typer.echo(text)


def _reason(value: str):
    from records.revocation import RevocationReason

    try:
        return RevocationReason(int(value)) if value.isdigit() else RevocationReason[value.upper().replace("-", "_")]
    except (KeyError, ValueError):
        fail(EXIT_BAD_INPUT, "--reason must be one of: " + ", ".join(
            f"{r.value} {r.name.lower().replace('_', '-')}" for r in RevocationReason))


def _ledger_later(deferred: str | None) -> None:
    if deferred:
        typer.echo(f"(the ledger will record it later: {deferred})")


@app.command()
def revoke(
    certificate: ReferenceArgument,
    reason: Annotated[str, typer.Option(help="1 issued-in-error, 2 withdrawn, 3 obtained-by-deception, "
                                             "4 court-order, 9 other (the number or the name)")],
    note: Annotated[str | None, typer.Option(help="a short note for the record (200 characters at most)")] = None,
    operator: OperatorOption = None,
) -> None:
    """Revoke (撤销) a certificate; the ledger records it once the certificate is anchored."""
    from issuer.lifecycle import revoke_certificate
    from records.revocation import reason_words

    why, who = _reason(reason), operator_name(operator)
    if note is not None and len(note) > 200:
        fail(EXIT_BAD_INPUT, "the note is longer than 200 characters")
    rt = open_runtime_or_exit()
    try:
        cert = revoke_certificate(rt.engine, _find(rt, certificate).id, why, note, office_code=rt.office.code,
                                  actor=f"operator:{who}")
        _ledger_later(anchor_now(rt))
    except NotaryError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
    finally:
        rt.close()
    zh, en = reason_words(why)
    typer.echo(f"revoked {cert.number}: {zh} / {en}")


@app.command()
def correct(
    certificate: ReferenceArgument,
    data: Annotated[Path, typer.Option(help="the corrected input JSON")],
    out: Annotated[Path, typer.Option(help="where to write the new signed PDF")],
    bilingual: Annotated[bool | None, typer.Option(
        "--bilingual/--no-bilingual", help="default: as the corrected certificate")] = None,
    level: Annotated[str | None, typer.Option(help="PAdES level; default: the corrected certificate's")] = None,
    operator: OperatorOption = None,
) -> None:
    """Correct (更正): issue a replacement certificate and supersede the old one. The new
    certificate keeps the old one's language pages and PAdES level unless told otherwise,
    and its text names the number it corrects."""
    from issuer.lifecycle import correct_certificate

    who = operator_name(operator)
    try:
        payload = json.loads(data.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        fail(EXIT_BAD_INPUT, f"cannot use the input: {exc}")
    rt = open_runtime_or_exit()
    try:
        new = correct_certificate(rt.issuer_context(), _find(rt, certificate).id, payload, office_code=rt.office.code,
                                  actor=f"operator:{who}", issued_by=Owner(who), level=level,
                                  language=None if bilingual is None else ("zh-en" if bilingual else "zh"))
        out.write_bytes(new.pdf)
        _ledger_later(anchor_now(rt))
    except InvalidMatterData as exc:
        fail_fields(exc, "invalid corrected input")
    except NotaryError as exc:
        fail(EXIT_BAD_INPUT, f"{exc.message} [{exc.code}]")
    finally:
        rt.close()
    typer.echo(f"id:         {new.id}\nnumber:     {new.number}\nverify URL: {new.verify_url}")
    typer.echo(f"access:     {new.access_code}\npdf:        {out}")
