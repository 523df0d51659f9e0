"""Attacks on what issue #17 shares (evidence preservation, the court's evidence package,
registries' subscriptions), as an adversary would try them. Real anvil, real database.

The evidence package: the verifier reads a ZIP through its central directory, a clerk's
unzip may read it otherwise (local headers in order, extra fields, file types), so a
package whose bytes say two things is refused, and only the office's own layout of data
objects passes. The submission: a preservation certificate's text cannot be made to state a
second fingerprint or time. The public check and the subscriptions: no answer, and no
malformed request, tells an anonymous visitor or a registry more than it may know."""

from __future__ import annotations

import hashlib
import io
import shutil
import stat
import struct
import subprocess
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field, replace

import pytest
from sqlmodel import Session, select

from notary.runtime import open_runtime
from preservation.evidence_package import build_evidence_package
from preservation.models import PreservedEvidence
from records.matters import EXAMPLES
from records.models import Certificate
from tests.conftest import make_settings
from tests.forgeries import _isa_append, make_context
from tests.test_evidence_package import FILE, OTHER_FILE, Office, codes, entries, passed, preserve, refused, resigned
from tests.test_preservation import PERSON, _h, _world
from verifier.apikeys import create_api_key
from verifier.certified_text import FINGERPRINT_PHRASE, TIMESTAMP_PHRASE
from verifier.report import Indication

FORGED = b"\x89PNG\r\n\x1a\n a screenshot that was never preserved"


@pytest.fixture(scope="module")
def office(tmp_path_factory, anvil_url):
    rt = open_runtime(make_settings(tmp_path_factory.mktemp("sharing-attacks"), anvil_url))
    try:
        kept = preserve(rt, FILE, keep=True)
        fingerprint_only = preserve(rt, OTHER_FILE, keep=False, name="会议纪要.txt")
        rt.worker().run_once(force=True)
        yield Office(rt, rt.trust_bundle(), kept, fingerprint_only, birth=kept)  # no other matter needed here
    finally:
        rt.close()


@pytest.fixture(scope="module")
def package(office) -> bytes:
    return build_evidence_package(office.sources(), office.kept.id, evidence_file=FILE).data


# ------------------------------------------------------------------------------ ZIP bytes by hand

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
UNICODE_PATH = 0x7075  # Info-ZIP's Unicode Path extra field


@dataclass
class Raw:
    """One entry as it lies in the file; ``local`` overrides what the local header says
    (the central directory always says the true values), ``after`` is bytes that follow
    the entry's data."""

    name: str
    stored: bytes
    method: int
    crc: int
    size: int
    flags: int
    external_attr: int
    local: dict[str, int] = field(default_factory=dict)
    local_extra: bytes = b""
    central_extra: bytes = b""
    after: bytes = b""


def raw_entries(data: bytes) -> list[Raw]:
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            header = _LOCAL.unpack_from(data, info.header_offset)
            start = info.header_offset + _LOCAL.size + header[-2] + header[-1]
            out.append(Raw(info.filename, data[start:start + info.compress_size], info.compress_type, info.CRC,
                           info.file_size, info.flag_bits, info.external_attr))
    return out


def local_header(name: str, stored: bytes, *, method: int = zipfile.ZIP_STORED, size: int | None = None,
                 crc: int | None = None, flags: int = 0x800, extra: bytes = b"") -> bytes:
    raw = name.encode()
    return _LOCAL.pack(b"PK\x03\x04", 20, flags, method, 0, 33, zlib.crc32(stored) if crc is None else crc,
                       len(stored), len(stored) if size is None else size, len(raw), len(extra)) + raw + extra


def raw_zip(items: list[Raw], tail: bytes = b"") -> bytes:
    body, central = bytearray(), bytearray()
    for e in items:
        name = e.name.encode()
        told = {"flags": e.flags, "method": e.method, "crc": e.crc, "csize": len(e.stored), "size": e.size, **e.local}
        offset = len(body)
        body += _LOCAL.pack(b"PK\x03\x04", 20, told["flags"], told["method"], 0, 33, told["crc"], told["csize"],
                            told["size"], len(name), len(e.local_extra)) + name + e.local_extra + e.stored + e.after
        central += _CENTRAL.pack(b"PK\x01\x02", (3 << 8) | 20, 20, e.flags, e.method, 0, 33, e.crc, len(e.stored),
                                 e.size, len(name), len(e.central_extra), 0, 0, 0, e.external_attr, offset)
        central += name + e.central_extra
    end = _END.pack(b"PK\x05\x06", 0, 0, len(items), len(items), len(central), len(body), 0)
    return bytes(body + central + end) + tail


def member(items: list[Raw], prefix: str) -> int:
    return next(i for i, e in enumerate(items) if e.name.startswith(prefix))


def changed(items: list[Raw], index: int, **what) -> list[Raw]:
    return [replace(e, **what) if i == index else e for i, e in enumerate(items)]


# ------------------------------------------------------------------------------ the container

def test_the_hand_made_zip_is_the_package_itself(office, package):
    """The helper writes what the office writes: the same bytes, which pass."""
    assert raw_zip(raw_entries(package)) == package
    passed(office.verify(raw_zip(raw_entries(package))))


def test_a_zip_that_reads_two_ways_is_refused(office, package):
    """Each of these passed: the central directory (all the verifier read) is the genuine
    package's, while a clerk's unzip reads another file, another name or another type.
    No office key is needed for any of them."""
    items = raw_entries(package)
    evidence, certificate = member(items, "evidence/"), member(items, "certificate.pdf")
    hidden = local_header("evidence/转账记录.png", FORGED)
    crc = zlib.crc32(b"application/vnd.etsi.asic-e+zipjunk")
    cases = {
        # A local entry in a gap before the central directory: a streaming unzip (one that
        # reads local headers in order, as Java's ZipInputStream does) extracts it too.
        "hidden entry": raw_zip(changed(items, len(items) - 1, after=hidden)),
        # The mimetype's local header claims the bytes after it: "...+zipjunk".
        "mimetype trailing bytes": raw_zip(changed(items, 0, after=b"junk",
                                                   local={"csize": 35, "size": 35, "crc": crc})),
        # A data descriptor that says other sizes than the directory.
        "data descriptor": raw_zip(changed(items, evidence, flags=items[evidence].flags | 0x08,
                                           local={"crc": 0, "csize": 0, "size": 0},
                                           after=b"PK\x07\x08" + struct.pack("<3L", 0, 0, 0))),
        # A local header that gives another size than the directory.
        "local size": raw_zip(changed(items, evidence, local={"size": items[evidence].size + 1})),
        # Info-ZIP's Unicode Path field: unzip lists and extracts the member under this
        # name (the certificate shown as a piece of evidence).
        "unicode path": raw_zip(changed(items, certificate, central_extra=struct.pack(
            "<HHBL", UNICODE_PATH, 5 + len("evidence/转账记录.pdf".encode()), 1,
            zlib.crc32(b"certificate.pdf")) + "evidence/转账记录.pdf".encode())),
        "local extra field": raw_zip(changed(items, evidence, local_extra=struct.pack("<HH", 0xCAFE, 0))),
        # unzip makes a symbolic link (its target: the member's bytes).
        "symlink": raw_zip(changed(items, evidence, external_attr=(stat.S_IFLNK | 0o777) << 16)),
        "directory attribute": raw_zip(changed(items, evidence, external_attr=0x10)),
        # Bytes after the end record: another archive appended.
        "appended archive": raw_zip(items, tail=local_header("evidence/转账记录.png", FORGED)),
    }
    for attack, data in cases.items():
        assert refused(office, data) == "PACKAGE_MALFORMED", attack
    if shutil.which("unzip"):
        # The attack is real: unzip reads the Unicode Path field that zipfile ignores.
        path = office.rt.settings.data_path / "unicode-path.asice"
        path.write_bytes(cases["unicode path"])
        listing = subprocess.run(["unzip", "-l", str(path)], capture_output=True, text=True).stdout
        assert "evidence/转账记录.pdf" in listing and "certificate.pdf" not in listing


# ------------------------------------------------------------------------------ the data objects

def test_an_insider_cannot_add_a_data_object_beside_the_evidence(office, package):
    """With the office's key (an insider), the manifest lists what it likes. Another file
    beside the genuine one passed (but for a sub-folder of ``evidence/``), because the
    evidence check looked only under ``evidence/``: ``Evidence/`` is the same folder on a
    clerk's Windows or macOS disk."""
    fingerprint = build_evidence_package(office.sources(), office.fingerprint_only.id).data
    signer = office.rt.signer
    for data, extra in ((package, "Evidence/转账记录.png"), (package, "evidence/sub/转账记录.png"),
                        (fingerprint, "转账记录.png"), (fingerprint, "EVIDENCE/会议纪要.txt"),
                        (package, "receipt.json.")):
        report = office.verify(resigned(data, signer, {extra: FORGED}))
        assert report.indication is Indication.FAILED, (extra, codes(report))
        assert codes(report)["manifest"] == ("INVALID", "MANIFEST_UNEXPECTED_OBJECT"), extra
        assert report.check("manifest").details["names"] == [extra]
    # The office's own packages hold only the expected objects.
    passed(office.verify(resigned(package, signer, {})))


def test_a_later_revision_of_the_certificate_states_nothing(office, package):
    """A forged fingerprint drawn on the certificate's page in an incremental update, the
    forged file in place of the genuine one and the manifest re-signed: the certificate
    FAILS, and what it states is never read from the update (only from the anchored
    revision, and only when that is intact)."""
    pdf = entries(package)["certificate.pdf"]
    fake = hashlib.sha256(FORGED).hexdigest()
    forged_pdf = _isa_append(pdf, replace(make_context(name="证据说明"), forged_text=fake))
    report = office.verify(resigned(package, office.rt.signer, {
        "certificate.pdf": forged_pdf, "evidence/聊天记录截图.png": FORGED}))
    assert report.indication is Indication.FAILED
    assert codes(report)["certificate"] == ("INVALID", "CERTIFICATE_FAILED")
    assert codes(report)["evidence"] == ("SKIPPED", "NOT_CHECKED") and report.evidence_sha256 is None


# ------------------------------------------------------------------------------ submissions

def test_a_submitters_text_cannot_state_a_second_fingerprint_or_time(runtime_factory):
    """Free text with the statement's own phrases printed a second fingerprint (or time)
    on the office's certificate: misleading to a reader, and a package that could never
    pass (EVIDENCE_STATEMENT_AMBIGUOUS). Refused before anything is timestamped or
    numbered, however it is spaced or which width its characters have."""
    rt, client, tokens = _world(runtime_factory)
    fake = hashlib.sha256(FORGED).hexdigest()
    spaced = FINGERPRINT_PHRASE[:6] + " " + FINGERPRINT_PHRASE[6:]
    wide = FINGERPRINT_PHRASE.replace("SHA-256", "ＳＨＡ－２５６").replace("：", ":")
    cases = [("description", f"证据说明。{FINGERPRINT_PHRASE}{fake}"), ("description", f"{spaced}{fake}"),
             ("description", f"{wide}{fake}"), ("on_behalf_of", f"{TIMESTAMP_PHRASE}2020年1月1日"),
             ("file_name", f"{FINGERPRINT_PHRASE}{fake}.png")]
    for name, value in cases:
        body = {"description": "合同扫描件", "size": 10, **PERSON, name: value, "sha256": "ab" * 32}
        r = client.post("/api/v1/preservations", headers=_h(tokens["client"]), json=body)
        assert r.status_code == 422, (name, r.text)
        assert [(f["field"], f["rule"]) for f in r.json()["error"]["fields"]] == [(name, "statement_phrase")], r.text
    upload = client.post("/api/v1/preservations", headers=_h(tokens["client"]),
                         data={"description": "截图", **PERSON},
                         files={"file": (f"{FINGERPRINT_PHRASE}{fake}.png", FORGED, "image/png")})
    assert upload.status_code == 422 and upload.json()["error"]["fields"][0]["field"] == "file_name", upload.text
    with Session(rt.engine) as s:
        assert s.exec(select(PreservedEvidence)).all() == [] and s.exec(select(Certificate)).all() == []
    # A description that talks about fingerprints in its own words is still fine.
    ok = client.post("/api/v1/preservations", headers=_h(tokens["client"]), json={
        "description": "聊天记录截图，其数字指纹由申请人另行计算", **PERSON, "sha256": "ab" * 32})
    assert ok.status_code == 201, ok.text


def test_a_client_token_issues_drafts_and_changes_nothing(runtime_factory):
    rt, client, tokens = _world(runtime_factory)
    mine = client.post("/api/v1/preservations", headers=_h(tokens["client"]),
                       json={"description": "合同", **PERSON, "sha256": "cd" * 32}).json()
    cid = mine["certificate_id"]
    for method, url, body in (
            ("POST", "/api/v1/certificates", {"matter": "birth", "data": EXAMPLES["birth"]}),
            ("POST", "/api/v1/drafts", {"matter": "birth", "data": EXAMPLES["birth"]}),
            ("GET", "/api/v1/drafts", None),
            ("POST", f"/api/v1/certificates/{cid}/revoke", {"reason": 1}),
            ("POST", f"/api/v1/certificates/{cid}/correct", {"data": EXAMPLES["evidence-preservation"]})):
        r = client.request(method, url, json=body, headers=_h(tokens["client"]))
        assert r.status_code == 403, (url, r.text)
    # Another office's client and the office's other client: no record, no file, no certificate.
    for who in ("client2", "client_other"):
        assert client.get(f"/api/v1/preservations/{mine['id']}", headers=_h(tokens[who])).status_code == 404
        assert client.get(f"/api/v1/certificates/{cid}/pdf", headers=_h(tokens[who])).status_code in (403, 404)
    with Session(rt.engine) as s:
        assert [c.matter for c in s.exec(select(Certificate))] == ["evidence-preservation"]


# ------------------------------------------------------------------------------ the public check

def test_malformed_checks_and_submissions_get_a_4xx_and_no_fingerprint(runtime_factory):
    rt, client, tokens = _world(runtime_factory)
    kept = client.post("/api/v1/preservations", headers=_h(tokens["client"]), data={"description": "截图", **PERSON},
                       files={"file": ("截图.png", FILE, "image/png")}).json()
    cid, sha = kept["certificate_id"], kept["sha256"]
    api, page = "/api/v1/verify/evidence", kept["evidence_check_url"].split("127.0.0.1:8000", 1)[-1]
    upload = f"/verify/evidence?id={cid}&c={page.split('?c=', 1)[1]}"
    multipart = "multipart/form-data; boundary=xyzzy"
    bodies = [
        ("application/json", b"{"), ("application/json", b'{"certificate_id": "' + cid.encode() + b'", "x": 1}'),
        ("application/json", b"[" * 5000), ("text/plain", b"sha256=" + sha.encode()), ("", b""),
        ("application/x-www-form-urlencoded", f"certificate_id={cid}&sha256={sha}".encode()),
        ("multipart/form-data", b"--xyzzy\r\n"), (multipart, b"--xyzzy\r\nContent-Disposition: form-data\r\n\r\nx"),
        (multipart, b"--xyzzy\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc"),
        (multipart, b"--xyzzy\r\nContent-Disposition: form-data; name=\"certificate_id\"\r\n\r\n" + b"9" * 70_000
         + b"\r\n--xyzzy--\r\n"),
        (multipart, b"".join(b"--xyzzy\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n"
                             for _ in range(2)) + b"--xyzzy--\r\n"),
        (multipart, b"--xyzzy\r\nContent-Disposition: form-data; name=\"sha256\"\r\n\r\n" + sha.encode()
         + b"\r\n--xyzzy--\r\n"),  # no certificate
    ]
    for path in (api, upload, "/api/v1/preservations"):
        for content_type, body in bodies:
            headers = {"content-type": content_type} if content_type else {}
            if path.startswith("/api/v1/preservations"):
                headers |= _h(tokens["client"])
            r = client.post(path, content=body, headers=headers, follow_redirects=False)
            assert 400 <= r.status_code < 500, (path, body[:60], r.status_code, r.text[:300])
            assert sha not in r.text and "截图" not in r.text and PERSON["id_number"] not in r.text, (path, body[:60])
    # An anonymous answer says whether the file matches, never what the fingerprint is.
    other = client.post(api, json={"certificate_id": cid, "sha256": "00" * 32})
    assert other.status_code == 200 and other.json()["matches"] is False and sha not in other.text


# ------------------------------------------------------------------------------ subscriptions

def test_a_registry_subscribes_only_to_what_it_verified_and_learns_nothing_else(runtime_factory):
    """Subscribing names no certificate the key has not verified (an existing one is refused
    exactly like a made-up one), a wrong access code does not count as verifying, and a
    repeated call adds no rows."""
    rt, client, tokens = _world(runtime_factory)
    preserved = client.post("/api/v1/preservations", headers=_h(tokens["client"]),
                            json={"description": "合同", **PERSON, "sha256": "ef" * 32}).json()
    rt.worker().run_once(force=True)
    with Session(rt.engine) as s:
        cert = s.get(Certificate, uuid.UUID(preserved["certificate_id"]))
    row, key = create_api_key(rt.engine, "法院")
    auth = {"Authorization": f"Bearer {key}"}
    wrong = client.post("/api/v1/verify/batch", headers=auth, json={
        "items": [{"number": cert.number, "access_code": "AAAA-AAAA"}], "subscribe": True}).json()["results"][0]
    assert wrong["indication"] == "ERROR" and wrong["subscribed"] is False
    refs = [str(cert.id), cert.document_sha256, str(uuid.uuid4()), "ef" * 32]  # the last: the evidence's fingerprint
    answer = client.post("/api/v1/subscriptions", headers=auth, json={"certificates": refs}).json()
    shapes = [{k: v for k, v in x.items() if k != "input"} for x in answer["results"]]
    assert answer["subscribed"] == 0 and all(s == shapes[0] for s in shapes), shapes
    assert client.post("/api/v1/verify/batch", headers=auth, json={"items": [{"id": str(cert.id)}]}).status_code == 200
    for _ in range(3):
        again = client.post("/api/v1/subscriptions", headers=auth, json={"certificates": [str(cert.id)] * 50})
        assert again.status_code == 200 and again.json()["subscribed"] == 50
    listed = client.get("/api/v1/subscriptions", headers=auth).json()
    assert listed["total"] == 1
    assert PERSON["id_number"] not in str(listed) and "ef" * 32 not in str(listed)
