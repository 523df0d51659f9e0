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
