"""Errors of the issuer package. Each carries a stable code and a message a clerk understands."""

from __future__ import annotations

from errors import NotaryError


class IssuerError(NotaryError):
    code = "ISSUER_ERROR"
    http_status = 400


class InvalidTransition(IssuerError):
    """The certificate is not in a state that allows this action (e.g. already revoked)."""

    code = "CERTIFICATE_STATE_CONFLICT"
    http_status = 409


class CertificateAlreadyClosed(InvalidTransition):
    """The certificate was revoked or corrected already (perhaps a moment ago, by a change
    made at the same time): it can be neither revoked nor corrected any more. Nothing of
    the refused change is stored."""

    code = "CERTIFICATE_ALREADY_CLOSED"
    http_status = 409

    def __init__(self, status: str):
        zh = "撤销" if status == "revoked" else "更正"  # CertificateStatus values (models imports these errors' module)
        super().__init__(f"the certificate is already {status}; it can no longer be revoked or corrected",
                         f"该公证书已{zh}，不能再撤销或更正")
        self.status = status


class SigningUnavailable(IssuerError):
    """The signing processes (or the TSA behind them) could not sign; nothing was issued."""

    code = "SIGNING_UNAVAILABLE"
    http_status = 503


class DraftNotFound(IssuerError):
    code = "DRAFT_NOT_FOUND"
    http_status = 404


class Forbidden(IssuerError):
    """Logged in, but this role or person may not do this."""

    code = "FORBIDDEN"
    http_status = 403


class DraftNotYours(Forbidden):
    def __init__(self):
        super().__init__("this draft was started by another notary; ask your office administrator",
                         "该草稿由本处其他公证员创建，请联系公证处管理员")
