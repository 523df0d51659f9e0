"""Stable check codes and their messages in Chinese and English."""

MESSAGES: dict[str, tuple[str, str]] = {
    # document_integrity
    "SIGNATURE_INTACT": ("签名完好，文件自签署后未被修改。", "The signature is intact and the document is unchanged since signing."),
    "SIGNATURE_BROKEN": ("签名校验失败：文件在签署后被修改或签名已损坏。", "The signature does not match: the document was altered after signing or the signature is damaged."),
    "MODIFIED_AFTER_SIGNING": ("文件在签署后被修改（见所列改动）：签署后只允许追加长期验证数据（验证数据存储、文档时间戳），此文件不是出证时的公证书。",
                               "The document was changed after it was signed (see the changes listed): only long-term-validation data (validation data store, document timestamps) may be added after signing, so this is not the certificate as issued."),
    "COVERAGE_INCOMPLETE": ("签名未覆盖整个文件。", "The signature does not cover the whole document."),
    # signer_trust
    "SIGNER_TRUSTED": ("签名证书链至受信任的公证根证书，签署时有效。", "The signing certificate chains to a trusted notarial root and was valid at signing time."),
    "SIGNER_UNTRUSTED": ("签名证书不属于公证电子认证体系。", "The signing certificate does not chain to a trusted notarial root."),
    "SIGNER_REVOKED": ("签名证书已被发证机构吊销。", "The signing certificate has been revoked by its issuing CA."),
    "SIGNER_NOT_CHECKED": ("签名已损坏，未检查签名人。", "The signature is broken; the signer was not checked."),
    # timestamp
    "TIMESTAMP_VALID": ("可信时间戳证明了签署时间。", "A trusted RFC 3161 timestamp proves the signing time."),
    "TIMESTAMP_INVALID": ("时间戳无效。", "The timestamp is not valid."),
    "ARCHIVE_TIMESTAMP_INVALID": ("长期验证（B-LTA）的文档时间戳无效或不可信。", "The document (archive) timestamp of this long-term (B-LTA) signature is broken or untrusted."),
    "NO_TIMESTAMP": ("签名不含时间戳；签署时间仅为签署人声明，以区块时间为存在证明。", "The signature has no timestamp; the signing time is the signer's claim, and the ledger block time proves existence."),
    # office_binding
    "OFFICE_REGISTERED": ("签名证书已在公证链上登记为该公证处的签章证书。", "The signing certificate is registered on the ledger for this notary office."),
    "OFFICE_KEY_UNKNOWN": ("签名证书未在公证链上登记。", "The signing certificate is not registered on the ledger for any office."),
    "OFFICE_KEY_OUT_OF_WINDOW": ("签署时间不在该签章证书的登记有效期内。", "The signing time is outside the registered validity window of the signing certificate."),
    "OFFICE_KEY_REVOKED": ("该签章证书已在公证链上注销。", "The signing certificate was revoked on the ledger before the signing time."),
    "OFFICE_KEY_REGISTERED_LATER": ("该签章证书在签署时间之后才在公证链上登记，不能证明此前签署的文件。", "The signing certificate was registered on the ledger only after the signing time, so it cannot vouch for this signature."),
    "OFFICE_SUSPENDED": ("该公证处已被暂停。", "The notary office is suspended on the ledger."),
    "LEDGER_UNAVAILABLE": ("暂时无法连接公证链节点，请稍后再试。", "The ledger node cannot be reached right now; try again later."),
    "LEDGER_STALE": ("本系统的公证链数据暂未同步到最新区块，无法确认链上状态，请稍后再试。",
                     "This service's copy of the ledger is not up to date, so the ledger's word cannot be given; try again shortly."),
    "DOCUMENT_NOT_PROVIDED": ("未提供文件，仅按指纹核验。", "No file was given; checked by fingerprint only."),
    "NOT_CHECKED": ("前序检查未通过，未进行此项检查。", "Not checked because an earlier check did not pass."),
    # anchor_inclusion
    "ANCHORED": ("文件指纹已包含在公证链上锚定的默克尔根中。", "The document fingerprint is included in a Merkle root anchored on the ledger."),
    "ANCHOR_PENDING": ("公证书已签发，正在等待上链锚定（通常几秒钟）。", "The certificate is issued and waiting for its ledger anchor (usually seconds)."),
    "ANCHOR_CONFIRMING": ("已上链，正在等待足够的区块确认。", "Anchored; waiting for enough block confirmations."),
    "ANCHOR_NOT_FOUND": ("本系统没有签发过此文件：文件指纹未登记。", "This document was not issued through this registry: its fingerprint is unknown."),
    "ANCHOR_PROOF_INVALID": ("默克尔证明无效。", "The Merkle inclusion proof is invalid."),
    "ANCHOR_NOT_ON_CHAIN": ("链上暂未找到该锚定记录，可能正在重新锚定。", "The anchor is not on the ledger at present; re-anchoring may be under way."),
    "RECEIPT_OFFICE_MISMATCH": ("收据所称的锚定公证处与签署文件的公证处不一致。", "The receipt names another office than the one whose registered key signed the document."),
    "ANCHOR_OTHER_OFFICE": ("链上锚定记录不属于签署文件的公证处。", "The anchor on the ledger belongs to another office than the one that signed the document."),
    "RECEIPT_LEAF_MISMATCH": ("收据中的叶子值与该公证书不符。", "The receipt's leaf is not this certificate's."),
    "RECEIPT_WRONG_LEDGER": ("收据指向的不是受信任的公证链（链标识或合约地址不符）。", "The receipt names a ledger other than the trusted one (chain id or registry address differs)."),
    "NODES_DISAGREE": ("各公证链节点的回答不一致，暂无法得出结论。", "The ledger nodes disagree; no conclusion can be drawn yet."),
    "NO_QUORUM": ("回答一致的公证链节点数量不足。", "Too few ledger nodes gave the same answer."),
    "RECEIPT_OTHER_DOCUMENT": ("该收据属于另一份文件。", "The receipt belongs to a different document."),
    # status
    "NOT_REVOKED": ("公证书有效，未被撤销或更正。", "The certificate is in force: not revoked or corrected."),
    "REPORT_SIGNED_BY_SERVICE": ("这是本核验服务出具并签名的验证报告：签名完好、可信。报告所述为其出具时的核验结果；公证书现状请重新核验。",
                                 "This is a verification report signed by this verification service: its signature is intact and trusted. It states the result as of its date; verify the certificate again for its present status."),
    "NOT_A_CERTIFICATE": ("这是本核验服务签发的验证报告，不是公证书，不能作为公证书采信；要核对验证报告本身，请使用 notary verify --report。",
                          "This is a verification report signed by this service, not a certificate, and cannot be relied on as one; to check the report itself use notary verify --report."),
    "NOT_A_SERVICE_REPORT": ("该文件不是本核验服务签发的验证报告。", "This document is not a verification report signed by this service."),
    "REVOKED": ("公证书已被撤销。", "The certificate has been revoked."),
    "SUPERSEDED": ("公证书已被更正，请以新公证书为准。", "The certificate was corrected and replaced by a new certificate."),
    "STATUS_UNKNOWN": ("无法确认公证书状态。", "The status of the certificate cannot be established."),
}


def message(code: str) -> tuple[str, str]:
    return MESSAGES.get(code, (code, code))
