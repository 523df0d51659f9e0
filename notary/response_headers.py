"""The headers every response carries, added in one pass (each ASGI layer costs a cached
lookup a measurable share of its time):

- security headers that keep the pages from being framed, leaking their URLs (which carry
  QR check codes) or running injected script;
- ``X-Request-ID``: the caller's own if it is plain, else a new one, also set for every
  log line written while the request is served (observability.logs), so an operator can
  find a clerk's failed request.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.logs import REQUEST_ID, REQUEST_ID_HEADER, request_id_for

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
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode()


class ResponseHeaders:
    """ASGI middleware, the outermost layer: refusals by inner layers carry the headers too."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = HEADERS[1:] if scope.get("path") in DOCS_PATHS else HEADERS
        offered = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == _REQUEST_ID), None)
        request_id = request_id_for(offered)
        token = REQUEST_ID.set(request_id)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                message = {**message, "headers": [*headers, *(h for h in extra if h[0] not in present),
                                                  (_REQUEST_ID, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            REQUEST_ID.reset(token)
