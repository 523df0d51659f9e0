"""Errors raised by the key stores. Each carries a stable code."""


class KeyStoreError(Exception):
    """Base class for key store errors."""

    code = "KEY_ERROR"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class KeyStoreMissing(KeyStoreError):
    code = "KEY_STORE_MISSING"


class KeyStoreLocked(KeyStoreError):
    """The passphrase does not open the key store."""

    code = "KEY_STORE_LOCKED"
