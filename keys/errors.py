"""Errors raised by the key stores. Each carries a stable code."""


from errors import NotaryError


class KeyStoreError(NotaryError):
    """Base class for key store errors: the operator's to fix; a client gets a 503."""

    code = "KEY_ERROR"
    http_status = 503
    public_message = ("the office's signing keys are not available; try again later", "公证处签名密钥暂不可用，请稍后再试")


class KeyStoreMissing(KeyStoreError):
    code = "KEY_STORE_MISSING"


class KeyStoreLocked(KeyStoreError):
    """The passphrase does not open the key store."""

    code = "KEY_STORE_LOCKED"
