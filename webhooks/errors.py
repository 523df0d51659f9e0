"""Errors of the webhook scheme."""

from __future__ import annotations

from errors import NotaryError


class WebhookError(NotaryError):
    code = "WEBHOOK_ERROR"
    http_status = 400


class BadSecret(WebhookError):
    code = "WEBHOOK_SECRET_INVALID"

    def __init__(self) -> None:
        super().__init__("a webhook secret is 'whsec_' followed by 24 to 64 bytes in base64",
                         "回调密钥格式应为 whsec_ 加 24 至 64 字节的 Base64 编码")


class SignatureMismatch(WebhookError):
    """No signature on the message was made with a secret given, or its time is too far off."""

    code = "WEBHOOK_SIGNATURE_INVALID"
    http_status = 401

    def __init__(self, why: str) -> None:
        super().__init__(f"the webhook signature does not hold: {why}", "回调签名无效")
