"""Errors of the anchoring package. Each carries a stable code; a client is told only that
the ledger is unavailable (the details are for the operator's log)."""

from errors import NotaryError


class AnchoringError(NotaryError):
    code = "ANCHORING_ERROR"
    http_status = 503
    public_message = ("the ledger is unavailable; try again later", "公证链暂不可用，请稍后再试")


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


class MirrorRaced(AnchoringError):
    """Two followers stored the same blocks at once; the other one's rows stand."""

    code = "LEDGER_MIRROR_RACED"
