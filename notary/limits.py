"""Request body limits enforced while the body streams in, before it is all read."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large_response(limit: int) -> bytes:
    mb = limit / (1024 * 1024)
    return json.dumps({"error": {
        "code": "UPLOAD_TOO_LARGE",
        "message": f"the request body is larger than the {mb:g} MB limit",
        "message_zh": f"上传内容超过 {mb:g} MB 的上限",
    }}, ensure_ascii=False).encode()


class BodySizeLimit:
    """Refuse bodies over ``limit`` bytes with 413: at once when Content-Length says so,
    otherwise as soon as the streamed bytes pass the limit (chunked uploads)."""

    def __init__(self, app: ASGIApp, limit: int, advertised: int | None = None, json_limit: int = 1024 * 1024):
        """``limit`` counts the whole body (multipart framing included); messages name
        ``advertised``, the file size users are told about. JSON bodies (the batch API
        included) have their own, smaller ``json_limit``."""
        self.app = app
        self.limit = limit
        self.advertised = advertised or limit
        self.json_limit = json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"application/json":
            limit, advertised = self.json_limit, self.json_limit
        else:
            limit, advertised = self.limit, self.advertised
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await self._reject(send, advertised)
                    return
        received = 0
        overflow = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, overflow
            if overflow:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Stop reading here; the app sees a disconnect, whatever it answers
                    # is replaced by the 413 below.
                    overflow = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if overflow:
                if not replaced:
                    replaced = True
                    await self._reject(send, advertised)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not overflow:
                raise
            if not replaced:
                await self._reject(send, advertised)

    async def _reject(self, send: Send, advertised: int) -> None:
        body = _too_large_response(advertised)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})
