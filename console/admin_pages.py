"""The office administrator's pages: staff accounts and roles, issuer tokens and registry
API keys (create, revoke, expiry), the office's signing key (validity, ledger registration,
rotation), the anchoring queue, the feed's receivers and deliveries, and the office's audit trail. An administrator acts on
their own office only: another office's account or token is reported as missing."""

from __future__ import annotations

import base64
import datetime as dt
import io
import uuid
from typing import Annotated

import qrcode
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, func, select

from errors import NotaryError
from feed import deliveries as feed_deliveries
from feed import receivers as feed_receivers
from anchoring.models import AnchorBatch, BatchState, OutboxEntry
from issuer.auth import IssuerToken, Role, create_token, revoke_token
from keys.credentials import CredentialLookupError
from records import audit
from signing import text_safety
from storage.clock import utcnow
from verifier.apikeys import create_api_key, list_api_keys, revoke_api_key

from . import accounts
from .errors import AccountNotFound, InvalidAccount, InvalidForm
from .web import OFFICE_ADMINS, ConsoleContext, ShownError, Staff, current_staff, posted, render, require_elevated, staff_route

Who = Annotated[Staff, Depends(current_staff)]
OFFICE_ROLES = {"notary": Role.NOTARY, "office_admin": Role.OFFICE_ADMIN}


def _qr_data_uri(text: str) -> str:
    """An otpauth:// URI as a QR code image for the authenticator app (a data: URI: the
    page loads nothing from elsewhere)."""
    buf = io.BytesIO()
    qrcode.make(text, box_size=5, border=2).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


MAX_DAYS = 3660  # ten years: a credential that outlives that should be made again


def _expiry(days: object) -> dt.datetime:
    """The expiry of a token or key valid for ``days`` (1 to ten years): anything else is
    refused, never taken as "no expiry"."""
    text = str(days or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MAX_DAYS):
        raise InvalidForm(f"a token or key is valid for 1 to {MAX_DAYS} days", f"有效天数应为1至{MAX_DAYS}天")
    return utcnow() + dt.timedelta(days=int(text))


def _holder_name(value: object, what_en: str, what_zh: str) -> str:
    """A credential's holder as typed: 1 to 120 characters the text policy allows."""
    name = str(value or "").strip()
    if not 1 <= len(name) <= 120:
        raise InvalidForm(f"{what_en}: 1 to 120 characters", f"{what_zh}为1至120个字符")
    found = text_safety.problems(name)
    if found:
        en, zh = text_safety.describe(found)
        raise InvalidForm(f"{what_en}: {en}", what_zh + zh)
    return name


def router(ctx: ConsoleContext) -> APIRouter:
    r = APIRouter(prefix="/console/office/admin", route_class=staff_route(ctx, OFFICE_ADMINS), include_in_schema=False)
    office = ctx.issuing.office.code

    def mine(staff: Staff) -> str:
        # An administrator of another office signed in to this service administers nothing here.
        staff.principal.require_issuer(office)
        return office

    @r.get("")
    def overview(request: Request, staff: Who) -> Response:
        mine(staff)
        return render(request, "admin_home.html")

    # ---------------------------------------------------------------- staff accounts
    @r.get("/staff")
    def staff_list(request: Request, staff: Who) -> Response:
        return render(request, "admin_staff.html", users=accounts.list_users(ctx.engine, mine(staff)), made=None)

    def handed_over(request: Request, code: str, made: accounts.NewCredentials) -> Response:
        """The staff page with a new or reset account's secrets, shown this once."""
        return render(request, "admin_staff.html", users=accounts.list_users(ctx.engine, code), made=made,
                      qr=_qr_data_uri(made.totp_uri))

    @r.post("/staff")
    def staff_create(request: Request, staff: Who) -> Response:
        code = mine(staff)
        require_elevated(staff, "/console/office/admin/staff")
        form = posted(request)
        role = OFFICE_ROLES.get(str(form.get("role", "")))
        if role is None:
            raise InvalidAccount("choose notary or office administrator", "请选择公证员或公证处管理员")
        made = accounts.create_user(ctx.engine, ctx.sealing_key, str(form.get("username", ""))[:100],
                                    str(form.get("name", ""))[:100], role, code, actor=staff.actor)
        return handed_over(request, code, made)

    @r.post("/staff/{user_id}/reset")
    def staff_reset(request: Request, staff: Who, user_id: uuid.UUID) -> Response:
        code = mine(staff)
        require_elevated(staff, "/console/office/admin/staff")
        made = accounts.reset_user(ctx.engine, ctx.sealing_key, str(user_id), actor=staff.actor, office_code=code)
        return handed_over(request, code, made)

    @r.post("/staff/{user_id}/disable")
    def staff_disable(request: Request, staff: Who, user_id: uuid.UUID) -> Response:
        code = mine(staff)
        require_elevated(staff, "/console/office/admin/staff")
        form = posted(request)
        if user_id == staff.user.id:
            raise InvalidAccount("you cannot disable your own account", "不能停用自己的账户")
        accounts.set_disabled(ctx.engine, str(user_id), form.get("enable") != "yes", actor=staff.actor,
                              office_code=code)
        return RedirectResponse("/console/office/admin/staff", status_code=303)

    # ---------------------------------------------------------------- issuer tokens and API keys
    def office_tokens() -> list[IssuerToken]:
        with Session(ctx.engine) as s:
            return list(s.exec(select(IssuerToken).where(IssuerToken.office_code == office)
                               .order_by(col(IssuerToken.created_at).desc())))

    @r.get("/credentials")
    def credentials_page(request: Request, staff: Who) -> Response:
        mine(staff)
        return render(request, "admin_credentials.html", tokens=office_tokens(), keys=list_api_keys(ctx.engine),
                      shown=None, now=utcnow())

    @r.post("/tokens")
    def token_create(request: Request, staff: Who) -> Response:
        mine(staff)
        require_elevated(staff, "/console/office/admin/credentials")
        form = posted(request)
        role = OFFICE_ROLES.get(str(form.get("role", "")))
        name = _holder_name(form.get("name"), "the token's holder", "令牌持有人")
        if role is None:
            raise InvalidAccount("choose notary or office administrator", "请选择公证员或公证处管理员")
        row, token = create_token(ctx.engine, name, role, office, expires_at=_expiry(form.get("days")),
                                  actor=staff.actor)
        return render(request, "admin_credentials.html", tokens=office_tokens(), keys=list_api_keys(ctx.engine),
                      shown={"kind": "token", "name": row.name, "secret": token}, now=utcnow())

    @r.post("/tokens/{token_id}/revoke")
    def token_revoke(staff: Who, token_id: uuid.UUID) -> Response:
        mine(staff)
        require_elevated(staff, "/console/office/admin/credentials")
        if not any(t.id == token_id for t in office_tokens()):
            raise AccountNotFound()
        revoke_token(ctx.engine, str(token_id), actor=staff.actor)
        return RedirectResponse("/console/office/admin/credentials", status_code=303)

    @r.post("/apikeys")
    def apikey_create(request: Request, staff: Who) -> Response:
        mine(staff)
        require_elevated(staff, "/console/office/admin/credentials")
        form = posted(request)
        name = _holder_name(form.get("name"), "the registry or court the key is for", "使用该密钥的机构名称")
        row, key = create_api_key(ctx.engine, name, expires_at=_expiry(form.get("days")), actor=staff.actor,
                                  office=office)
        return render(request, "admin_credentials.html", tokens=office_tokens(), keys=list_api_keys(ctx.engine),
                      shown={"kind": "apikey", "name": row.name, "secret": key}, now=utcnow())

    @r.post("/apikeys/{key_id}/revoke")
    def apikey_revoke(staff: Who, key_id: uuid.UUID) -> Response:
        mine(staff)
        require_elevated(staff, "/console/office/admin/credentials")
        try:
            revoke_api_key(ctx.engine, str(key_id), actor=staff.actor, office=office)
        except CredentialLookupError:
            raise AccountNotFound() from None
        return RedirectResponse("/console/office/admin/credentials", status_code=303)

    # ---------------------------------------------------------------- signing key
    @r.get("/key")
    def key_status(request: Request, staff: Who) -> Response:
        mine(staff)
        try:
            signer, usable, problem = ctx.issuing.current_signer(), True, None
        except NotaryError as exc:  # expired, revoked or retired: shown, with why (its public words)
            view = exc.client_view()
            signer, usable, problem = ctx.issuing.signer, False, ShownError(view["code"], view["message"],
                                                                             view["message_zh"])
        cert = signer.certificate
        fingerprint = signer.fingerprint
        on_ledger = "no-ledger"
        if ctx.verifying.registry is not None:
            try:
                key = ctx.verifying.registry.get_signing_key(fingerprint)
                on_ledger = "missing" if key is None else "retired" if key.revoked_at else "registered"
            except NotaryError:  # the node away: the page says so instead of failing
                on_ledger = "unknown"
        return render(request, "admin_key.html", subject=cert.subject.human_friendly,
                      not_before=cert.not_valid_before, not_after=cert.not_valid_after, fingerprint=fingerprint.hex(),
                      on_ledger=on_ledger, usable=usable, problem=problem, can_rotate=ctx.rotate_key is not None)

    @r.post("/key/rotate")
    def key_rotate(request: Request, staff: Who) -> Response:
        mine(staff)
        require_elevated(staff, "/console/office/admin/key")
        form = posted(request)
        if ctx.rotate_key is None or form.get("confirmed") != "yes":
            return render(request, "admin_key_confirm.html")
        ctx.rotate_key(staff.actor)
        return RedirectResponse("/console/office/admin/key", status_code=303)

    # ---------------------------------------------------------------- anchoring queue
    @r.get("/anchoring")
    def anchoring(request: Request, staff: Who) -> Response:
        mine(staff)
        with Session(ctx.engine) as s:
            waiting = s.exec(select(func.count()).select_from(OutboxEntry).where(
                OutboxEntry.office_code == office, col(OutboxEntry.batch_id).is_(None))).one()
            by_state = dict(s.exec(select(AnchorBatch.state, func.count()).where(AnchorBatch.office_code == office)
                                   .group_by(col(AnchorBatch.state))).all())
            recent = s.exec(select(AnchorBatch).where(AnchorBatch.office_code == office)
                            .order_by(col(AnchorBatch.created_at).desc()).limit(30)).all()
        return render(request, "admin_anchoring.html", waiting=waiting, by_state=by_state, recent=recent,
                      states=[BatchState.BUILT, BatchState.SENT, BatchState.CONFIRMED], now=utcnow())

    # ---------------------------------------------------------------- the feed
    @r.get("/feed")
    def feed_page(request: Request, staff: Who,
                  state: Annotated[str, Query(pattern="^(|pending|delivered|dead)$")] = "") -> Response:
        code = mine(staff)
        return render(request, "admin_feed.html", receivers=feed_receivers.list_receivers(ctx.engine, code),
                      counts=feed_deliveries.counts(ctx.engine, code), state=state,
                      deliveries=feed_deliveries.list_deliveries(ctx.engine, office_code=code, state=state or None,
                                                                 limit=100))

    @r.post("/feed/deliveries/{delivery_id}/replay")
    def feed_replay(staff: Who, delivery_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
        # Only the office's own receivers' deliveries: another office's is reported as missing.
        feed_deliveries.replay(ctx.engine, staff.actor, delivery_id=delivery_id, office_code=mine(staff))
        return RedirectResponse("/console/office/admin/feed", status_code=303)

    # ---------------------------------------------------------------- audit trail
    @r.get("/audit")
    def audit_trail(request: Request, staff: Who, action: Annotated[str, Query(max_length=40)] = "",
                    page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
        code = mine(staff)
        events = audit.list_events(ctx.engine, office=code, action=action or None, limit=100, offset=(page - 1) * 100)
        return render(request, "audit.html", events=events, office=code, action=action, page=page, offices=None,
                      base="/console/office/admin/audit", check=None)

    return r
