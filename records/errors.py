"""Errors about certificate records: an unknown matter, invalid matter data, a certificate
that is not there."""

from __future__ import annotations

from typing import Any

from errors import NotaryError


class RecordsError(NotaryError):
    code = "RECORDS_ERROR"
    http_status = 400


class UnknownMatter(RecordsError):
    code = "UNKNOWN_MATTER"
    http_status = 422


class MatterNotRequestable(RecordsError):
    """A matter whose data the service records itself (evidence preservation: the office's
    own receipt of a file), asked for where staff or a client type a certificate's data."""

    code = "MATTER_NOT_REQUESTABLE"
    http_status = 422


class InvalidMatterData(RecordsError):
    code = "INVALID_MATTER_DATA"
    http_status = 422

    def __init__(self, message: str, errors: list[dict], message_zh: str | None = None):
        super().__init__(message, message_zh)
        self.errors = errors

    def extra(self) -> dict[str, Any]:
        return {"fields": self.errors}


class CertificateNotFound(RecordsError):
    code = "CERTIFICATE_NOT_FOUND"
    http_status = 404
