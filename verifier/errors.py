"""Errors of the verifier package: bad input from outside, each with a stable code,
an HTTP status and messages in Chinese and English."""


class VerifierError(Exception):
    code = "VERIFIER_ERROR"
    http_status = 400

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


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


class UnknownCertificate(VerifierError):
    code = "CERTIFICATE_NOT_FOUND"
    http_status = 404
