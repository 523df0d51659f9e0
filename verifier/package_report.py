"""The report on an evidence package (ASiC-E), in the style of the certificate's report
(verifier/report.py): an overall indication and one entry per check, each with a stable
code and a message in Chinese and English. The certificate's own offline report is kept
inside it whole."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, Field

from .messages import message as certificate_message
from .report import CheckStatus, Indication, Report

PACKAGE_REPORT_VERSION = "ENOTARY-PACKAGE-REPORT-V1"


class PackageCheckName(StrEnum):
    """The checks of a package report, in the order they are reported."""

    CONTAINER = "container"  # a well-formed, bounded ASiC-E container
    MANIFEST = "manifest"  # every data object listed, with its SHA-256, and nothing else
    PACKAGE_SIGNATURE = "package_signature"  # the office's CAdES signature over the manifest
    CERTIFICATE = "certificate"  # the certificate PDF, offline, with its receipt
    EVIDENCE = "evidence"  # the file (or its hash) is the one the certificate names
    EVIDENCE_TIMESTAMP = "evidence_timestamp"  # the RFC 3161 token over that hash
    TRANSACTION = "transaction"  # transaction.json is the receipt's anchor, as the nodes read it
    VERIFICATION_REPORT = "verification_report"  # the signed report is intact and about this certificate


CHECK_ORDER = tuple(PackageCheckName)
# SKIPPED with these codes is no gap: a certificate of another matter has no evidence.
BENIGN_SKIPS = frozenset({"NOT_A_PRESERVATION_CERTIFICATE"})

PACKAGE_MESSAGES: dict[str, tuple[str, str]] = {
    # container
    "CONTAINER_WELL_FORMED": ("证据包是格式正确的 ASiC-E 容器，大小和条目数在限制之内。",
                              "The package is a well-formed ASiC-E container within the limits on size and entries."),
    # manifest
    "MANIFEST_MATCHES": ("清单列明了每个数据文件及其 SHA-256 指纹，全部相符，且没有清单以外的文件。",
                         "The manifest lists every data object with its SHA-256 digest; all match and nothing else is in the package."),
    "MANIFEST_MISSING": ("证据包没有清单（META-INF/ASiCManifest.xml）。", "The package has no manifest (META-INF/ASiCManifest.xml)."),
    "MANIFEST_MALFORMED": ("清单格式不正确。", "The manifest is malformed."),
    "MANIFEST_DIGEST_MISMATCH": ("有文件与清单所列的指纹不符：文件在签署后被改动。",
                                 "A file does not match its digest in the manifest: it was changed after the package was signed."),
    "MANIFEST_OBJECT_MISSING": ("清单所列的文件不在证据包中（被删除或改名）。",
                                "A file the manifest lists is not in the package (removed or renamed)."),
    "MANIFEST_UNLISTED_OBJECT": ("证据包中有清单未列明的文件（被添加）。", "The package holds a file the manifest does not list (added)."),
    "MANIFEST_UNEXPECTED_OBJECT": ("清单列明了证据包格式以外的文件（如大小写不同的 evidence 目录、其他目录或顶层的文件）。",
                                   "The manifest lists a file that is not part of an evidence package (another folder, "
                                   "evidence/ spelled in another case, or a file at the top)."),
    "MANIFEST_SIGNATURE_REFERENCE": ("清单指向的签名文件不是本证据包的签名。", "The manifest refers to a signature other than the package's."),
    # package_signature
    "PACKAGE_SIGNED_BY_OFFICE": ("清单由签发公证书的同一公证处密钥以 CAdES 签名，签名完好、可信。",
                                 "The manifest is signed (CAdES) with the same office key that signed the certificate; the signature is intact and trusted."),
    "PACKAGE_SIGNED_BY_OFFICE_KEY": ("清单由签发公证书的公证处在公证链上登记的另一密钥以 CAdES 签名，签名完好、可信。",
                                     "The manifest is signed (CAdES) with another key the certificate's office has registered on the ledger; the signature is intact and trusted."),
    "PACKAGE_SIGNATURE_MISSING": ("证据包没有签名（META-INF/signature001.p7s）。", "The package has no signature (META-INF/signature001.p7s)."),
    "PACKAGE_SIGNATURE_BROKEN": ("清单签名校验失败：清单在签署后被修改，或签名已损坏。",
                                 "The manifest's signature does not verify: the manifest was changed after signing or the signature is damaged."),
    "PACKAGE_SIGNER_UNTRUSTED": ("清单签名证书不属于公证电子认证体系。", "The manifest's signing certificate does not chain to the trusted notarial root."),
    "PACKAGE_SIGNER_REVOKED": ("清单签名证书已被吊销。", "The manifest's signing certificate has been revoked."),
    "PACKAGE_SIGNER_OTHER_OFFICE": ("清单不是由签发该公证书的公证处签名的。", "The manifest was not signed by the office that issued the certificate."),
    # certificate
    "CERTIFICATE_PASSED": ("公证书离线核验通过（签名、可信、时间戳、公证处登记、链上锚定、状态）。",
                           "The certificate passes offline verification (signature, trust, timestamp, office, ledger anchor, status)."),
    "CERTIFICATE_FAILED": ("公证书离线核验未通过（见所附公证书核验报告）。", "The certificate fails offline verification (see the certificate report inside)."),
    "CERTIFICATE_INDETERMINATE": ("公证书离线核验暂无结论（见所附公证书核验报告）。",
                                  "Offline verification of the certificate is inconclusive (see the certificate report inside)."),
    "CERTIFICATE_MISSING": ("证据包中没有公证书（certificate.pdf）。", "The package holds no certificate (certificate.pdf)."),
    "CERTIFICATE_UNREADABLE": ("证据包中的公证书不是可读的已签名 PDF。", "The certificate in the package is not a readable signed PDF."),
    "RECEIPT_MISSING": ("证据包中没有锚定收据（receipt.json）。", "The package holds no anchor receipt (receipt.json)."),
    "RECEIPT_MALFORMED": ("锚定收据格式不正确。", "The anchor receipt is malformed."),
    # evidence
    "EVIDENCE_MATCHES": ("电子数据的 SHA-256 指纹与公证书载明的指纹一致。",
                         "The SHA-256 fingerprint of the evidence equals the fingerprint the certificate states."),
    "EVIDENCE_MISMATCH": ("电子数据的指纹与公证书载明的指纹不一致：不是保全的同一电子数据。",
                          "The evidence's fingerprint differs from the one the certificate states: it is not the data preserved."),
    "EVIDENCE_MISSING": ("证据包中既没有电子数据，也没有其指纹文件。", "The package holds neither the evidence nor its fingerprint file."),
    "EVIDENCE_NOT_CERTIFIED": ("证据包中有电子数据，但该公证书不是保全证书，没有载明指纹。",
                               "The package holds evidence, but the certificate is not a preservation certificate and states no fingerprint."),
    "EVIDENCE_HASH_FILE_MALFORMED": ("指纹文件格式不正确。", "The fingerprint file is malformed."),
    "EVIDENCE_TWO_FILES": ("证据包中有不止一个电子数据文件。", "The package holds more than one evidence file."),
    "EVIDENCE_STATEMENT_AMBIGUOUS": ("公证书文本多处出现指纹表述，无法确定所载明的指纹。",
                                     "The certificate's text states a fingerprint more than once; which one it certifies cannot be told."),
    "EVIDENCE_STATEMENT_UNREADABLE": ("无法从公证书文本中读出所载明的指纹和时间。",
                                      "The fingerprint and time the certificate states cannot be read from its text."),
    "NOT_A_PRESERVATION_CERTIFICATE": ("该公证书不是保全证书，证据包中没有电子数据。",
                                       "The certificate is not a preservation certificate; the package holds no evidence."),
    # evidence_timestamp
    "EVIDENCE_TIMESTAMP_VALID": ("可信时间戳证明该指纹于公证书载明的时间已经存在。",
                                 "A trusted RFC 3161 timestamp proves the fingerprint existed at the time the certificate states."),
    "EVIDENCE_TIMESTAMP_MISSING": ("证据包中没有电子数据的时间戳（evidence-timestamp.tsr）。",
                                   "The package holds no timestamp of the evidence (evidence-timestamp.tsr)."),
    "EVIDENCE_TIMESTAMP_INVALID": ("电子数据的时间戳无效或不可信。", "The evidence's timestamp is broken or untrusted."),
    "EVIDENCE_TIMESTAMP_OTHER_DATA": ("该时间戳不是针对此电子数据指纹的。", "The timestamp is over another fingerprint than the evidence's."),
    "EVIDENCE_TIMESTAMP_TIME_MISMATCH": ("时间戳的时间与公证书载明的时间不一致。", "The timestamp's time differs from the time the certificate states."),
    # transaction
    "TRANSACTION_ON_CHAIN": ("锚定交易与公证链节点的记录一致，且正是收据所述的锚定。",
                             "The anchoring transaction matches the ledger nodes' record and is the receipt's anchor."),
    "TRANSACTION_MISSING": ("证据包中没有锚定交易（transaction.json）。", "The package holds no anchoring transaction (transaction.json)."),
    "TRANSACTION_MALFORMED": ("锚定交易文件格式不正确。", "The anchoring transaction file is malformed."),
    "TRANSACTION_NOT_THE_RECEIPTS": ("锚定交易不是收据所述的交易（哈希或区块不符）。",
                                     "The transaction is not the receipt's (its hash or block differs)."),
    "TRANSACTION_WRONG_LEDGER": ("锚定交易不在受信任的公证链或登记合约上。", "The transaction is not on the trusted ledger or registry."),
    "TRANSACTION_REVERTED": ("锚定交易执行失败。", "The anchoring transaction reverted."),
    "TRANSACTION_NOT_THE_ANCHOR": ("该交易不是对收据所述默克尔根的锚定。", "The transaction does not anchor the receipt's Merkle root."),
    "TRANSACTION_NOT_ON_CHAIN": ("公证链节点上没有该锚定交易。", "The ledger nodes do not have this transaction."),
    "TRANSACTION_MISMATCH": ("锚定交易文件与公证链节点的记录不一致。", "The transaction file differs from the ledger nodes' record."),
    # verification_report
    "VERIFICATION_REPORT_SIGNED": ("所附验证报告签名完好、可信，且针对本公证书。",
                                   "The verification report inside is intact, trusted and about this certificate."),
    "VERIFICATION_REPORT_MISSING": ("证据包中没有验证报告（verification-report.pdf）。",
                                    "The package holds no verification report (verification-report.pdf)."),
    "VERIFICATION_REPORT_BROKEN": ("所附验证报告的签名无效或不可信。", "The verification report's signature is broken or untrusted."),
    "VERIFICATION_REPORT_OTHER_DOCUMENT": ("所附验证报告针对的是另一份文件。", "The verification report is about another document."),
}


def message(code: str) -> tuple[str, str]:
    return PACKAGE_MESSAGES.get(code) or certificate_message(code)


class PackageCheck(BaseModel):
    name: PackageCheckName
    status: CheckStatus
    code: str = Field(description="a stable code; its meaning in both languages is in message_zh and message_en")
    message_zh: str
    message_en: str
    details: dict = Field(default_factory=dict)

    @classmethod
    def of(cls, name: PackageCheckName, status: CheckStatus, code: str, **details) -> PackageCheck:
        zh, en = message(code)
        return cls(name=name, status=status, code=code, message_zh=zh, message_en=en, details=details)


class PackageReport(BaseModel):
    version: str = PACKAGE_REPORT_VERSION
    indication: Indication
    checks: list[PackageCheck]
    package_sha256: str
    certificate_id: uuid.UUID | None = None
    certificate_sha256: str | None = None
    package_signer: str | None = Field(default=None, description="the manifest signer's name")
    package_signed_at: dt.datetime | None = Field(default=None, description="the signer's own claim; not proof")
    evidence_sha256: str | None = Field(default=None, description="the fingerprint the certificate states")
    evidence_member: str | None = Field(default=None, description="the evidence file or fingerprint file checked")
    evidence_timestamp_time: dt.datetime | None = None
    anchor_block_number: int | None = None
    anchor_block_time: dt.datetime | None = Field(default=None, description="the certificate existed no later than this")
    transaction_hash: str | None = None
    certificate_report: Report | None = Field(default=None, description="the certificate's own offline report")
    verified_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def check(self, name: str) -> PackageCheck:
        return next(c for c in self.checks if c.name == name)


def overall(checks: list[PackageCheck]) -> Indication:
    """INVALID anywhere fails; otherwise every check must be VALID (or skipped for want of
    evidence in a certificate of another matter) to pass."""
    if any(c.status is CheckStatus.INVALID for c in checks):
        return Indication.FAILED
    if all(c.status is CheckStatus.VALID or (c.status is CheckStatus.SKIPPED and c.code in BENIGN_SKIPS)
           for c in checks):
        return Indication.PASSED
    return Indication.INDETERMINATE


def finish(report: PackageReport, checks: list[PackageCheck]) -> PackageReport:
    report.checks = sorted(checks, key=lambda c: CHECK_ORDER.index(c.name))
    report.indication = overall(report.checks)
    return report
