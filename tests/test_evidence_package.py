"""The evidence package for a court (issue #17): an ASiC-E container made by the office and
checked offline with the package, a trust bundle and a chain node alone.

A real anvil node and a real database: a preservation certificate whose file the office
keeps, one for a fingerprint only, and a certificate of another matter, anchored in one
batch (so receipts carry audit paths). Each member tampered with, the container's
structure attacked, another office's key, a node that is down."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.dom import minidom

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session

from anchoring.status import anchor_status
from issuer.service import IssuedCertificate, issue_certificate, issue_parsed
from keys.devpki import ROOT_CERT, ROOT_KEY, OfficeIdentity, make_ca, make_signing_cert, signer_pkcs12
from keys.store import OfficeSigner, load_pkcs12_signer
from notary.runtime import Runtime, open_runtime, rotate_office_key
from preservation.evidence_package import EvidencePackage, Member, PackageSources, build_evidence_package, \
    write_container
from preservation.manifest_signature import sign_manifest
from preservation.models import PreservedEvidence
from preservation.sealed_files import file_key, seal_file
from records.matters import EXAMPLES, parse_matter
from storage.sessions import write_session
from tests.cli_runner import in_process_cli
from tests.conftest import make_settings
from tests.pdf_tools import flip_byte_in_signed_range
from verifier.asic import ASIC_NS, DS_NS, MANIFEST_NAME, MIMETYPE, SIGNATURE_NAME, ManifestEntry, \
    evidence_member_name, is_safe_name, manifest_xml
from verifier.certified_text import EvidenceClaims, evidence_claims
from verifier.errors import PackageRefused
from verifier.evidence_package import verify_package
from verifier.package_report import PackageReport
from verifier.report import CheckStatus, Indication
from verifier.trust_bundle import TrustBundle

DEAD = "http://127.0.0.1:9"
NOTARY = Path(sys.executable).with_name("notary")
FILE = b"\x89PNG\r\n\x1a\n" + b"a screenshot of a conversation " * 300
OTHER_FILE = b"minutes of the meeting, 5 December 2026\n" * 50


@dataclass
class Office:
    rt: Runtime
    bundle: TrustBundle
    kept: IssuedCertificate  # preservation certificate; the office keeps the file
    fingerprint_only: IssuedCertificate  # preservation certificate of a fingerprint
    birth: IssuedCertificate  # another matter

    @property
    def url(self) -> str:
        assert self.rt.settings.rpc_url is not None
        return self.rt.settings.rpc_url

    def sources(self) -> PackageSources:
        assert self.rt.registry is not None
        return PackageSources(self.rt.engine, self.rt.office.code, self.rt.signer, self.rt.verifier_context(),
                              self.rt.registry.w3)

    def verify(self, data: bytes, urls: list[str] | None = None) -> PackageReport:
        return verify_package(data, self.bundle, urls or [self.url])


def preserve(rt: Runtime, content: bytes, *, keep: bool, name: str | None = "聊天记录截图.png",
             description: str = "微信聊天记录截图一张", file_name: str | None = None) -> IssuedCertificate:
    """What the preservation service does on a submission: timestamp the fingerprint, issue
    the certificate from the office's own receipt, keep the evidence's record (and the file,
    sealed). ``file_name``: the name as sent, when the certificate prints another."""
    sha256 = hashlib.sha256(content).hexdigest()
    token = asyncio.run(rt.dev_tsa.async_timestamp(bytes.fromhex(sha256), "sha256"))
    stamped = token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
    evidence_id = uuid.uuid4()
    data = {**EXAMPLES["evidence-preservation"], "preservation_id": evidence_id.hex, "evidence_sha256": sha256,
            "evidence_size": len(content), "evidence_name": name, "description": description,
            "received_at": stamped.isoformat(), "timestamp_time": stamped.isoformat(), "file_kept": keep,
            "retention_until": "2036-12-05" if keep else None}
    if name is None:
        data.pop("evidence_name_en")
    issued = issue_parsed(rt.issuer_context(), "evidence-preservation", parse_matter("evidence-preservation", data),
                          actor="system:preservation")
    row = PreservedEvidence(id=evidence_id, certificate_id=issued.id, office_code=rt.office.code,
                            submitter_token_id=uuid.uuid4(), submitter_name="孙律", sha256=sha256, size=len(content),
                            file_name=file_name or name, description=description, received_at=stamped,
                            timestamp_token=token.dump(), timestamp_time=stamped,
                            file_sealed=seal_file(file_key(rt.qr_key), evidence_id, content) if keep else None,
                            retention_until=dt.date(2036, 12, 5))
    with write_session(rt.engine) as s:
        s.add(row)
        s.commit()
    return issued


@pytest.fixture(scope="module")
def office(tmp_path_factory, anvil_url):
    rt = open_runtime(make_settings(tmp_path_factory.mktemp("evidence-package"), anvil_url))
    try:
        kept = preserve(rt, FILE, keep=True)
        fingerprint_only = preserve(rt, OTHER_FILE, keep=False, name="会议纪要.txt",
                                    file_name="会议纪要 ../../etc/passwd\u202egnp.exe")
        birth = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
        rt.worker().run_once(force=True)  # one batch of three: every receipt has an audit path
        yield Office(rt, rt.trust_bundle(), kept, fingerprint_only, birth)
    finally:
        rt.close()


@pytest.fixture(scope="module")
def packages(office) -> dict[str, EvidencePackage]:
    sources = office.sources()
    return {"file": build_evidence_package(sources, office.kept.id, evidence_file=FILE),
            "fingerprint": build_evidence_package(sources, office.fingerprint_only.id),
            "birth": build_evidence_package(sources, office.birth.id)}


# ------------------------------------------------------------------------------ helpers

def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def repack(items: list[tuple[str, bytes]], *, stored: frozenset[str] = frozenset({"mimetype"})) -> bytes:
    """A ZIP of exactly these entries in this order (duplicates and unsafe names too)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: that is the point
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buffer.getvalue()


def replaced(data: bytes, changes: dict[str, bytes]) -> bytes:
    """The package with members replaced, its manifest and signature kept: what someone
    without the office's key can do."""
    return repack([(n, changes.get(n, b)) for n, b in entries(data).items()])


def resigned(data: bytes, signer: OfficeSigner, changes: dict[str, bytes | None]) -> bytes:
    """The package with members replaced (None: removed) and a new manifest signed by
    ``signer``: what an insider holding that key can do."""
    members = {n: b for n, b in entries(data).items() if n not in ("mimetype", MANIFEST_NAME, SIGNATURE_NAME)}
    for name, value in changes.items():
        if value is None:
            members.pop(name)
        else:
            members[name] = value
    listed = [Member(n, b, "application/octet-stream") for n, b in members.items()]
    manifest = manifest_xml([ManifestEntry(m.name, m.mime_type, hashlib.sha256(m.data).digest()) for m in listed])
    return write_container(listed, manifest, sign_manifest(signer, manifest, dt.datetime.now(dt.timezone.utc)))


def codes(report: PackageReport) -> dict[str, tuple[str, str]]:
    return {c.name.value: (c.status.value, c.code) for c in report.checks}


def refused(office: Office, data: bytes) -> str:
    with pytest.raises(PackageRefused) as caught:
        office.verify(data)
    return caught.value.code


def passed(report: PackageReport) -> None:
    assert report.indication is Indication.PASSED, codes(report)


# ------------------------------------------------------------------------------ a good package

def test_a_preservation_package_with_the_file_passes_offline(office, packages):
    package = packages["file"]
    report = office.verify(package.data)
    passed(report)
    assert codes(report) == {
        "container": ("VALID", "CONTAINER_WELL_FORMED"), "manifest": ("VALID", "MANIFEST_MATCHES"),
        "package_signature": ("VALID", "PACKAGE_SIGNED_BY_OFFICE"), "certificate": ("VALID", "CERTIFICATE_PASSED"),
        "evidence": ("VALID", "EVIDENCE_MATCHES"), "evidence_timestamp": ("VALID", "EVIDENCE_TIMESTAMP_VALID"),
        "transaction": ("VALID", "TRANSACTION_ON_CHAIN"), "verification_report": ("VALID", "VERIFICATION_REPORT_SIGNED")}
    assert report.evidence_sha256 == hashlib.sha256(FILE).hexdigest()
    assert report.evidence_member == "evidence/聊天记录截图.png"
    assert report.certificate_id == office.kept.id and report.certificate_sha256 == office.kept.document_sha256
    assert report.check("verification_report").details["verdict"] == "PASSED"
    assert report.certificate_report is not None and report.certificate_report.indication is Indication.PASSED
    assert report.anchor_block_time is not None and report.evidence_timestamp_time is not None
    assert package.evidence == "file"
    assert package.members == ["certificate.pdf", "receipt.json", "transaction.json", "evidence-timestamp.tsr",
                               "evidence/聊天记录截图.png", "verification-report.pdf"]


def test_a_fingerprint_only_package_and_another_matters_package_pass(office, packages):
    report = office.verify(packages["fingerprint"].data)
    passed(report)
    assert report.check("evidence").details["kind"] == "fingerprint"
    assert report.evidence_member == "evidence.sha256.txt"
    line = entries(packages["fingerprint"].data)["evidence.sha256.txt"].decode()
    # The submitter's name, made safe: no path, no bidi control.
    assert line == f"{hashlib.sha256(OTHER_FILE).hexdigest()}  passwd_gnp.exe\n"
    birth = office.verify(packages["birth"].data)
    passed(birth)
    assert codes(birth)["evidence"] == ("SKIPPED", "NOT_A_PRESERVATION_CERTIFICATE")
    assert "evidence-timestamp.tsr" not in entries(packages["birth"].data)


def test_the_container_is_an_asic_e_zip_by_independent_tools(office, packages, tmp_path):
    data = packages["file"].data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        first = z.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
    # The ODF/ASiC magic: the mimetype's name at byte 30 and its content right after.
    assert data[30:38] == b"mimetype" and data[38:38 + len(MIMETYPE)] == MIMETYPE.encode()
    manifest = minidom.parseString(entries(data)[MANIFEST_NAME])
    root = manifest.documentElement
    assert (root.namespaceURI, root.localName) == (ASIC_NS, "ASiCManifest")
    references = root.getElementsByTagNameNS(ASIC_NS, "DataObjectReference")
    listed = {r.getAttribute("URI"): r for r in references}
    assert set(listed) == {"certificate.pdf", "receipt.json", "transaction.json", "evidence-timestamp.tsr",
                           "evidence/%E8%81%8A%E5%A4%A9%E8%AE%B0%E5%BD%95%E6%88%AA%E5%9B%BE.png",
                           "verification-report.pdf"}
    pdf = listed["certificate.pdf"]
    value = pdf.getElementsByTagNameNS(DS_NS, "DigestValue")[0].firstChild.data
    assert base64.b64decode(value) == hashlib.sha256(office.kept.pdf).digest()
    sig = root.getElementsByTagNameNS(ASIC_NS, "SigReference")[0]
    assert sig.getAttribute("URI") == SIGNATURE_NAME
    path = tmp_path / "p.asice"
    path.write_bytes(data)
    if shutil.which("unzip"):
        assert subprocess.run(["unzip", "-tq", str(path)], capture_output=True).returncode == 0
    if shutil.which("openssl"):
        # The CAdES signature is a detached CMS over the manifest, chaining to the notarial root.
        (tmp_path / "manifest.xml").write_bytes(entries(data)[MANIFEST_NAME])
        (tmp_path / "sig.p7s").write_bytes(entries(data)[SIGNATURE_NAME])
        (tmp_path / "root.pem").write_text(office.bundle.notarial_root_pem)
        run = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.p7s"),
                              "-content", str(tmp_path / "manifest.xml"), "-CAfile", str(tmp_path / "root.pem"),
                              "-purpose", "any", "-out", os.devnull], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


def test_the_same_members_make_the_same_container():
    members = [Member("certificate.pdf", b"%PDF-1.7 x", "application/pdf"), Member("evidence/a.bin", b"\0" * 100,
                                                                                     "application/octet-stream", False)]
    manifest = manifest_xml([ManifestEntry(m.name, m.mime_type, hashlib.sha256(m.data).digest()) for m in members])
    assert write_container(members, manifest, b"sig") == write_container(members, manifest, b"sig")


@pytest.mark.parametrize("given, made", [
    ("聊天记录截图.png", "evidence/聊天记录截图.png"),
    ("../../etc/passwd", "evidence/passwd"),
    ("C:\\Users\\x\\报告.docx", "evidence/报告.docx"),
    ("/abs/name.txt", "evidence/name.txt"),
    ("..", "evidence/evidence.bin"),
    ("", "evidence/evidence.bin"),
    (None, "evidence/evidence.bin"),
    ("a\u202egnp.exe", "evidence/a_gnp.exe"),
    ("line\nbreak\x00.txt", "evidence/line_break_.txt"),
    ("CON.txt", "evidence/_CON.txt"),
    ("x" * 400 + ".pdf", "evidence/" + "x" * 116 + ".pdf"),
    ("...hidden", "evidence/hidden"),
])
def test_evidence_names_are_made_safe(given, made):
    assert evidence_member_name(given) == made
    assert is_safe_name(made)


def test_unsafe_names_are_not_safe():
    for name in ("../x", "a/../b", "/etc/passwd", "a\\b", "C:x", "a//b", "a/", "./a", "a\u202eb", "a\x00b", ""):
        assert not is_safe_name(name), name


# ------------------------------------------------------------------------------ members tampered with

def test_each_member_tampered_with_fails(office, packages):
    data = packages["file"].data
    members = entries(data)
    receipt = json.loads(members["receipt.json"])
    assert receipt["audit_path"], "the batch holds three certificates"
    receipt["audit_path"][0] = "00" * 32
    tx = json.loads(members["transaction.json"])
    cases = {
        "certificate.pdf": flip_byte_in_signed_range(members["certificate.pdf"]),
        "evidence/聊天记录截图.png": members["evidence/聊天记录截图.png"][:-1] + b"!",
        "receipt.json": json.dumps(receipt).encode(),
        "transaction.json": json.dumps(tx | {"block_hash": "0x" + "ab" * 32}).encode(),
        "evidence-timestamp.tsr": members["evidence-timestamp.tsr"][:-3] + b"\0\0\0",
        "verification-report.pdf": flip_byte_in_signed_range(members["verification-report.pdf"]),
    }
    for name, value in cases.items():
        items = [(n, value if n == name else b) for n, b in members.items()]
        report = office.verify(repack(items))
        assert report.indication is Indication.FAILED, name
        assert codes(report)["manifest"] == ("INVALID", "MANIFEST_DIGEST_MISMATCH"), name
        assert report.check("manifest").details["names"] == [name]
    # The deeper checks see it too, each in its own words.
    def verified(name: str) -> PackageReport:
        return office.verify(replaced(data, {name: cases[name]}))

    assert codes(verified("certificate.pdf"))["certificate"] == ("INVALID", "CERTIFICATE_FAILED")
    assert codes(verified("evidence/聊天记录截图.png"))["evidence"] == ("INVALID", "EVIDENCE_MISMATCH")
    assert verified("receipt.json").check("certificate").details["first_problem"] == "ANCHOR_PROOF_INVALID"
    assert codes(verified("transaction.json"))["transaction"] == ("INVALID", "TRANSACTION_MISMATCH")
    assert codes(verified("evidence-timestamp.tsr"))["evidence_timestamp"] == ("INVALID", "EVIDENCE_TIMESTAMP_INVALID")
    assert codes(verified("verification-report.pdf"))["verification_report"] == \
        ("INVALID", "VERIFICATION_REPORT_BROKEN")


def test_the_manifest_and_its_signature_tampered_with_fail(office, packages):
    members = entries(packages["file"].data)
    manifest = members[MANIFEST_NAME]
    digest = base64.b64encode(hashlib.sha256(members["certificate.pdf"]).digest())
    forged = manifest.replace(digest, base64.b64encode(b"\x01" * 32))
    assert forged != manifest
    report = office.verify(repack([(n, forged if n == MANIFEST_NAME else b) for n, b in members.items()]))
    assert codes(report)["manifest"] == ("INVALID", "MANIFEST_DIGEST_MISMATCH")
    assert codes(report)["package_signature"] == ("INVALID", "PACKAGE_SIGNATURE_BROKEN")
    signature = bytearray(members[SIGNATURE_NAME])
    signature[-10] ^= 0xFF
    report = office.verify(repack([(n, bytes(signature) if n == SIGNATURE_NAME else b) for n, b in members.items()]))
    assert report.indication is Indication.FAILED
    assert codes(report)["package_signature"] == ("INVALID", "PACKAGE_SIGNATURE_BROKEN")
    gone = office.verify(repack([(n, b) for n, b in members.items() if n != SIGNATURE_NAME]))
    assert codes(gone)["package_signature"] == ("INVALID", "PACKAGE_SIGNATURE_MISSING")
    bomb = office.verify(repack([(n, b"<!DOCTYPE x [<!ENTITY a 'a'>]><x/>" if n == MANIFEST_NAME else b)
                                 for n, b in members.items()]))
    assert codes(bomb)["manifest"] == ("INVALID", "MANIFEST_MALFORMED")


def test_added_removed_and_renamed_members_fail(office, packages):
    members = entries(packages["file"].data)
    added = office.verify(repack(list(members.items()) + [("notes.txt", b"added later")]))
    assert codes(added)["manifest"] == ("INVALID", "MANIFEST_UNLISTED_OBJECT")
    assert added.check("manifest").details["names"] == ["notes.txt"]
    in_meta = office.verify(repack(list(members.items()) + [("META-INF/manifest.xml", b"<x/>")]))
    assert codes(in_meta)["manifest"] == ("INVALID", "MANIFEST_UNLISTED_OBJECT")
    renamed = office.verify(repack([("cert.pdf" if n == "certificate.pdf" else n, b) for n, b in members.items()]))
    assert renamed.indication is Indication.FAILED
    assert codes(renamed)["manifest"] == ("INVALID", "MANIFEST_OBJECT_MISSING")
    assert codes(renamed)["certificate"] == ("INVALID", "CERTIFICATE_MISSING")
    removed = office.verify(repack([(n, b) for n, b in members.items() if not n.startswith("evidence/")]))
    assert codes(removed)["manifest"] == ("INVALID", "MANIFEST_OBJECT_MISSING")


def test_an_insider_with_the_office_key_is_still_caught(office, packages):
    """Members replaced and the manifest re-signed with the genuine office key: each later
    check holds on its own."""
    data, signer = packages["file"].data, office.rt.signer
    tx = json.loads(entries(data)["transaction.json"])
    birth = entries(packages["birth"].data)
    cases: list[tuple[bytes, dict[str, bytes | None], str, tuple[str, str]]] = [
        (data, {"transaction.json": json.dumps(tx | {"block_hash": "0x" + "ab" * 32}).encode()},
         "transaction", ("INVALID", "TRANSACTION_MISMATCH")),
        (data, {"transaction.json": json.dumps(json.loads(birth["transaction.json"]) | {"hash": "0x" + "12" * 32})
                .encode()}, "transaction", ("INVALID", "TRANSACTION_NOT_THE_RECEIPTS")),
        (data, {"transaction.json": b"{}"}, "transaction", ("INVALID", "TRANSACTION_MALFORMED")),
        # Another file under the certificate's name.
        (data, {"evidence/聊天记录截图.png": OTHER_FILE}, "evidence", ("INVALID", "EVIDENCE_MISMATCH")),
        # A timestamp of another fingerprint.
        (data, {"evidence-timestamp.tsr": entries(packages["fingerprint"].data)["evidence-timestamp.tsr"]},
         "evidence_timestamp", ("INVALID", "EVIDENCE_TIMESTAMP_OTHER_DATA")),
        # A fingerprint file naming another file, beside the real one.
        (data, {"evidence.sha256.txt": b"ab" * 32 + b"\n"}, "evidence", ("INVALID", "EVIDENCE_MISMATCH")),
        (packages["fingerprint"].data, {"evidence.sha256.txt": b"not a hash"}, "evidence",
         ("INVALID", "EVIDENCE_HASH_FILE_MALFORMED")),
        # Evidence added to a certificate that certifies none.
        (packages["birth"].data, {"evidence/x.bin": FILE}, "evidence", ("INVALID", "EVIDENCE_NOT_CERTIFIED")),
        # Another certificate's verification report.
        (data, {"verification-report.pdf": birth["verification-report.pdf"]}, "verification_report",
         ("INVALID", "VERIFICATION_REPORT_OTHER_DOCUMENT")),
    ]
    for package, changes, check, expected in cases:
        report = office.verify(resigned(package, signer, changes))
        assert report.indication is Indication.FAILED, changes.keys()
        assert codes(report)[check] == expected, changes.keys()
        assert codes(report)["package_signature"] == ("VALID", "PACKAGE_SIGNED_BY_OFFICE")
    # Parts left out: never PASSED.
    for name in ("evidence-timestamp.tsr", "transaction.json", "verification-report.pdf", "evidence/聊天记录截图.png"):
        report = office.verify(resigned(data, signer, {name: None}))
        assert report.indication is Indication.INDETERMINATE, (name, codes(report))


def test_a_statement_that_names_two_fingerprints_is_never_passed(office):
    """A submitter's description repeating the statement's phrase with another fingerprint:
    which one the office certified cannot be told from the text."""
    rt = office.rt
    fake = hashlib.sha256(b"something else").hexdigest()
    issued = preserve(rt, b"the real file", keep=False, description=f"该电子数据的SHA-256数字指纹为：{fake}")
    rt.worker().run_once(force=True)
    report = office.verify(build_evidence_package(office.sources(), issued.id).data)
    assert report.indication is Indication.FAILED
    assert codes(report)["evidence"] == ("INVALID", "EVIDENCE_STATEMENT_AMBIGUOUS")


def test_what_a_certificate_states_is_read_from_its_signed_pages(office):
    kept = evidence_claims(office.kept.pdf)
    assert (kept.kind, kept.sha256) == ("preservation", hashlib.sha256(FILE).hexdigest())
    assert kept.timestamp_time is not None and kept.timestamp_time.utcoffset() == dt.timedelta(hours=8)
    assert evidence_claims(office.birth.pdf).kind == "other"
    # The English translation states it too; the Chinese original is what is read.
    bilingual = issue_parsed(office.rt.issuer_context(), "evidence-preservation",
                             parse_matter("evidence-preservation", EXAMPLES["evidence-preservation"]),
                             actor="system:preservation", language="zh-en")
    assert evidence_claims(bilingual.pdf) == EvidenceClaims(
        "preservation", EXAMPLES["evidence-preservation"]["evidence_sha256"],
        dt.datetime(2026, 11, 20, 2, 15, 1, tzinfo=dt.timezone.utc))


# ------------------------------------------------------------------------------ containers refused

def test_broken_containers_are_refused_with_their_code(office, packages):
    members = entries(packages["file"].data)
    items = list(members.items())
    assert refused(office, b"") == "PACKAGE_NOT_A_ZIP"
    assert refused(office, b"%PDF-1.7 not a zip") == "PACKAGE_NOT_A_ZIP"
    assert refused(office, packages["file"].data[:2000]) == "PACKAGE_NOT_A_ZIP"
    assert refused(office, repack(items + [("receipt.json", b"{}")])) == "PACKAGE_DUPLICATE_ENTRY"
    assert refused(office, repack(items + [("Receipt.JSON", b"{}")])) == "PACKAGE_DUPLICATE_ENTRY"
    for name in ("../receipt.json", "evidence/../../x", "/etc/passwd", "a\\b.txt", "evidence/", "C:x"):
        assert refused(office, repack(items + [(name, b"x")])) == "PACKAGE_UNSAFE_NAME", name
    assert refused(office, repack(items, stored=frozenset())) == "PACKAGE_MIMETYPE"  # compressed
    assert refused(office, repack(items[1:] + items[:1])) == "PACKAGE_MIMETYPE"  # not first
    assert refused(office, repack(items[1:])) == "PACKAGE_MIMETYPE"  # missing
    assert refused(office, repack([("mimetype", b"application/zip")] + items[1:])) == "PACKAGE_MIMETYPE"
    # A NUL in a name (zipfile would cut it there).
    nul = repack(items + [("zqxjv.txt", b"x")]).replace(b"zqxjv.txt", b"zq\0jv.txt")
    assert refused(office, nul) == "PACKAGE_UNSAFE_NAME"


def test_zip_bombs_are_refused(office, packages):
    items = list(entries(packages["file"].data).items())
    # High compression: 64 MB of zeros deflate to a few dozen KB.
    assert refused(office, repack(items + [("evidence/zeros.bin", bytes(64 * 1024 * 1024))])) == "PACKAGE_TOO_LARGE"
    # Many entries.
    assert refused(office, repack(items + [(f"f{i}.txt", b"x") for i in range(80)])) == "PACKAGE_TOO_LARGE"
    # Overlapping entries: a second directory entry pointing at the first's data.
    data = repack(items + [("aaaa.txt", b"one" * 1000), ("bbbb.txt", b"two" * 1000)])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        first = z.getinfo("aaaa.txt").header_offset
    record = data.rindex(b"PK\x01\x02", 0, data.index(b"bbbb.txt", data.index(b"PK\x01\x02")))
    overlapping = data[:record + 42] + struct.pack("<L", first) + data[record + 46:]
    assert refused(office, overlapping) == "PACKAGE_MALFORMED"
    # Encrypted entries.
    encrypted = bytearray(repack(items + [("enc.txt", b"secret")]))
    central = bytes(encrypted).rindex(b"PK\x01\x02")
    encrypted[central + 8] |= 0x01
    assert refused(office, bytes(encrypted)) == "PACKAGE_MALFORMED"


# ------------------------------------------------------------------------------ keys and nodes

def _office_b_signer(office: Office, tmp_path: Path) -> OfficeSigner:
    """A signing key of another office, certified under the same notarial root."""
    pki, passphrase = office.rt.pki_dir, office.rt.passphrase
    root = x509.load_pem_x509_certificate((pki / ROOT_CERT).read_bytes())
    root_key = serialization.load_pem_private_key((pki / ROOT_KEY).read_bytes(), passphrase)
    return _signer(root, root_key, tmp_path / "b.p12")


def _signer_of_another_root(tmp_path: Path) -> OfficeSigner:
    root, root_key = make_ca("Some Other Root CA", "Elsewhere", path_length=1)
    return _signer(root, root_key, tmp_path / "stranger.p12")


def _signer(root, root_key, path: Path) -> OfficeSigner:
    ca, ca_key = make_ca("上海市徐汇公证处 Issuing CA (dev)", "上海市徐汇公证处", issuer_cert=root, issuer_key=root_key,
                         path_length=0)
    cert, key = make_signing_cert(OfficeIdentity("上海市徐汇公证处", "SH-XUHUI-PKG"), ca, ca_key)
    path.write_bytes(signer_pkcs12("b", key, cert, [ca], b"pw"))
    return load_pkcs12_signer(path, b"pw")


def test_a_package_signed_by_another_office_fails(office, packages, tmp_path):
    data = packages["file"].data
    b = _office_b_signer(office, tmp_path)
    report = office.verify(resigned(data, b, {}))
    assert report.indication is Indication.FAILED
    assert codes(report)["package_signature"] == ("INVALID", "PACKAGE_SIGNER_OTHER_OFFICE")
    # The same key registered on the ledger for another office: still not the certificate's.
    rt, registry = office.rt, office.rt.registry
    assert registry is not None and rt.accounts is not None
    from eth_account import Account

    registry.transact(rt.accounts.admin, "registerOffice", "SH-XUHUI-PKG", "上海市徐汇公证处", [Account.create().address])
    validity = b.certificate["tbs_certificate"]["validity"]
    registry.transact(rt.accounts.admin, "registerSigningKey", registry.office_by_code("SH-XUHUI-PKG"), b.fingerprint,
                      int(validity["not_before"].native.timestamp()), int(validity["not_after"].native.timestamp()))
    registered = office.verify(resigned(data, b, {}))
    assert codes(registered)["package_signature"] == ("INVALID", "PACKAGE_SIGNER_OTHER_OFFICE")
    assert registered.check("package_signature").details == {}
    # A key of another PKI altogether.
    report = office.verify(resigned(data, _signer_of_another_root(tmp_path), {}))
    assert codes(report)["package_signature"] == ("INVALID", "PACKAGE_SIGNER_UNTRUSTED")


def test_a_package_made_after_a_key_rotation_passes(runtime_factory):
    rt = runtime_factory("rotating")
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    old, new = rotate_office_key(rt, "operator:test")
    assert old != new
    sources = PackageSources(rt.engine, rt.office.code, rt.signer, rt.verifier_context(), rt.registry.w3)
    report = verify_package(build_evidence_package(sources, issued.id).data, rt.trust_bundle(), [rt.settings.rpc_url])
    passed(report)
    assert codes(report)["package_signature"] == ("VALID", "PACKAGE_SIGNED_BY_OFFICE_KEY")


def test_a_node_that_is_down_is_indeterminate_never_failed(office, packages):
    report = office.verify(packages["file"].data, [DEAD])
    assert report.indication is Indication.INDETERMINATE
    assert codes(report)["transaction"] == ("ERROR", "LEDGER_UNAVAILABLE")
    assert codes(report)["certificate"] == ("ERROR", "CERTIFICATE_INDETERMINATE")
    assert not any(c.status is CheckStatus.INVALID for c in report.checks)
    # One node of two answering is no majority.
    short = office.verify(packages["file"].data, [office.url, DEAD])
    assert short.indication is Indication.INDETERMINATE
    assert codes(short)["transaction"] == ("ERROR", "NO_QUORUM")
    for urls, quorum in (([office.url], 2), ([], None)):
        with pytest.raises(ValueError):
            verify_package(packages["file"].data, office.bundle, urls, quorum=quorum)


def test_the_postgres_database_makes_the_same_package(runtime_factory, pg_database):
    rt = runtime_factory("pg", database_url=pg_database)
    issued = preserve(rt, FILE, keep=False)
    rt.worker().run_once(force=True)
    sources = PackageSources(rt.engine, rt.office.code, rt.signer, rt.verifier_context(), rt.registry.w3)
    report = verify_package(build_evidence_package(sources, issued.id).data, rt.trust_bundle(), [rt.settings.rpc_url])
    passed(report)


def test_a_certificate_not_yet_anchored_has_no_package(office):
    from preservation.errors import PackageNotAnchored

    issued = issue_certificate(office.rt.issuer_context(), "birth", EXAMPLES["birth"])
    with pytest.raises(PackageNotAnchored):
        build_evidence_package(office.sources(), issued.id)
    office.rt.worker().run_once(force=True)
    with Session(office.rt.engine) as s:
        assert anchor_status(s, issued.id).receipt is not None


# ------------------------------------------------------------------------------ the command line

def test_the_commands(office, tmp_path, monkeypatch):

    rt = office.rt
    env = {"NOTARY_DATA_DIR": str(rt.settings.data_path), "NOTARY_RPC_URL": office.url,
           "NOTARY_KEY_PASSPHRASE": "test-passphrase", "NOTARY_OPERATOR": "clerk"}
    run = in_process_cli(env, monkeypatch)

    out = tmp_path / "kept.asice"
    refused_file = run("evidence-package", office.kept.number, "--out", str(out), "--with-file")
    assert refused_file.exit_code == 3 and "--order" in refused_file.stderr
    made = run("evidence-package", office.kept.number, "--out", str(out), "--with-file",
               "--order", "(2026)沪0101民初123号 上海市黄浦区人民法院")
    assert made.exit_code == 0, made.stderr
    assert "evidence:    file" in made.stdout
    assert "evidence/聊天记录截图.png" in entries(out.read_bytes())
    # Only the fingerprint for a file the office never held.
    hash_only = run("evidence-package", str(office.fingerprint_only.id), "--out", str(tmp_path / "h.asice"),
                    "--with-file", "--order", "(2026)沪0101民初123号")
    assert hash_only.exit_code == 3 and "EVIDENCE_FILE_NOT_KEPT" in hash_only.stderr
    assert run("evidence-package", str(office.fingerprint_only.id), "--out", str(tmp_path / "h.asice")).exit_code == 0
    assert run("evidence-package", "(2026)沪东证字第999999号", "--out", str(tmp_path / "x.asice")).exit_code == 3
    # The release and the package are in the audit log.
    from sqlmodel import select

    from records.audit import AuditEvent

    with Session(rt.engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.actor == "operator:clerk"))]
    assert actions.count("certificate.package") == 2 and "preservation.release" in actions

    bundle = tmp_path / "trust.json"
    bundle.write_text(office.bundle.to_json())
    checked = run("verify-package", str(out), "--trust-bundle", str(bundle), "--rpc-url", office.url, "--json")
    assert checked.exit_code == 0, checked.stdout
    assert json.loads(checked.stdout)["indication"] == "PASSED"
    bad = tmp_path / "bad.asice"
    bad.write_bytes(replaced(out.read_bytes(), {"receipt.json": b"{}"}))
    assert run("verify-package", str(bad), "--trust-bundle", str(bundle), "--rpc-url", office.url).exit_code == 1
    assert run("verify-package", str(out), "--trust-bundle", str(bundle)).exit_code == 3  # no node
    missing = run("verify-package", str(tmp_path / "nope.asice"), "--trust-bundle", str(bundle), "--rpc-url", office.url)
    assert missing.exit_code == 3 and "cannot read" in missing.stderr


def test_verify_package_as_a_process_in_an_empty_data_directory(office, packages, tmp_path):
    """No database, no service: the package, a bundle and a node; bad input never a traceback."""
    package, bundle = tmp_path / "p.asice", tmp_path / "trust.json"
    package.write_bytes(packages["fingerprint"].data)
    bundle.write_text(office.bundle.to_json())
    env = {**os.environ, "NOTARY_DATA_DIR": str(tmp_path / "empty")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(NOTARY), "verify-package", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    ok = run(str(package), "--trust-bundle", str(bundle), "--rpc-url", office.url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("PASSED") and "evidence" in ok.stdout
    assert not (tmp_path / "empty").exists()
    down = run(str(package), "--trust-bundle", str(bundle), "--rpc-url", DEAD)
    assert down.returncode == 2, down.stdout + down.stderr
    bomb = tmp_path / "bomb.asice"
    bomb.write_bytes(repack(list(entries(package.read_bytes()).items()) + [("z.bin", bytes(32 * 1024 * 1024))]))
    for bad, code in ((bomb, "PACKAGE_TOO_LARGE"), (bundle, "PACKAGE_NOT_A_ZIP")):
        refused_run = run(str(bad), "--trust-bundle", str(bundle), "--rpc-url", office.url)
        assert refused_run.returncode == 3 and code in refused_run.stderr, refused_run.stderr
        assert "Traceback" not in refused_run.stderr
