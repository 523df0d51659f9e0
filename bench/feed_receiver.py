"""The receiver of bench/feed.py: a bare ASGI app that reads each POST's body and answers 204,
served by uvicorn with uvloop and httptools in its own process (as fast a receiver as this
machine has, so that the feed, not the receiver, is measured)."""

from __future__ import annotations


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
