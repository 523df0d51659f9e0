"""Errors of evidence preservation. Each carries a stable code, its HTTP status and zh/en messages."""

from __future__ import annotations

from errors import NotaryError


class PreservationError(NotaryError):
    code = "PRESERVATION_ERROR"
    http_status = 400


class EvidenceNotFound(PreservationError):
    code = "EVIDENCE_NOT_FOUND"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("no preserved evidence with this id", "没有此保全记录")
