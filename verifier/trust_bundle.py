"""The trust bundle: what a verifier pins instead of believing a receipt.

A receipt is whatever the person presenting a certificate hands over, so the ledger it
names proves nothing. A verifier trusts one ledger through this bundle, shipped with the
notarial root: the chain id, the registry contract's address, and a checkpoint block
(number and hash) that every node asked must have in its history (a node on another chain,
or a copy of the contract elsewhere, fails that). Published at
``GET /pki/trust-bundle.json`` and printed for a court's file by ``notary trust-bundle``.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, Field, field_validator
from web3 import Web3

TRUST_BUNDLE_VERSION = "ENOTARY-TRUST-V1"


class Checkpoint(BaseModel):
    number: int = Field(ge=0)
    hash: str = Field(pattern="^0x[0-9a-f]{64}$")


class TrustBundle(BaseModel):
    version: str = TRUST_BUNDLE_VERSION
    chain_id: int = Field(ge=1)
    registry: str
    checkpoint: Checkpoint
    notarial_root_pem: str = Field(max_length=20_000)

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        if v != TRUST_BUNDLE_VERSION:
            raise ValueError(f"not an {TRUST_BUNDLE_VERSION} trust bundle")
        return v

    @field_validator("registry")
    @classmethod
    def _registry(cls, v: str) -> str:
        if not Web3.is_address(v):
            raise ValueError("not a contract address")
        return Web3.to_checksum_address(v)

    def notarial_root_sha256(self) -> str:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        cert = x509.load_pem_x509_certificate(self.notarial_root_pem.encode())
        return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()

    def as_text(self) -> str:
        """A page for a court's file: what is trusted, in words."""
        return "\n".join([
            "电子公证书核验信任包 Trust bundle for verifying electronic notarial certificates",
            f"  格式 Format:                 {self.version}",
            f"  链标识 Chain id:             {self.chain_id}",
            f"  登记合约 Registry contract:  {self.registry}",
            f"  检查点区块 Checkpoint block:  {self.checkpoint.number}",
            f"  检查点哈希 Checkpoint hash:   {self.checkpoint.hash}",
            f"  公证根证书 SHA-256 Notarial root certificate: {self.notarial_root_sha256()}",
            "一份收据若指向其他链或合约，核验结果为未通过。",
            "A receipt that names another chain or contract is FAILED.",
        ])

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), ensure_ascii=False, indent=2)
