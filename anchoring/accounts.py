"""Ledger accounts of this deployment: the registry administrator and the office's
anchoring account. Kept in the data directory as Ethereum keystore files (encrypted with
the key passphrase), or given directly by settings for an external network.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import RPCEndpoint

from .errors import AnchoringError

# PBKDF2 instead of the keystore default (scrypt, ~1 s): the CLI opens these on every run.
KDF_ITERATIONS = 200_000


class AccountStoreLocked(AnchoringError):
    code = "CHAIN_ACCOUNT_LOCKED"


@dataclass(frozen=True)
class ChainAccounts:
    admin: LocalAccount
    anchor: LocalAccount


def _load_or_create(path: Path, passphrase: bytes) -> LocalAccount:
    if path.exists():
        try:
            # eth_account annotates the password as str but takes bytes as they are (text_if_str).
            key = Account.decrypt(json.loads(path.read_text()), passphrase)  # type: ignore[arg-type]
        except ValueError as exc:
            raise AccountStoreLocked(f"cannot open {path.name}: wrong key passphrase") from exc
        return Account.from_key(key)
    account = Account.create()
    # Bytes for the str-annotated password again, as in decrypt above.
    keystore = Account.encrypt(account.key, passphrase,  # type: ignore[arg-type]
                               kdf="pbkdf2", iterations=KDF_ITERATIONS)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keystore, fh)
    return account


def load_or_create_accounts(directory: Path, passphrase: bytes) -> ChainAccounts:
    directory.mkdir(parents=True, exist_ok=True)
    return ChainAccounts(
        admin=_load_or_create(directory / "registry-admin.keystore.json", passphrase),
        anchor=_load_or_create(directory / "office-anchor.keystore.json", passphrase),
    )


def fund_on_dev_node(w3: Web3, *addresses: str, ether: int = 1000) -> None:
    """Give accounts gas money on an anvil node (``anvil_setBalance``); dev chains only."""
    for address in addresses:
        w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [address, hex(Web3.to_wei(ether, "ether"))])
