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


class ResultExpired(VerifierError):
    code = "RESULT_EXPIRED"
    http_status = 404

    def __init__(self):
        super().__init__("this verification result is no longer kept (results are kept for a day); upload the file "
                         "again", "该核验结果已过保存期（保存一天），请重新上传文件")


class WrongAccessCode(VerifierError):
    code = "ACCESS_CODE_WRONG"
    http_status = 403
