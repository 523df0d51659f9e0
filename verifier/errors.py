"""Errors of the verifier package: bad input from outside, each with a stable code,
an HTTP status and messages in Chinese and English."""


from errors import NotaryError


class VerifierError(NotaryError):
    code = "VERIFIER_ERROR"
    http_status = 400


class EmptyUpload(VerifierError):
    code = "EMPTY_UPLOAD"
    http_status = 400


class UploadTooLarge(VerifierError):
    code = "UPLOAD_TOO_LARGE"
    http_status = 413


class NotAPdf(VerifierError):
    code = "NOT_A_PDF"
    http_status = 415


class MalformedPdf(VerifierError):
    code = "PDF_MALFORMED"
    http_status = 422


class EncryptedPdf(VerifierError):
    code = "PDF_ENCRYPTED"
    http_status = 422


class UnsignedPdf(VerifierError):
    code = "PDF_NOT_SIGNED"
    http_status = 422


class PdfTooComplex(VerifierError):
    """Too many pages or objects for a notarial certificate: refused before any deep work."""

    code = "PDF_TOO_COMPLEX"
    http_status = 422


class ParseTimeout(VerifierError):
    code = "PDF_PARSE_TIMEOUT"
    http_status = 422


class VerifierBusy(VerifierError):
    code = "VERIFIER_BUSY"
    http_status = 503


class UnknownCertificate(VerifierError):
    code = "CERTIFICATE_NOT_FOUND"
    http_status = 404


class BatchTooLarge(VerifierError):
    code = "BATCH_OVER_KEY_LIMIT"
    http_status = 422

    def __init__(self, per_minute: int):
        super().__init__(f"this API key may verify {per_minute} items a minute; send at most that many a call",
                         f"该 API 密钥每分钟最多核验 {per_minute} 项，请每次最多发送 {per_minute} 项")


class BadSubscriptionRef(VerifierError):
    """A subscription's certificate given as neither an id (UUID) nor a SHA-256 fingerprint."""

    code = "SUBSCRIPTION_REF_INVALID"
    http_status = 422


class SubscriptionNotFound(VerifierError):
    """This API key has no subscription to the certificate (another key's are never seen)."""

    code = "SUBSCRIPTION_NOT_FOUND"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("this API key is not subscribed to this certificate", "本密钥未订阅此公证书")


class ResultExpired(VerifierError):
    code = "RESULT_EXPIRED"
    http_status = 404

    def __init__(self):
        super().__init__("this verification result is no longer kept (results are kept for a day); upload the file "
                         "again", "该核验结果已过保存期（保存一天），请重新上传文件")


class WrongAccessCode(VerifierError):
    code = "ACCESS_CODE_WRONG"
    http_status = 403


class PackageRefused(VerifierError):
    """An evidence package (ASiC-E) that cannot be read safely: refused before any check,
    never reported as FAILED (nothing in it was looked at)."""

    code = "PACKAGE_REFUSED"
    http_status = 422


class NotAPackage(PackageRefused):
    code = "PACKAGE_NOT_A_ZIP"
    http_status = 415

    def __init__(self, detail: str = "the file is not a ZIP container") -> None:
        super().__init__(f"not an evidence package (ASiC-E): {detail}", "该文件不是证据包（ASiC-E 容器）")


class PackageTooLarge(PackageRefused):
    """Over the limits on entries, sizes or compression ratio (a zip bomb looks like this)."""

    code = "PACKAGE_TOO_LARGE"
    http_status = 413

    def __init__(self, detail: str) -> None:
        super().__init__(f"the evidence package exceeds a limit: {detail}", f"证据包超出限制：{detail}")


class PackageUnsafeName(PackageRefused):
    code = "PACKAGE_UNSAFE_NAME"

    def __init__(self, name: str) -> None:
        super().__init__(f"the evidence package holds an entry with an unsafe name: {name!r}",
                         f"证据包中有名称不安全的条目：{name!r}")


class PackageDuplicateEntry(PackageRefused):
    code = "PACKAGE_DUPLICATE_ENTRY"

    def __init__(self, name: str) -> None:
        super().__init__(f"the evidence package holds two entries named {name!r}",
                         f"证据包中有两个同名条目：{name!r}")


class PackageMimetype(PackageRefused):
    """ETSI EN 319 162-1: ``mimetype`` first, stored, at offset 0, naming ASiC-E."""

    code = "PACKAGE_MIMETYPE"

    def __init__(self, detail: str) -> None:
        super().__init__(f"not an ASiC-E container: {detail}", f"不是 ASiC-E 容器：{detail}")


class PackageMalformed(PackageRefused):
    code = "PACKAGE_MALFORMED"

    def __init__(self, detail: str) -> None:
        super().__init__(f"the evidence package is damaged: {detail}", f"证据包已损坏：{detail}")


class NotAPreservationCertificate(VerifierError):
    """A file or fingerprint checked against a certificate that preserves no evidence."""

    code = "NOT_A_PRESERVATION_CERTIFICATE"
    http_status = 422

    def __init__(self) -> None:
        super().__init__("this certificate is not a preservation certificate: it preserves no file",
                         "该公证书不是电子证据保全证书，未保全任何电子数据")
