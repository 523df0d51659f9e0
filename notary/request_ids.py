"""Every request gets an id: the caller's ``X-Request-ID`` if it is plain, else a new one.
It is in every log line written while the request is served (observability.logs) and in
the response's ``X-Request-ID`` header, so an operator can find a clerk's failed request."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.logs import REQUEST_ID, REQUEST_ID_HEADER, request_id_for

_HEADER = REQUEST_ID_HEADER.lower().encode()


class RequestIds:
    """ASGI middleware: the outermost layer, so refusals by inner layers carry the id too."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == _HEADER), None)
        request_id = request_id_for(offered)
        token = REQUEST_ID.set(request_id)

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (_HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            REQUEST_ID.reset(token)
