"""What every console page shares: the context wired by the application shell, the route
classes that enforce sign-in, role and CSRF before a handler runs (so no page can forget
them), the language cookie, and rendering with the console's templates.

Cookies are ``HttpOnly`` and ``SameSite=Strict``; with ``secure_cookies`` (the default)
they are also ``Secure`` and carry the ``__Host-`` prefix, which a browser accepts only
from HTTPS (or a loopback address) and never lets a sibling domain set."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from errors import NotaryError
from records import audit
from records.matters import MATTERS
from storage.clock import utcnow
from sqlalchemy.exc import DataError
from issuer.auth import Principal, Role
from issuer.service import IssuerContext
from verifier.client_address import client_address, client_bucket
from verifier.ratelimit import FailureLimiter
from verifier.service import VerifierContext

from . import staff_sessions
from .accounts import principal_of
from .errors import CsrfRejected, ElevationRequired, InvalidForm, NotAllowed, PasswordChangeRequired, SessionExpired
from .models import StaffSession, StaffUser

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATIC_DIR = Path(__file__).parent / "static"
LANGUAGES = ("zh", "en")


@dataclass
class ConsoleContext:
    """What the console needs, wired once by the application shell."""

    issuing: IssuerContext
    verifying: VerifierContext
    sealing_key: bytes = field(repr=False)
    timeouts: staff_sessions.Timeouts
    secure_cookies: bool = True
    trusted_proxies: list = field(default_factory=list)
    # Sign-in failures per client address (on top of the per-account lock-out): a guesser
    # spraying many accounts from one address is stopped too.
    signin_failures: FailureLimiter = field(default_factory=lambda: FailureLimiter(max_failures=20))
    # Failures of user names no account has, counted as an account's are (accounts.sign_in).
    unknown_names: FailureLimiter = field(default_factory=lambda: FailureLimiter(max_failures=5))
    # The ledger for inspection draws: (registry client, the registry administrator's account,
    # whether this service makes the seed block itself: the embedded development node), or None.
    ledger: Callable[[], tuple[Any, Any, bool]] | None = None
    # The office administrator's key rotation (the shell's, which knows the key store); None: not offered.
    rotate_key: Callable[[str], Any] | None = None

    @property
    def engine(self):
        return self.issuing.engine

    @property
    def session_cookie(self) -> str:
        return "__Host-notary_staff" if self.secure_cookies else "notary_staff"

    @property
    def signin_cookie(self) -> str:
        return "__Host-notary_signin" if self.secure_cookies else "notary_signin"

    def client(self, request: Request) -> str:
        return client_bucket(client_address(request, self.trusted_proxies))

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure_cookies, httponly=True,
                            samesite="strict")

    def delete_cookie(self, response: Response, name: str) -> None:
        """Clear a cookie with the attributes it was set with: a browser ignores clearing a
        ``__Host-`` cookie without ``Secure``."""
        response.delete_cookie(name, path="/", secure=self.secure_cookies, httponly=True, samesite="strict")


@dataclass(frozen=True)
class Staff:
    """The signed-in person of a request."""

    user: StaffUser
    session: StaffSession

    @property
    def principal(self) -> Principal:
        return principal_of(self.user)

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def actor(self) -> str:
        return self.principal.actor

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    @property
    def elevated(self) -> bool:
        until = self.session.elevated_until
        return until is not None and until > utcnow()


ELEVATION = dt.timedelta(minutes=5)  # how long a fresh code allows the powerful actions


def require_elevated(staff: Staff, back: str) -> None:
    """Refuse a powerful action until the person gives a fresh TOTP code (sudo mode), then
    send them back to ``back`` (the page the action's form is on)."""
    if not staff.elevated:
        raise ElevationRequired(back)


def language(request: Request) -> str:
    lang = request.cookies.get("notary_lang", "zh")
    return lang if lang in LANGUAGES else "zh"


@dataclass(frozen=True)
class ShownError:
    """What a page shows of an error: its public words only (an error's own message may be
    for the operator's log, e.g. a node's address)."""

    code: str
    message: str
    message_zh: str


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A console page: never cached (personal data, CSRF tokens), in the reader's language."""
    staff: Staff | None = getattr(request.state, "staff", None)
    if isinstance(context.get("error"), NotaryError):
        view = context["error"].client_view()
        context["error"] = ShownError(view["code"], view["message"], view["message_zh"])
    lang = language(request)
    response = TEMPLATES.TemplateResponse(request, template, {
        "lang": lang, "staff": staff, "csrf": staff.csrf if staff else None, "path": request.url.path,
        "matter_title": lambda key: _matter_title(key, lang), **context}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _matter_title(key: str | None, lang: str) -> str:
    """A matter's name for a page (公证事项), or the key as stored when no matter has it."""
    model = MATTERS.get(key or "")
    if model is None:
        return key or ""
    return model.title_zh if lang == "zh" else model.title_en


def error_page(request: Request, exc: NotaryError) -> HTMLResponse:
    response = render(request, "error.html", status=exc.http_status, error=exc)
    for name, value in exc.headers().items():
        response.headers[name] = value
    return response


def signin_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/signin?next={quote(target, safe='')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path of this site only (no open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target \
            and len(target) < 500:
        return target
    return "/console/"


def refuse_nul(request: Request, form: Any = None) -> None:
    """A NUL byte in a query or form value: refused here (PostgreSQL refuses it in any text,
    and no field of the console has a use for it)."""
    values = list(request.query_params.values()) + [v for v in (form.values() if form is not None else [])
                                                     if isinstance(v, str)]
    if any("\x00" in v for v in values) or "\x00" in request.url.path:
        raise InvalidForm("a value holds a NUL character", "输入内容含有空字符（NUL）")


def check_csrf(expected: str | None, offered: object) -> None:
    if not expected or not isinstance(offered, str) or not hmac.compare_digest(expected.encode(), offered.encode()):
        raise CsrfRejected()


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def public_route(ctx: ConsoleContext) -> type[APIRoute]:
    """Pages anyone may open (sign-in): errors answer as pages."""

    class PublicRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    refuse_nul(request, await request.form() if request.method == "POST" else None)
                    return await handler(request)
                except RequestValidationError:
                    return error_page(request, InvalidForm("a value of the form or address is not valid here",
                                                           "表单或网址中的内容无效"))
                except NotaryError as exc:
                    return error_page(request, exc)

            return guarded

    return PublicRoute


def staff_route(ctx: ConsoleContext, roles: tuple[Role, ...], *, allow_pending_password: bool = False) -> type[APIRoute]:
    """Pages for signed-in staff of ``roles``: the session is resumed (or the reader is sent
    to sign in), the role checked (403), a form's CSRF token checked (403) before the
    handler runs; errors answer as pages."""

    class StaffRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                found = await run_in_threadpool(staff_sessions.resume, ctx.engine,
                                                request.cookies.get(ctx.session_cookie), ctx.timeouts)
                if found is None:
                    if request.method != "GET":
                        response = error_page(request, SessionExpired())
                        ctx.delete_cookie(response, ctx.session_cookie)
                        return response
                    return signin_redirect(request)
                staff = Staff(found[1], found[0])
                request.state.staff = staff
                try:
                    # The form is read here once (handlers take it from request.state.form, so
                    # they can be plain functions run off the event loop).
                    form = await request.form() if request.method not in ("GET", "HEAD") else None
                    request.state.form = form
                    refuse_nul(request, form)
                    if staff.role not in roles:
                        raise NotAllowed()
                    if staff.user.must_change_password and not allow_pending_password:
                        return RedirectResponse("/console/password", status_code=303)
                    if form is not None:
                        check_csrf(staff.csrf, form.get("csrf"))
                    return await handler(request)
                except RequestValidationError:  # a malformed id or parameter in the address
                    return error_page(request, InvalidForm("the address holds a value that is not valid here",
                                                           "网址中的参数无效"))
                except DataError:  # a value the database refuses: the request's fault, nothing stored
                    return error_page(request, InvalidForm("a value cannot be stored or searched as given",
                                                           "输入内容无法保存或查询"))
                except NotaryError as exc:
                    if isinstance(exc, PasswordChangeRequired):
                        return RedirectResponse("/console/password", status_code=303)
                    if isinstance(exc, ElevationRequired):
                        return RedirectResponse(f"/console/confirm?next={quote(safe_next(exc.back), safe='')}",
                                                status_code=303)
                    if exc.http_status == 403 and not isinstance(exc, CsrfRejected):
                        # Someone signed in trying what their role or office does not allow: recorded.
                        await run_in_threadpool(audit.record, ctx.engine, staff.actor, "console.refused", "console", {
                            "code": exc.code, "method": request.method, "path": request.url.path[:200]},
                                                office=staff.user.office_code)
                    return error_page(request, exc)

            return guarded

    return StaffRoute


def current_staff(request: Request) -> Staff:
    """The dependency handlers take: set by the route class before the handler runs."""
    return request.state.staff


def posted(request: Request) -> Any:
    """The form of a POST, read (and its CSRF token checked) by the route class."""
    return request.state.form


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


ALL_STAFF = (Role.NOTARY, Role.OFFICE_ADMIN, Role.REGISTRY_ADMIN)
OFFICE_STAFF = (Role.NOTARY, Role.OFFICE_ADMIN)
OFFICE_ADMINS = (Role.OFFICE_ADMIN,)
REGULATORS = (Role.REGISTRY_ADMIN,)
