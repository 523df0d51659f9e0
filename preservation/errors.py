"""Errors of evidence preservation. Each carries a stable code, its HTTP status and zh/en messages."""

from __future__ import annotations

from typing import Any

from errors import NotaryError


class PreservationError(NotaryError):
    code = "PRESERVATION_ERROR"
    http_status = 400


class EvidenceNotFound(PreservationError):
    code = "EVIDENCE_NOT_FOUND"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("no preserved evidence with this id", "没有此保全记录")


class EvidenceTooLarge(PreservationError):
    """A submitted file over ``NOTARY_PRESERVATION_MAX_BYTES``. The same code as the body
    limit's refusal of a request too large to read (notary.limits): one meaning, one code."""

    code = "UPLOAD_TOO_LARGE"
    http_status = 413

    def __init__(self, limit: int) -> None:
        mb = f"{limit / (1024 * 1024):g}"
        super().__init__(f"the file is larger than the {mb} MB limit for preservation; submit its SHA-256 instead",
                         f"文件超过 {mb} MB 的保全上限，请改为提交其 SHA-256 数字指纹")


class InvalidSubmission(PreservationError):
    """A submission that names no evidence, or both a file and a fingerprint, or an empty
    file: field errors name what to send."""

    code = "INVALID_SUBMISSION"
    http_status = 422

    def __init__(self, message: str, message_zh: str, field: str, rule: str) -> None:
        super().__init__(message, message_zh)
        self.errors = [{"field": field, "rule": rule, "message": message, "message_zh": message_zh}]

    def extra(self) -> dict[str, Any]:
        return {"fields": self.errors}


class TimestampUnavailable(PreservationError):
    """The time-stamping authority did not answer with a valid token: nothing was stored."""

    code = "TIMESTAMP_UNAVAILABLE"
    http_status = 503

    def __init__(self, why: str) -> None:
        super().__init__(f"the trusted timestamp could not be obtained ({why}); nothing was stored, please try again",
                         "暂时无法取得可信时间戳，本次未保存任何内容，请稍后重试")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class PreservationNotSetUp(PreservationError):
    """The office has not named the notary who signs preservation certificates that clients
    request themselves (NOTARY_PRESERVATION_NOTARY)."""

    code = "PRESERVATION_NOT_SET_UP"
    http_status = 503

    def __init__(self) -> None:
        super().__init__("this office has not named the notary of its preservation certificates "
                         "(NOTARY_PRESERVATION_NOTARY); ask the office", "本公证处尚未指定电子证据保全的公证员，请联系公证处")


class FileNotKept(PreservationError):
    """Only the file's fingerprint was submitted: the office never held the file."""

    code = "EVIDENCE_FILE_NOT_KEPT"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("only the file's fingerprint was submitted; the office never held the file",
                         "申请人仅提交了数字指纹，本处未保管该文件")


class FilePurged(PreservationError):
    """The file was deleted when its retention period ended; its fingerprint, its timestamp
    and its certificate remain."""

    code = "EVIDENCE_FILE_PURGED"
    http_status = 410

    def __init__(self) -> None:
        super().__init__("the file was deleted when its retention period ended; its fingerprint and certificate remain",
                         "该文件保管期限已满，已被删除；数字指纹与保全证书仍然有效")


class InvalidOrder(PreservationError):
    """A release on order without a usable order reference (the order's number and issuer)."""

    code = "INVALID_ORDER_REFERENCE"
    http_status = 422

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message, message_zh)
        self.errors = [{"field": "order", "rule": "order_reference", "message": message, "message_zh": message_zh}]

    def extra(self) -> dict[str, Any]:
        return {"fields": self.errors}


class EvidenceDamaged(PreservationError):
    """The sealed file did not open, or opened to other bytes than the fingerprint says: the
    stored copy was altered or the installation secret changed. Never handed out."""

    code = "EVIDENCE_DAMAGED"
    http_status = 500
    public_message = ("the stored file cannot be released; the operator has been told",
                      "保管的文件无法取出，已通知运维人员")


class PackageNotAnchored(PreservationError):
    """An evidence package proves the anchor offline: it waits for the certificate's batch."""

    code = "PACKAGE_NOT_ANCHORED"
    http_status = 409

    def __init__(self) -> None:
        super().__init__("the certificate is not anchored on the ledger yet; make its evidence package once it is "
                         "(usually seconds)", "该公证书尚未上链锚定，请在锚定后再生成证据包（通常几秒钟）")


class PackageUnavailable(PreservationError):
    """Something an evidence package must hold cannot be had: the verification service's
    report key, or the ledger's record of the anchoring transaction."""

    code = "PACKAGE_UNAVAILABLE"
    http_status = 503
