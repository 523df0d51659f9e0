"""Response headers that keep the pages from being framed, leaking their URLs (which carry
QR check codes) or running injected script."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No 'unsafe-inline': the pages' style sheet and script are files of this origin
# (verifier/static); page previews are data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]
# FastAPI's interactive documentation loads its own inline script; it gets the other headers.
DOCS_PATHS = ("/api/docs", "/api/docs/oauth2-redirect")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = HEADERS[1:] if scope.get("path") in DOCS_PATHS else HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *(h for h in extra if h[0] not in present)]}
            await send(message)

        await self.app(scope, receive, with_headers)
