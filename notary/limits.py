"""Request body limits enforced while the body streams in, before it is all read, and
before any parser sees it: size (a PDF upload may be large, everything else is at most
1 MB) and, for JSON-like bodies, nesting depth."""

from __future__ import annotations

import json
import re

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large_response(limit: int) -> bytes:
    mb = limit / (1024 * 1024)
    return json.dumps({"error": {
        "code": "UPLOAD_TOO_LARGE",
        "message": f"the request body is larger than the {mb:g} MB limit",
        "message_zh": f"上传内容超过 {mb:g} MB 的上限",
    }}, ensure_ascii=False).encode()


# Routes that take a PDF upload (multipart or a raw application/pdf body).
UPLOAD_PATHS = frozenset({"/api/v1/verify", "/api/v1/verify/report.pdf"})
# What multipart framing and a form's few text fields add to the file itself.
FORM_FRAMING = 64 * 1024
# Deeper than any request of this API needs; far below what a recursive parser survives.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_like(content_type: bytes) -> bool:
    """application/json, application/*+json, text/json: every type a JSON parser may get."""
    media = content_type.split(b";")[0].strip().lower()
    return media in (b"application/json", b"text/json") or (media.startswith(b"application/")
                                                             and media.endswith(b"+json"))


def json_depth(body: bytes, stop_above: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of [ and { outside strings, counted without parsing (so a
    hostile body never reaches a recursive parser); stops counting once past ``stop_above``."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub(b"", body)):
        depth += 1 if match.group() in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > stop_above:
                break
    return deepest


class BodySizeLimit:
    """Refuse bodies over the limit with 413: at once when Content-Length says so,
    otherwise as soon as the streamed bytes pass it (chunked uploads). PDF upload routes
    take ``limit``; every other route at most ``json_limit``, whatever the content type.
    A JSON-like body nested deeper than MAX_JSON_DEPTH is a 400 before any parser runs."""

    def __init__(self, app: ASGIApp, limit: int, advertised: int | None = None, json_limit: int = 1024 * 1024,
                 uploads: Mapping[str, int] | None = None):
        """``limit`` counts the whole body (multipart framing included); messages name
        ``advertised``, the file size users are told about. ``uploads``: more routes that
        take a file (a form), each with the file size it takes (evidence preservation's)."""
        self.app = app
        self.limit = limit
        self.advertised = advertised or limit
        self.json_limit = json_limit
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        path = scope.get("path")
        if path in UPLOAD_PATHS and not json_like(headers.get(b"content-type", b"")):
            limit, advertised = self.limit, self.advertised
        elif path in self.uploads and not json_like(headers.get(b"content-type", b"")):
            advertised = self.uploads[path]
            limit = advertised + FORM_FRAMING
        else:
            limit, advertised = self.json_limit, self.json_limit
        if json_like(headers.get(b"content-type", b"")) and scope.get("method") in ("POST", "PUT", "PATCH"):
            await self._json(scope, receive, send, limit)
            return
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

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Read a JSON body whole (it is at most ``limit``), check its depth, then hand the
        same bytes to the app."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > MAX_JSON_DEPTH:
            await _answer(send, 400, {"error": {
                "code": "JSON_TOO_DEEP", "message": f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels",
                "message_zh": f"JSON 内容嵌套超过 {MAX_JSON_DEPTH} 层"}})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _reject(self, send: Send, advertised: int) -> None:
        body = _too_large_response(advertised)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})


async def _answer(send: Send, status: int, payload: dict) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
