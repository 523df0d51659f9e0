"""The regulator's console (监管): statistics with charts and CSV, random inspection draws
and their findings, forgery leads, and the audit trail of any office. A regulator reads
every office and changes no certificate (issuer.auth.Role.REGISTRY_ADMIN)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from issuer.reads import read_certificate
from records import audit
from records.matters import MATTERS
from records.models import Certificate
from verifier.leads import counts_by_claimed_office, list_leads

from . import charts, inspection, statistics
from .csv_export import statistics_csv
from .dates import china_today, parse_day
from .errors import LedgerUnavailable
from .models import FindingOutcome
from .web import REGULATORS, ConsoleContext, Staff, current_staff, language, posted, render, staff_route

Who = Annotated[Staff, Depends(current_staff)]
Day = Annotated[str, Query(max_length=10)]


def _offices(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(s.exec(select(Certificate.office_code).distinct()).all())


def router(ctx: ConsoleContext) -> APIRouter:
    r = APIRouter(prefix="/console/regulator", route_class=staff_route(ctx, REGULATORS), include_in_schema=False)

    def period(since: str, until: str) -> tuple[dt.date, dt.date]:
        today = china_today()
        start = parse_day(since, today.replace(day=1) - dt.timedelta(days=365)) or today
        end = parse_day(until, today + dt.timedelta(days=1)) or today
        return start, max(end, start)

    @r.get("")
    def overview(request: Request, staff: Who, office: Annotated[str, Query(max_length=64)] = "",
                 since: Day = "", until: Day = "") -> Response:
        start, end = period(since, until)
        rows = statistics.monthly_statistics(ctx.engine, office=office or None, since=start, until=end)
        months = statistics.month_range(start, end)[-24:]  # ``end`` is exclusive there too
        by_month = statistics.totals_by_month(rows, months)
        by_office = statistics.totals_by_office(rows)
        zh = language(request) == "zh"
        issued_chart = charts.stacked_bar_chart(
            "每月出证、更正、撤销" if zh else "Issued, corrected and revoked per month", months, {
                ("出证" if zh else "issued"): [by_month[m].issued for m in months],
                ("更正" if zh else "corrected"): [by_month[m].corrected for m in months],
                ("撤销" if zh else "revoked"): [by_month[m].revoked for m in months]})
        office_chart = charts.bar_chart("各公证处出证量" if zh else "Certificates per office",
                                        [(code, t.issued) for code, t in by_office.items()])
        delay_chart = charts.bar_chart("平均上链时延（秒）" if zh else "Mean anchoring delay (s)",
                                       [(code, t.anchor_delay_avg_s or 0) for code, t in by_office.items()], unit="s")
        by_key = statistics.verifications_by_key(ctx.engine, start, end, office=office or None)
        return render(request, "regulator_home.html", rows=rows, totals=statistics.totals(rows), by_office=by_office,
                      issued_chart=issued_chart, office_chart=office_chart, delay_chart=delay_chart, by_key=by_key,
                      office=office, since=start, until=end, offices=_offices(ctx.engine))

    @r.get("/statistics.csv")
    def statistics_export(staff: Who, office: Annotated[str, Query(max_length=64)] = "", since: Day = "",
                          until: Day = "") -> Response:
        start, end = period(since, until)
        rows = statistics.monthly_statistics(ctx.engine, office=office or None, since=start, until=end)
        audit.record(ctx.engine, staff.actor, "statistics.export", "statistics", {
            "office": office or None, "since": start.isoformat(), "until": end.isoformat()})
        return Response(statistics_csv(rows).encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="statistics-{start}-{end}.csv"', "Cache-Control": "no-store"})

    @r.get("/inspections")
    def inspections(request: Request, staff: Who, page: Annotated[int, Query(ge=1, le=1000)] = 1) -> Response:
        draws = inspection.list_draws(ctx.engine, 50, (page - 1) * 50)
        today = china_today()
        return render(request, "inspections.html", draws=draws, offices=_offices(ctx.engine),
                      matters=[(k, m.title_zh if language(request) == "zh" else m.title_en) for k, m in MATTERS.items()],
                      default_from=today.replace(day=1) - dt.timedelta(days=90), default_to=today,
                      ledger=ctx.ledger is not None)

    def ledger():
        if ctx.ledger is None:
            raise LedgerUnavailable()
        return ctx.ledger()

    @r.post("/inspections")
    def new_draw(request: Request, staff: Who) -> Response:
        form = posted(request)
        try:
            size = int(str(form.get("size", "")))
        except ValueError:
            size = 0
        registry, admin, mine = ledger()

        def commit_and_draw():
            draw = inspection.commit_draw(
                ctx.engine, registry, admin, office=str(form.get("office", "")) or None,
                matter=str(form.get("matter", "")) or None,
                period_from=parse_day(str(form.get("from", ""))) or dt.date.min,
                period_to=parse_day(str(form.get("to", ""))) or dt.date.min, sample_size=size, actor=staff.actor)
            return inspection.complete_draw(ctx.engine, registry, admin, draw.id, actor=staff.actor,
                                            mine_if_needed=mine)

        draw = commit_and_draw()
        return RedirectResponse(f"/console/regulator/inspections/{draw.id}", status_code=303)

    @r.get("/inspections/{draw_id}")
    def show_draw(request: Request, staff: Who, draw_id: uuid.UUID) -> Response:
        draw = inspection.get_draw(ctx.engine, draw_id)
        chosen = inspection.selected(draw)
        with Session(ctx.engine) as s:
            certs = {c.number: c for c in s.exec(select(Certificate).where(col(Certificate.number).in_(chosen)))} \
                if chosen else {}
        latest = {}
        for f in inspection.findings(ctx.engine, draw_id):
            latest[f.certificate_id] = f
        return render(request, "inspection.html", draw=draw, chosen=chosen, certs=certs, latest=latest,
                      outcomes=[o.value for o in FindingOutcome])

    @r.post("/inspections/{draw_id}/complete")
    def complete(staff: Who, draw_id: uuid.UUID) -> Response:
        registry, admin, mine = ledger()
        inspection.complete_draw(ctx.engine, registry, admin, draw_id, actor=staff.actor, mine_if_needed=mine)
        return RedirectResponse(f"/console/regulator/inspections/{draw_id}", status_code=303)

    @r.get("/inspections/{draw_id}/draw.json")
    def published(draw_id: uuid.UUID) -> Response:
        doc = inspection.published_draw(ctx.engine, draw_id)
        return Response(json.dumps(doc, ensure_ascii=False, indent=2), media_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="draw-{draw_id}.json"'})

    @r.post("/inspections/{draw_id}/findings")
    def finding(request: Request, staff: Who, draw_id: uuid.UUID) -> Response:
        form = posted(request)
        inspection.record_finding(ctx.engine, draw_id, str(form.get("certificate", ""))[:80],
                                  str(form.get("outcome", ""))[:20], str(form.get("note", "")) or None, staff.actor)
        return RedirectResponse(f"/console/regulator/inspections/{draw_id}#findings", status_code=303)

    @r.get("/certificates/{certificate_id}")
    def certificate(request: Request, staff: Who, certificate_id: uuid.UUID) -> Response:
        cert = read_certificate(ctx.engine, staff.principal, certificate_id, "certificate.read", via="console")
        matter = MATTERS[cert.matter].model_validate(json.loads(cert.data_json), context={"stored_record": True})
        return render(request, "regulator_certificate.html", cert=cert, particulars=matter.particulars())

    @r.get("/leads")
    def leads(request: Request, staff: Who, office: Annotated[str, Query(max_length=80)] = "", since: Day = "",
              until: Day = "", page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
        start, end = period(since, until)
        bounds = {"since": dt.datetime.combine(start, dt.time(), dt.UTC),
                  "until": dt.datetime.combine(end, dt.time(), dt.UTC)}
        rows, total = list_leads(ctx.engine, office=office or None, limit=50, offset=(page - 1) * 50, **bounds)
        counts = counts_by_claimed_office(ctx.engine, limit=100, **bounds)
        return render(request, "leads.html", rows=rows, total=total, counts=counts, office=office, since=start,
                      until=end, page=page)

    @r.get("/audit")
    def audit_trail(request: Request, staff: Who, office: Annotated[str, Query(max_length=64)] = "",
                    action: Annotated[str, Query(max_length=40)] = "",
                    page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
        events = audit.list_events(ctx.engine, office=office or None, action=action or None, limit=100,
                                   offset=(page - 1) * 100)
        return render(request, "audit.html", events=events, office=office, action=action, page=page,
                      offices=_offices(ctx.engine), base="/console/regulator/audit", check=None)

    @r.post("/audit/verify")
    def audit_verify(request: Request, staff: Who) -> Response:
        """`notary audit`'s check, from the console: the hash chain intact, and its heads
        on the ledger where they were anchored."""
        broken = audit.verify_chain(ctx.engine)
        problems: list[str] = []
        if ctx.verifying.registry is not None:
            problems = audit.check_anchored_heads(ctx.engine, ctx.verifying.registry)
        audit.record(ctx.engine, staff.actor, "audit.verify", "audit", {"broken_at": broken, "problems": len(problems)})
        events = audit.list_events(ctx.engine, limit=100)
        return render(request, "audit.html", events=events, office="", action="", page=1, offices=_offices(ctx.engine),
                      base="/console/regulator/audit", check={"broken_at": broken, "problems": problems})

    return r
