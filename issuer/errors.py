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


class CertificateBeingChanged(CertificateAlreadyClosed):
    """A correction of this certificate is being signed; it will close the certificate, so
    a second correction is refused as if it already had. (A revocation goes ahead: see
    issuer.claims.)"""

    def __init__(self) -> None:
        InvalidTransition.__init__(
            self, "the certificate is being corrected at this moment (another request); it cannot be corrected twice",
            "该公证书正在更正（另一请求），不能重复更正")
        self.status = "being corrected"


class DraftBeingIssued(InvalidTransition):
    """Another clerk pressed issue on this draft a moment ago; their certificate is being signed."""

    code = "DRAFT_BEING_ISSUED"

    def __init__(self) -> None:
        super().__init__("the draft is being issued at this moment (by another request)", "该草稿正在出证")


class NumberReservationLost(IssuerError):
    """This process was taken for dead while it signed, and its number was handed out
    again: nothing was issued, and the request may simply be made again."""

    code = "NUMBER_RESERVATION_LOST"
    http_status = 503

    def __init__(self) -> None:
        super().__init__("issuing took too long and its number was given to another certificate; nothing was "
                         "issued, please try again", "出证超时，其编号已另行使用；未出证，请重试")


class IdempotentRequestRaced(IssuerError):
    """Two requests with one Idempotency-Key were issued at the same moment; the one that
    stored first wins and the other answers with its certificate."""

    code = "IDEMPOTENT_REQUEST_RACED"
    http_status = 409

    def __init__(self) -> None:
        super().__init__("the same request (Idempotency-Key) is being issued at this moment; try again",
                         "相同请求（幂等键）正在办理，请稍后重试")
