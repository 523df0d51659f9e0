"""Signing in and out: password and TOTP code on one form, the first-sign-in password
change, sign-out here and everywhere, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from errors import NotaryError
from records import audit
from storage.clock import utcnow
from verifier.ratelimit import RateLimited

from . import accounts, staff_sessions
from .web import (
    ALL_STAFF,
    ELEVATION,
    LANGUAGES,
    ConsoleContext,
    Staff,
    check_csrf,
    current_staff,
    new_csrf,
    public_route,
    render,
    safe_next,
    staff_route,
)

HOME = {"notary": "/console/office", "office_admin": "/console/office", "registry_admin": "/console/regulator"}


def router(ctx: ConsoleContext) -> APIRouter:
    public = APIRouter(prefix="/console", route_class=public_route(ctx), include_in_schema=False)
    signed_in = APIRouter(prefix="/console", route_class=staff_route(ctx, ALL_STAFF), include_in_schema=False)
    pending = APIRouter(prefix="/console", route_class=staff_route(ctx, ALL_STAFF, allow_pending_password=True),
                        include_in_schema=False)

    def signin_form(request: Request, next_: str, *, error: NotaryError | None = None, status: int = 200,
                    username: str = "") -> Response:
        token = new_csrf()
        response = render(request, "signin.html", status=status, error=error, signin_csrf=token, next=next_,
                          username=username)
        ctx.set_cookie(response, ctx.signin_cookie, token, max_age=1800)
        return response

    @public.get("/signin")
    def signin_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
        return signin_form(request, safe_next(next))

    @public.post("/signin")
    def signin(request: Request, username: Annotated[str, Form(max_length=200)],
               password: Annotated[str, Form(max_length=200)], code: Annotated[str, Form(max_length=20)],
               csrf: Annotated[str, Form(max_length=100)], next: Annotated[str, Form(max_length=500)] = "/console/"
               ) -> Response:
        target = safe_next(next)
        # Login CSRF: the form's token must match the cookie this site set with the form.
        check_csrf(request.cookies.get(ctx.signin_cookie), csrf)
        client = ctx.client(request)
        try:
            ctx.signin_failures.check(client)
            user = accounts.sign_in(ctx.engine, ctx.sealing_key, username, password, code, client=client,
                                    unknown_names=ctx.unknown_names)
        except RateLimited as exc:
            return signin_form(request, target, error=exc, status=429, username=username[:64])
        except NotaryError as exc:
            ctx.signin_failures.fail(client)
            return signin_form(request, target, error=exc, status=exc.http_status, username=username[:64])
        token, _ = staff_sessions.start(ctx.engine, user, client=client,
                                        user_agent=request.headers.get("user-agent"))
        home = HOME[user.role]
        response = RedirectResponse("/console/password" if user.must_change_password else
                                    (target if target != "/console/" else home), status_code=303)
        ctx.set_cookie(response, ctx.session_cookie, token)  # a session cookie: gone when the browser closes
        ctx.delete_cookie(response, ctx.signin_cookie)
        return response

    @public.get("/lang/{lang}")
    def switch_language(lang: str, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
        response = RedirectResponse(safe_next(next), status_code=303)
        if lang in LANGUAGES:
            response.set_cookie("notary_lang", lang, max_age=365 * 86400, path="/", samesite="strict", httponly=True)
        return response

    @signed_in.get("/")
    def home(staff: Annotated[Staff, Depends(current_staff)]) -> Response:
        return RedirectResponse(HOME[staff.user.role], status_code=303)

    @signed_in.get("/account")
    def account(request: Request, staff: Annotated[Staff, Depends(current_staff)]) -> Response:
        sessions = staff_sessions.active(ctx.engine, staff.user.id)
        return render(request, "account.html", sessions=sessions, current=staff.session.token_hash)

    @pending.post("/signout")
    def signout(staff: Annotated[Staff, Depends(current_staff)]) -> Response:
        staff_sessions.end(ctx.engine, staff.session.token_hash)
        audit.record(ctx.engine, staff.actor, "staff.signout", str(staff.user.id), {}, office=staff.user.office_code)
        response = RedirectResponse("/console/signin", status_code=303)
        ctx.delete_cookie(response, ctx.session_cookie)
        return response

    @pending.post("/signout-everywhere")
    def signout_everywhere(staff: Annotated[Staff, Depends(current_staff)]) -> Response:
        count = staff_sessions.end_all(ctx.engine, staff.user.id)
        audit.record(ctx.engine, staff.actor, "staff.signout_all", str(staff.user.id), {"sessions": count},
                     office=staff.user.office_code)
        response = RedirectResponse("/console/signin", status_code=303)
        ctx.delete_cookie(response, ctx.session_cookie)
        return response

    @signed_in.get("/confirm")
    def confirm_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
        return render(request, "confirm.html", next=safe_next(next))

    @signed_in.post("/confirm")
    def confirm(request: Request, staff: Annotated[Staff, Depends(current_staff)],
                code: Annotated[str, Form(max_length=20)], next: Annotated[str, Form(max_length=500)] = "/console/"
                ) -> Response:
        """A fresh TOTP code: the powerful actions are allowed for a few minutes."""
        target = safe_next(next)
        try:
            accounts.confirm_code(ctx.engine, ctx.sealing_key, staff.user.id, code, client=ctx.client(request))
        except NotaryError as exc:
            return render(request, "confirm.html", status=exc.http_status, error=exc, next=target)
        staff_sessions.elevate(ctx.engine, staff.session.token_hash, utcnow() + ELEVATION)
        return RedirectResponse(target, status_code=303)

    @pending.get("/password")
    def password_page(request: Request) -> Response:
        return render(request, "password.html")

    @pending.post("/password")
    def change_password(request: Request, staff: Annotated[Staff, Depends(current_staff)],
                              current: Annotated[str, Form(max_length=200)], new: Annotated[str, Form(max_length=200)],
                              again: Annotated[str, Form(max_length=200)]) -> Response:
        if new != again:
            from .errors import InvalidAccount

            return render(request, "password.html", status=422,
                          error=InvalidAccount("the two new passwords differ", "两次输入的新密码不一致"))
        try:
            accounts.change_password(ctx.engine, staff.user.id, current, new,
                                    keep_session=staff.session.token_hash)
        except NotaryError as exc:
            return render(request, "password.html", status=exc.http_status, error=exc)
        return RedirectResponse(HOME[staff.user.role], status_code=303)

    both = APIRouter()
    both.include_router(public)
    both.include_router(signed_in)
    both.include_router(pending)
    return both
