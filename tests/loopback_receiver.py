"""A webhook receiver on the loopback for the feed's tests: a real HTTP server in a thread
that records each message (headers and body) and answers ``status``."""

from __future__ import annotations

import http.server
import threading


class LoopbackReceiver:
    def __init__(self, status: int = 204):
        self.status = status
        self.messages: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.messages.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    @property
    def bodies(self) -> list[bytes]:
        return [body for _, body in self.messages]

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
