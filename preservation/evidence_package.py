"""The evidence package for a court (issue #17): one ASiC-E container (ETSI EN 319 162-1,
with CAdES) holding the certificate PDF, the preserved file or its fingerprint, the RFC 3161
token over that fingerprint, the anchor receipt, the anchoring transaction as the chain node
reports it, and the verification report signed by the verification service; its manifest
signed with the office's key. ``notary verify-package`` (verifier.evidence_package) checks
it with the package, a trust bundle and a chain node alone.

Layout (the data objects in this order, then the manifest and its signature)::

    mimetype                         application/vnd.etsi.asic-e+zip (first, stored)
    certificate.pdf                  the certificate as issued
    receipt.json                     the anchor receipt (Merkle inclusion proof)
    transaction.json                 the anchoring transaction and its block
    evidence-timestamp.tsr           RFC 3161 token over the file's SHA-256   (preservation)
    evidence/<name>                  the preserved file, when released         (preservation)
    evidence.sha256.txt              or its fingerprint, "<sha256>  <name>"    (preservation)
    verification-report.pdf          the signed verification report
    META-INF/ASiCManifest.xml        each data object with its SHA-256
    META-INF/signature001.p7s        the office's detached CAdES signature over the manifest

Any certificate can be packaged; one of another matter simply has no evidence. The file is
included only when the caller hands it over (released by preservation.custody, which
records the release): this module never opens a sealed file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from web3 import Web3

from anchoring.errors import ChainUnavailable
from anchoring.status import anchor_status
from keys.store import OfficeSigner
from records.lookups import find_by_reference
from records.matters.evidence import EvidencePreservationInput
from records.models import Certificate, CertificateDocument
from verifier.anchor_transaction import AnchorTransaction, read_transaction
from verifier.asic import (
    CERTIFICATE_NAME,
    HASH_NAME,
    MANIFEST_NAME,
    MIMETYPE,
    MIMETYPE_NAME,
    RECEIPT_NAME,
    REPORT_NAME,
    SIGNATURE_NAME,
    TIMESTAMP_NAME,
    TRANSACTION_NAME,
    ManifestEntry,
    evidence_member_name,
    manifest_xml,
)
from verifier.errors import UnknownCertificate
from verifier.report_pdf import signed_report
from verifier.service import VerifierContext, verify_pdf

from .errors import EvidenceNotFound, PackageNotAnchored, PackageUnavailable, PreservationError
from .manifest_signature import sign_manifest
from .models import PreservedEvidence

# Fixed ZIP metadata: the same members make the same container bytes (the manifest's
# signature and the report's verification time still differ from one package to the next).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
UNIX = 3
FILE_MODE = 0o644 << 16


@dataclass(frozen=True)
class PackageSources:
    """Where a package's parts come from: the database, the office key that signs the
    manifest, the verifier (its context signs the report) and the chain node."""

    engine: Engine
    office_code: str  # only this office's certificates: the manifest is signed with its key
    signer: OfficeSigner
    verifier: VerifierContext
    w3: Web3


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes
    mime_type: str
    compress: bool = True


@dataclass(frozen=True)
class EvidencePackage:
    data: bytes
    certificate_id: uuid.UUID
    number: str
    members: list[str]
    evidence: str  # "file", "fingerprint", or "none" (a certificate of another matter)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def find_certificate(engine: Engine, reference: str) -> Certificate:
    """The certificate with this id or number; UnknownCertificate otherwise."""
    with Session(engine) as s:
        cert = find_by_reference(s, reference)
    if cert is None:
        raise UnknownCertificate("no certificate with this id or number", "查无此公证书")
    return cert


def preserved_evidence(engine: Engine, certificate_id: uuid.UUID) -> PreservedEvidence | None:
    """The preserved evidence a preservation certificate was issued for."""
    with Session(engine, expire_on_commit=False) as s:
        return s.exec(select(PreservedEvidence).where(PreservedEvidence.certificate_id == certificate_id)).first()


def build_evidence_package(sources: PackageSources, certificate_id: uuid.UUID, *,
                           evidence_file: bytes | None = None, at: dt.datetime | None = None) -> EvidencePackage:
    """The signed package of an anchored certificate. ``evidence_file``: the preserved file,
    as released by the caller (it must be the file the certificate names); without it a
    preservation certificate's package carries the file's fingerprint. Raises
    UnknownCertificate, PackageNotAnchored, EvidenceNotFound, PackageUnavailable or
    ChainUnavailable."""
    at = at or dt.datetime.now(dt.timezone.utc)
    with Session(sources.engine) as s:
        cert = s.get(Certificate, certificate_id)
        doc = s.get(CertificateDocument, certificate_id) if cert is not None else None
        anchor = anchor_status(s, certificate_id) if cert is not None else None
    if cert is None or doc is None or cert.office_code != sources.office_code:
        raise UnknownCertificate("no certificate of this office with this id", "本公证处查无此公证书")
    if anchor is None or anchor.receipt is None:
        raise PackageNotAnchored()
    receipt = anchor.receipt
    members = [Member(CERTIFICATE_NAME, doc.pdf, "application/pdf"),
               Member(RECEIPT_NAME, receipt.model_dump_json(indent=2).encode() + b"\n", "application/json"),
               Member(TRANSACTION_NAME, _transaction(sources.w3, receipt.tx_hash).as_json().encode(),
                      "application/json")]
    evidence = "none"
    if cert.matter == EvidencePreservationInput.key:
        row = preserved_evidence(sources.engine, certificate_id)
        if row is None:
            raise EvidenceNotFound()
        members += _evidence_members(cert, row, evidence_file)
        evidence = "file" if evidence_file is not None else "fingerprint"
    elif evidence_file is not None:
        raise PreservationError("only a preservation certificate's package holds a file", "只有保全证书的证据包可包含电子数据")
    members.append(Member(REPORT_NAME, _signed_report(sources.verifier, doc.pdf), "application/pdf"))
    manifest = manifest_xml([ManifestEntry(m.name, m.mime_type, hashlib.sha256(m.data).digest()) for m in members])
    data = write_container(members, manifest, sign_manifest(sources.signer, manifest, at))
    return EvidencePackage(data, cert.id, cert.number, [m.name for m in members], evidence)


def _transaction(w3: Web3, tx_hash: str) -> AnchorTransaction:
    try:
        tx = read_transaction(w3, tx_hash)
    except Exception as exc:  # noqa: BLE001 - whatever the connection raises: the node is not answering
        raise ChainUnavailable(f"chain node unreachable: {type(exc).__name__}") from exc
    if tx is None:
        raise PackageUnavailable(f"the chain node does not have the anchoring transaction {tx_hash}",
                                 "公证链节点上没有该锚定交易")
    return tx


def _evidence_members(cert: Certificate, row: PreservedEvidence, evidence_file: bytes | None) -> list[Member]:
    """The timestamp token and the file or its fingerprint. The certificate's own data must
    name this evidence: a package never pairs a certificate with another file."""
    stated = json.loads(cert.data_json).get("evidence_sha256")
    if stated != row.sha256:
        raise PreservationError("the certificate does not name this evidence's fingerprint",
                                "公证书载明的数字指纹与保全记录不一致")
    members = [Member(TIMESTAMP_NAME, row.timestamp_token, "application/vnd.etsi.timestamp-token")]
    name = evidence_member_name(row.file_name)
    if evidence_file is not None:
        if hashlib.sha256(evidence_file).hexdigest() != row.sha256:
            raise ValueError("the file handed over is not the preserved file")
        # Stored, not deflated: files are mostly compressed already, and a clerk's unzip of
        # any age reads a stored entry.
        return members + [Member(name, evidence_file, "application/octet-stream", compress=False)]
    line = f"{row.sha256}  {name.split('/', 1)[1]}\n" if row.file_name else f"{row.sha256}\n"
    return members + [Member(HASH_NAME, line.encode(), "text/plain")]


def _signed_report(ctx: VerifierContext, pdf: bytes) -> bytes:
    """The verification service's signed report on the certificate, read from the node now."""
    if ctx.report_signer is None or ctx.font_path is None:
        raise PackageUnavailable("the verification service's report key is not available here",
                                 "此处没有核验服务的报告签名密钥")
    return signed_report(verify_pdf(ctx, pdf), ctx.font_path, ctx.report_signer)


def write_container(members: list[Member], manifest: bytes, signature: bytes) -> bytes:
    """The ZIP: ``mimetype`` first and stored (EN 319 162-1 A.1), the data objects, then
    META-INF's manifest and signature; fixed times and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, MIMETYPE_NAME, MIMETYPE.encode(), compress=False)
        for member in members:
            _add(archive, member.name, member.data, compress=member.compress)
        _add(archive, MANIFEST_NAME, manifest, compress=True)
        _add(archive, SIGNATURE_NAME, signature, compress=False)
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, data: bytes, *, compress: bool) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.create_system, info.external_attr = UNIX, FILE_MODE
    archive.writestr(info, data, compresslevel=9 if compress else None)
