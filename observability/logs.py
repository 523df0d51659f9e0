"""Structured logs: one JSON object per line, with the request id of the HTTP request
being served (also returned to the client in ``X-Request-ID``), so a clerk's complaint
("request 3f2a… failed") leads to its lines. Messages are the service's own sentences;
personal data (names, ID numbers, access codes) is never put in them."""

from __future__ import annotations

import contextvars
import datetime as dt
import itertools
import json
import logging
import re
import secrets

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's own id is kept only if it is short and plain, so it cannot forge log lines.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


# New ids: a random prefix per process and a counter. Unique across processes and restarts
# without a system call per request (os.urandom cost a cached lookup a few per cent).
_PREFIX = secrets.token_hex(4)
_COUNTER = itertools.count(1)


def request_id_for(offered: str | None) -> str:
    """The caller's id if acceptable, else a new one (16 hex digits)."""
    if offered and _ACCEPTABLE_ID.fullmatch(offered):
        return offered
    return f"{_PREFIX}{next(_COUNTER) % 0x1_0000_0000:08x}"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", "error"}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := REQUEST_ID.get()) is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def use_json_logs(level: int = logging.INFO) -> None:
    """Send every logger's records (uvicorn's too) to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)  # Python's warnings as log lines too, not bare text
    for name in ("notary", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.setLevel(level)


def configure_logs(log_format: str) -> None:
    """The logs of a long-running process: ``json`` (the default of the settings) or
    ``text`` (``LEVEL logger: message``)."""
    if log_format == "json":
        use_json_logs()
        return
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("notary").setLevel(logging.INFO)
