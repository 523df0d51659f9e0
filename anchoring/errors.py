"""Errors of the anchoring package. Each carries a stable code."""


class AnchoringError(Exception):
    code = "ANCHORING_ERROR"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ChainUnavailable(AnchoringError):
    """The chain node cannot be reached or did not answer in time."""

    code = "CHAIN_UNAVAILABLE"


class ChainNodeStartFailed(AnchoringError):
    code = "CHAIN_NODE_START_FAILED"


class ContractNotDeployed(AnchoringError):
    code = "CONTRACT_NOT_DEPLOYED"


class TransactionFailed(AnchoringError):
    code = "CHAIN_TRANSACTION_FAILED"


class ReceiptInvalid(AnchoringError):
    code = "RECEIPT_INVALID"


class OfficeNotRegistered(AnchoringError):
    """The worker's office is not registered on the ledger (nothing can be anchored for it)."""

    code = "OFFICE_NOT_REGISTERED"
