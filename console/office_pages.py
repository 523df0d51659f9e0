"""The office console (办证): search, drafts as forms, preview, issue, download and print,
revoke and correct. Every rule is the issuer's own (issuer.auth.Principal, issuer.drafts,
issuer.lifecycle): the pages add forms and confirmation steps, never permissions."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from issuer.auth import Principal, Role
from issuer.drafts import check_draft, create_draft, discard_draft, get_draft, issue_draft, list_drafts, update_draft
from issuer.lifecycle import correct_certificate, revoke_certificate
from issuer.preview import render_preview
from issuer.reads import read_certificate, signed_pdf
from issuer.render import MAX_PAGES
from records import audit
from records.matters import MATTERS, staff_matters
from records.models import Certificate
from records.revocation import RevocationReason, reason_words
from verifier.full_record import page_previews

from .certificate_search import SearchQuery, search
from .dates import parse_day
from .matter_forms import build_form, parse_form
from .web import OFFICE_STAFF, ConsoleContext, Staff, current_staff, language, posted, render, staff_route

PRINT_DPI = 200  # page images of the print view: the QR code keeps modules a scanner reads
Who = Annotated[Staff, Depends(current_staff)]


def _matters(lang: str, *, drafted: bool = False) -> list[tuple[str, str]]:
    """Matters and their titles: all of them (to search certificates), or (``drafted``)
    those staff may draft: evidence preservation is issued from the office's own receipt."""
    matters = staff_matters() if drafted else MATTERS
    return [(key, model.title_zh if lang == "zh" else model.title_en) for key, model in matters.items()]


def router(ctx: ConsoleContext) -> APIRouter:
    r = APIRouter(prefix="/console/office", route_class=staff_route(ctx, OFFICE_STAFF), include_in_schema=False)
    office = ctx.issuing.office.code

    def issuer(staff: Staff) -> Principal:
        p = staff.principal
        p.require_issuer(office)  # this office's notaries and administrators only
        return p

    def owner(p: Principal) -> uuid.UUID | None:
        return p.holder_id if p.role == Role.NOTARY else None

    def readable(p: Principal, certificate_id: uuid.UUID, action: str) -> Certificate:
        return read_certificate(ctx.engine, p, certificate_id, action, via="console")

    @r.get("")
    def home(request: Request, staff: Who,
             number: Annotated[str, Query(max_length=64)] = "", name: Annotated[str, Query(max_length=40)] = "",
             id_number: Annotated[str, Query(max_length=18)] = "", date_from: Annotated[str, Query(max_length=10)] = "",
             date_to: Annotated[str, Query(max_length=10)] = "", matter: Annotated[str, Query(max_length=40)] = "",
             status: Annotated[str, Query(pattern="^(|issued|revoked|superseded)$")] = "",
             page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
        p = issuer(staff)
        q = SearchQuery(number.strip(), name.strip(), id_number.strip(), parse_day(date_from), parse_day(date_to),
                        matter if matter in MATTERS else "", status, page)
        rows, total = search(ctx.engine, p, q)
        if rows:  # applicants' names shown: to whom is recorded
            audit.record(ctx.engine, p.actor, "certificate.list", "certificates", {
                "via": "console", "searched": not q.empty, "ids": [str(c.id) for c in rows]}, office=office)
        drafts, _ = list_drafts(ctx.engine, office, "open", 20, 0, owner=owner(p))
        return render(request, "office_home.html", q=q, rows=rows, total=total, drafts=drafts,
                      matters=_matters(language(request)), pages=(total + 24) // 25)

    @r.get("/drafts/new")
    def new_draft(request: Request, staff: Who, matter: Annotated[str, Query(max_length=40)] = "") -> Response:
        issuer(staff)
        if matter not in staff_matters():
            return render(request, "draft_choose.html", matters=_matters(language(request), drafted=True))
        prefill = {"notary": staff.user.name} if staff.role == Role.NOTARY else {}
        return render(request, "draft.html", draft=None, matter=matter, title=_title(matter, language(request)),
                      form=build_form(matter, prefill, lang=language(request)), language="zh", problems=None)

    @r.post("/drafts")
    def create(request: Request, staff: Who) -> Response:
        p = issuer(staff)
        form = posted(request)
        matter = str(form.get("matter", ""))
        if matter not in staff_matters():
            return RedirectResponse("/console/office/drafts/new", status_code=303)
        language = "zh-en" if form.get("language") == "zh-en" else "zh"
        data = p.name_as_notary(parse_form(matter, form))
        assert isinstance(data, dict)
        draft = create_draft(ctx.engine, office, matter, data, language, p.actor, holder=p.holder_id)
        return RedirectResponse(f"/console/office/drafts/{draft.id}", status_code=303)

    @r.get("/drafts/{draft_id}")
    def show_draft(request: Request, staff: Who, draft_id: uuid.UUID) -> Response:
        p = issuer(staff)
        draft = get_draft(ctx.engine, draft_id, office, owner=owner(p))
        audit.record(ctx.engine, p.actor, "draft.read", str(draft.id), {"via": "console"}, office=office)
        problems = check_draft(draft) if draft.state == "open" else None
        data = json.loads(draft.data_json)
        return render(request, "draft.html", draft=draft, matter=draft.matter,
                      fee_note=problems.fee_note if problems is not None else None,
                      title=_title(draft.matter, language(request)), language=draft.language, problems=problems,
                      form=build_form(draft.matter, data, problems.fields if problems else None,
                                      lang=language(request)))

    @r.post("/drafts/{draft_id}")
    def save_draft(request: Request, staff: Who, draft_id: uuid.UUID) -> Response:
        p = issuer(staff)
        form = posted(request)
        draft = get_draft(ctx.engine, draft_id, office, owner=owner(p))
        language = "zh-en" if form.get("language") == "zh-en" else "zh"
        update_draft(ctx.engine, draft_id, office, parse_form(draft.matter, form), language, p.actor, owner=owner(p),
                     name_notary=p.name_as_notary)
        return RedirectResponse(f"/console/office/drafts/{draft_id}#checks", status_code=303)

    @r.get("/drafts/{draft_id}/preview")
    def preview(request: Request, staff: Who, draft_id: uuid.UUID) -> Response:
        p = issuer(staff)
        draft = get_draft(ctx.engine, draft_id, office, owner=owner(p))
        audit.record(ctx.engine, p.actor, "draft.preview", str(draft.id), {"via": "console"}, office=office)
        data = p.name_as_notary(json.loads(draft.data_json))
        pdf = render_preview(ctx.issuing, draft.matter, data, draft.language)
        images = page_previews(pdf, 110, max_pages=2 * MAX_PAGES)
        return render(request, "preview.html", draft=draft, images=images, title=_title(draft.matter, language(request)))

    @r.post("/drafts/{draft_id}/issue")
    def issue(request: Request, staff: Who, draft_id: uuid.UUID) -> Response:
        p = issuer(staff)
        _, issued = issue_draft(ctx.issuing, draft_id, office, p.actor, owner=owner(p), issued_by=p.owner,
                                name_notary=p.name_as_notary)
        # The access code is shown this once (never stored in the clear): no redirect, no cache.
        return render(request, "issued.html", issued=issued)

    @r.post("/drafts/{draft_id}/discard")
    def discard(staff: Who, draft_id: uuid.UUID) -> Response:
        p = issuer(staff)
        discard_draft(ctx.engine, draft_id, office, p.actor, owner=owner(p))
        return RedirectResponse("/console/office", status_code=303)

    @r.get("/certificates/{certificate_id}")
    def show_certificate(request: Request, staff: Who, certificate_id: uuid.UUID) -> Response:
        p = staff.principal
        cert = readable(p, certificate_id, "certificate.read")
        matter = MATTERS[cert.matter].model_validate(json.loads(cert.data_json), context={"stored_record": True})
        reason = reason_words(cert.revocation_reason) if cert.status == "revoked" else None
        return render(request, "certificate.html", cert=cert, particulars=matter.particulars(),
                      title=_title(cert.matter, language(request)), reason=reason,
                      reasons=[(int(r_), reason_words(int(r_))) for r_ in RevocationReason],
                      may_change=_may_change(p, cert),
                      # A preservation certificate states what the office received: it is
                      # revoked, never corrected by typing new data.
                      correctable=MATTERS[cert.matter].requested_by_staff)

    @r.get("/certificates/{certificate_id}/pdf")
    def download(staff: Who, certificate_id: uuid.UUID) -> Response:
        cert = readable(staff.principal, certificate_id, "certificate.pdf")
        return Response(signed_pdf(ctx.engine, cert), media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{cert.id}.pdf"', "Cache-Control": "no-store"})

    @r.get("/certificates/{certificate_id}/print")
    def print_view(request: Request, staff: Who, certificate_id: uuid.UUID) -> Response:
        cert = readable(staff.principal, certificate_id, "certificate.print")
        images = page_previews(signed_pdf(ctx.engine, cert), PRINT_DPI, max_pages=2 * MAX_PAGES)  # every page: the print is the certificate
        return render(request, "print.html", cert=cert, images=images)

    @r.post("/certificates/{certificate_id}/revoke")
    def revoke(request: Request, staff: Who, certificate_id: uuid.UUID) -> Response:
        p = issuer(staff)
        form = posted(request)
        cert = readable(p, certificate_id, "certificate.read")
        try:
            reason = RevocationReason(int(str(form.get("reason", ""))))
        except ValueError:
            reason = None
        note = str(form.get("note", "")).strip()[:200] or None
        if reason is None or form.get("confirmed") != "yes":
            # The confirmation step: what will happen, said once more, with the same fields.
            return render(request, "revoke_confirm.html", cert=cert, reason=reason, note=note,
                          reasons=[(int(r_), reason_words(int(r_))) for r_ in RevocationReason],
                          status=200 if reason is not None or "reason" not in form else 422)
        revoke_certificate(ctx.engine, certificate_id, reason, note, office_code=office, by=p, actor=p.actor)
        return RedirectResponse(f"/console/office/certificates/{certificate_id}", status_code=303)

    @r.get("/certificates/{certificate_id}/correct")
    def correct_form(request: Request, staff: Who, certificate_id: uuid.UUID) -> Response:
        p = issuer(staff)
        cert = readable(p, certificate_id, "certificate.read")
        p.check_change(cert)
        return render(request, "correct.html", cert=cert, title=_title(cert.matter, language(request)),
                      form=build_form(cert.matter, json.loads(cert.data_json), lang=language(request)), confirm=False)

    @r.post("/certificates/{certificate_id}/correct")
    def correct(request: Request, staff: Who, certificate_id: uuid.UUID) -> Response:
        p = issuer(staff)
        form = posted(request)
        cert = readable(p, certificate_id, "certificate.read")
        p.check_change(cert)
        data = parse_form(cert.matter, form)
        if form.get("confirmed") != "yes":
            return render(request, "correct.html", cert=cert, title=_title(cert.matter, language(request)),
                          form=build_form(cert.matter, data, lang=language(request)), confirm=True)
        issued = correct_certificate(ctx.issuing, certificate_id, data, office_code=office, by=p, actor=p.actor,
                                     issued_by=p.owner, name_notary=p.name_as_notary)
        return render(request, "issued.html", issued=issued, corrected=cert)

    return r


def _may_change(p: Principal, cert: Certificate) -> bool:
    try:
        p.check_change(cert)
    except Exception:
        return False
    return cert.status == "issued"


def _title(matter: str, lang: str) -> str:
    model = MATTERS[matter]
    return model.title_zh if lang == "zh" else model.title_en
