"""The one error base of the service.

Every error a client or an operator can meet is a :class:`NotaryError`: it carries a stable
``code`` (documented, never reworded), the HTTP status it answers with, and a message in
English and in Chinese for a clerk. Each package's ``errors.py`` subclasses it; the
application has one handler for all of them. Anything else reaching the handler is a bug
and answers 500.
"""

from __future__ import annotations

from typing import Any, ClassVar


class NotaryError(Exception):
    """Base of every expected error: a stable code, an HTTP status, zh/en messages."""

    code: ClassVar[str] = "ERROR"
    http_status: ClassVar[int] = 400
    # What a client is told when the message itself is for the operator's log only.
    public_message: ClassVar[tuple[str, str] | None] = None

    def __init__(self, message: str, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (raised in a signing or parser process): rebuild
        # them from their attributes, whatever their constructor takes.
        return _rebuild, (type(self), self.message, dict(self.__dict__))

    def client_view(self) -> dict[str, Any]:
        """The JSON ``error`` object a client receives."""
        en, zh = self.public_message or (self.message, self.message_zh)
        return {"code": self.code, "message": en, "message_zh": zh, **self.extra()}

    def extra(self) -> dict[str, Any]:
        """More fields for the client (e.g. the fields a request got wrong)."""
        return {}

    def headers(self) -> dict[str, str]:
        """HTTP headers to send with the error (e.g. Retry-After)."""
        return {}


def _rebuild(cls: type[NotaryError], message: str, state: dict[str, Any]) -> NotaryError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class DatabaseUnavailable(NotaryError):
    """The database did not answer (restarting, unreachable, busy: storage.outages).
    Nothing was stored; a retry with the same Idempotency-Key is safe."""

    code = "DATABASE_UNAVAILABLE"
    http_status = 503

    def __init__(self) -> None:
        super().__init__("the database is unavailable for a moment; nothing was stored, please try again",
                         "数据库暂时不可用，本次未保存任何内容，请稍后重试")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "2"}
