"""Electronic evidence preservation (电子证据保全): a client submits a file or its SHA-256 and
gets a preservation certificate, signed and anchored like every certificate; the file is
sealed at rest and released only to its submitter or on a recorded order; anyone checks a
file against the certificate. Real anvil node, real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import uuid

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from issuer.auth import Role, create_token
from notary.app import create_app
from preservation.custody import purge_expired, release_on_order
from preservation.errors import EvidenceDamaged, FilePurged, InvalidOrder
from preservation.models import PreservedEvidence
from preservation.sealed_files import open_file
from preservation.submission import Submission, submit
from records.audit import AuditEvent, verify_chain
from records.matters import EXAMPLES
from records.models import Certificate
from verifier.report import Indication
from verifier.service import verify_pdf
from tests.cli_runner import in_process_cli

OFFICE, OTHER_OFFICE = "SH-DONGFANG", "SH-XUHUI"
PERSON = {"sex": "男", "birth_date": "1982-05-05", "id_number": "310104198205050037"}
CLIENT_NAME = "孙律"
CONTENT = b"PRESERVE-ME " + os.urandom(4096) + b" chat log of 2026-11-20"


def _h(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _pdf_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).replace("\r\n", "").replace("\n", "")


def _world(runtime_factory, database_url=None, **settings):
    rt = runtime_factory(database_url=database_url, **{"preservation_notary": "王丽", **settings})
    tokens = {
        "client": create_token(rt.engine, CLIENT_NAME, Role.CLIENT, OFFICE)[1],
        "client2": create_token(rt.engine, "钱律", Role.CLIENT, OFFICE)[1],
        "client_other": create_token(rt.engine, "周律", Role.CLIENT, OTHER_OFFICE)[1],
        "notary": create_token(rt.engine, "王丽", Role.NOTARY, OFFICE)[1],
        "admin": create_token(rt.engine, "李主任", Role.OFFICE_ADMIN, OFFICE)[1],
        "registry": create_token(rt.engine, "司法局", Role.REGISTRY_ADMIN, None)[1],
    }
    return rt, TestClient(create_app(rt), raise_server_exceptions=False), tokens


def _submit_file(client, token, content=CONTENT, name="聊天记录.txt", **fields):
    data = {"description": "微信聊天记录导出文件", "on_behalf_of": "上海某科技有限公司", **PERSON, **fields}
    return client.post("/api/v1/preservations", headers=_h(token), data=data,
                       files={"file": (name, content, "application/octet-stream")})


def _submit_hash(client, token, sha256, **fields):
    body = {"description": "合同扫描件（原件由申请人保管）", "size": 123456, **PERSON, **fields, "sha256": sha256}
    return client.post("/api/v1/preservations", headers=_h(token), json=body)


def test_submit_read_and_release_only_to_the_submitter(runtime_factory, database_url):
    rt, client, tokens = _world(runtime_factory, database_url)
    r = _submit_file(client, tokens["client"])
    assert r.status_code == 201, r.text
    kept = r.json()
    sha = hashlib.sha256(CONTENT).hexdigest()
    assert kept["sha256"] == sha and kept["size"] == len(CONTENT) and kept["file_kept"] and kept["file_held"]
    assert kept["file_name"] == "聊天记录.txt" and kept["submitter"] == CLIENT_NAME and kept["access_code"]
    assert kept["retention_until"] == (dt.date.today() + dt.timedelta(days=3650)).isoformat()
    received, stamped = (dt.datetime.fromisoformat(kept[k]) for k in ("received_at", "timestamp_time"))
    assert dt.timedelta(0) <= stamped - received < dt.timedelta(seconds=30)
    code = kept["verify_url"].rsplit("?c=", 1)[1]
    assert kept["evidence_check_url"].endswith(f"/v/{kept['certificate_id']}/evidence?c={code}")

    fingerprint_only = _submit_hash(client, tokens["client"], "AB" * 32)  # upper case: read as lower case
    assert fingerprint_only.status_code == 201, fingerprint_only.text
    assert fingerprint_only.json()["sha256"] == "ab" * 32 and not fingerprint_only.json()["file_kept"]

    # The certificate: the client reads its own, it verifies, its text names the fingerprint.
    cid = kept["certificate_id"]
    pdf = client.get(f"/api/v1/certificates/{cid}/pdf", headers=_h(tokens["client"]))
    assert pdf.status_code == 200
    assert client.get(f"/api/v1/certificates/{cid}/pdf", headers=_h(tokens["client2"])).status_code == 403
    assert client.post(f"/api/v1/certificates/{cid}/revoke", json={"reason": 1},
                       headers=_h(tokens["client"])).status_code == 403
    words = _pdf_text(pdf.content)
    assert sha in words and "电子证据保全" in words and CLIENT_NAME in words and "上海某科技有限公司" in words
    rt.worker().run_once(force=True)
    assert verify_pdf(rt.verifier_context(), pdf.content).indication is Indication.PASSED
    with Session(rt.engine) as s:
        cert = s.get(Certificate, uuid.UUID(cid))
        assert cert.matter == "evidence-preservation" and cert.issued_by == CLIENT_NAME
        row = s.get(PreservedEvidence, uuid.UUID(kept["id"]))
        assert row.certificate_id == cert.id and row.sha256 == sha and row.timestamp_token

    # Never in clear at rest; opens for its own record only.
    assert CONTENT not in row.file_sealed and CONTENT[:64] not in row.file_sealed
    if rt.engine.dialect.name == "sqlite":
        raw = b"".join(p.read_bytes() for p in rt.settings.data_path.glob("notary.sqlite3*"))
        assert row.file_sealed[:64] in raw  # the database file is the one that holds it
        assert CONTENT[:64] not in raw and b"PRESERVE-ME" not in raw
    else:
        with rt.engine.connect() as conn:
            dumped = conn.execute(text("SELECT encode(file_sealed, 'escape') FROM preserved_evidence "
                                       "WHERE file_sealed IS NOT NULL")).scalar_one()
        assert "PRESERVE-ME" not in dumped
    key = rt.preservation_context(rt.issuer_context()).file_key
    assert open_file(key, row.id, row.file_sealed, sha) == CONTENT
    with pytest.raises(EvidenceDamaged):
        open_file(key, uuid.UUID(fingerprint_only.json()["id"]), row.file_sealed, sha)

    # Released to the submitter only; everyone else is told there is no such evidence.
    url = f"/api/v1/preservations/{kept['id']}"
    mine = client.get(url + "/file", headers=_h(tokens["client"]))
    assert mine.status_code == 200 and mine.content == CONTENT
    assert mine.headers["x-evidence-sha256"] == sha and mine.headers["cache-control"] == "no-store"
    for who in ("client2", "client_other", "notary", "admin", "registry"):
        refused = client.get(url + "/file", headers=_h(tokens[who]))
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "EVIDENCE_NOT_FOUND", who
    assert client.get(url + "/file").status_code == 401
    hash_only = client.get(f"/api/v1/preservations/{fingerprint_only.json()['id']}/file", headers=_h(tokens["client"]))
    assert hash_only.status_code == 404 and hash_only.json()["error"]["code"] == "EVIDENCE_FILE_NOT_KEPT"
    # The record: the submitter and the office's administrators (audited); no one else.
    assert client.get(url, headers=_h(tokens["client"])).json()["certificate_number"] == cert.number
    assert client.get(url, headers=_h(tokens["admin"])).status_code == 200
    for who in ("client2", "client_other", "notary", "registry"):
        assert client.get(url, headers=_h(tokens[who])).status_code == 404, who
    listing = client.get("/api/v1/preservations", headers=_h(tokens["client"])).json()
    assert listing["total"] == 2 and {i["id"] for i in listing["items"]} == {kept["id"], fingerprint_only.json()["id"]}
    assert client.get("/api/v1/preservations", headers=_h(tokens["client2"])).json()["total"] == 0
    with Session(rt.engine) as s:
        actions = [(e.action, e.actor, e.target) for e in s.exec(select(AuditEvent))]
    assert ("preservation.submit", f"client:{CLIENT_NAME}", kept["id"]) in actions
    assert ("preservation.release", f"client:{CLIENT_NAME}", kept["id"]) in actions
    assert ("preservation.read", "office_admin:李主任", kept["id"]) in actions
    assert verify_chain(rt.engine) is None


def test_staff_submit_for_a_walk_in_client_and_the_duty_notary(runtime_factory):
    rt, client, tokens = _world(runtime_factory, preservation_notary=None)
    # A client's certificate names the office's duty notary: none set, nothing stored.
    unset = _submit_hash(client, tokens["client"], "cd" * 32)
    assert unset.status_code == 503 and unset.json()["error"]["code"] == "PRESERVATION_NOT_SET_UP"
    walk_in = _submit_file(client, tokens["notary"], applicant_name="赵客户")
    assert walk_in.status_code == 201, walk_in.text
    with Session(rt.engine) as s:
        cert = s.get(Certificate, uuid.UUID(walk_in.json()["certificate_id"]))
        assert cert.notary == "王丽" and cert.applicant_name == "赵客户" and cert.issued_by == "王丽"
        assert s.exec(select(PreservedEvidence)).one().id == uuid.UUID(walk_in.json()["id"])
    # Staff name the person; a client submits as themself only.
    nameless = _submit_file(client, tokens["notary"])
    assert nameless.status_code == 422 and nameless.json()["error"]["fields"][0]["field"] == "applicant_name"
    as_other = _submit_hash(client, tokens["client"], "cd" * 32, applicant_name="别人")
    assert as_other.status_code == 422 and as_other.json()["error"]["fields"][0]["field"] == "applicant_name"
    assert _submit_hash(client, tokens["registry"], "cd" * 32).status_code == 403
    assert _submit_hash(client, tokens["client_other"], "cd" * 32).status_code == 403


def test_order_release_and_purge_after_retention(runtime_factory, database_url):
    rt, client, tokens = _world(runtime_factory, database_url)
    kept = _submit_file(client, tokens["client"]).json()
    evidence_id = uuid.UUID(kept["id"])
    ctx = rt.preservation_context(rt.issuer_context())
    for bad in ("", "   ", "法院\u202e令", "x" * 201, "令\x00"):
        with pytest.raises(InvalidOrder):
            release_on_order(ctx, evidence_id, bad, "operator:陈")
    order = "(2026)沪0101民初123号 上海市黄浦区人民法院调查令"
    row, content = release_on_order(ctx, evidence_id, order, "operator:陈")
    assert content == CONTENT and row.id == evidence_id
    with Session(rt.engine) as s:
        released = [json.loads(e.details) for e in s.exec(select(AuditEvent).where(
            AuditEvent.action == "preservation.release", AuditEvent.actor == "operator:陈"))]
    assert released == [{"to": "order", "order": order, "sha256": kept["sha256"], "size": len(CONTENT)}]

    last_day = dt.date.fromisoformat(kept["retention_until"])
    assert purge_expired(rt.engine, OFFICE, last_day, "operator:陈") == []  # kept through its last day
    assert purge_expired(rt.engine, OFFICE, last_day + dt.timedelta(days=1), "operator:陈") == [evidence_id]
    assert purge_expired(rt.engine, OFFICE, last_day + dt.timedelta(days=1), "operator:陈") == []
    with pytest.raises(FilePurged):
        release_on_order(ctx, evidence_id, order, "operator:陈")
    gone = client.get(f"/api/v1/preservations/{evidence_id}/file", headers=_h(tokens["client"]))
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "EVIDENCE_FILE_PURGED"
    record = client.get(f"/api/v1/preservations/{evidence_id}", headers=_h(tokens["client"])).json()
    assert record["file_held"] is False and record["purged_at"] and record["sha256"] == kept["sha256"]
    # The fingerprint and the certificate remain: the file still checks against it.
    check = client.post("/api/v1/verify/evidence", json={"certificate_id": kept["certificate_id"],
                                                          "sha256": kept["sha256"]})
    assert check.status_code == 200 and check.json()["matches"] is True
    with Session(rt.engine) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "preservation.purge")).one().target == str(evidence_id)


def test_public_check_matches_since_when_and_status(runtime_factory):
    rt, client, tokens = _world(runtime_factory)
    kept = _submit_file(client, tokens["client"]).json()
    cid, sha = kept["certificate_id"], kept["sha256"]

    def check(**body):
        return client.post("/api/v1/verify/evidence", json={"certificate_id": cid, **body})

    pending = check(sha256=sha)
    assert pending.status_code == 200, pending.text
    answer = pending.json()
    assert answer["matches"] is True and answer["timestamp_time"] == kept["timestamp_time"]
    assert answer["report"]["indication"] == "INDETERMINATE" and answer["anchor_block_time"] is None
    anchor = next(c for c in answer["report"]["checks"] if c["name"] == "anchor_inclusion")
    assert anchor["code"] == "ANCHOR_PENDING" and anchor["status"] == "SKIPPED"
    # No personal data without the access code.
    for personal in (CLIENT_NAME, PERSON["id_number"], "微信聊天记录", "聊天记录.txt"):
        assert personal not in pending.text
    assert answer["record"] is None

    rt.worker().run_once(force=True)
    anchored = check(sha256=sha.upper()).json()
    assert anchored["matches"] is True and anchored["report"]["indication"] == "PASSED"
    assert anchored["anchor_block_time"] and anchored["anchor_block_number"]
    changed = bytearray(CONTENT)
    changed[100] ^= 1
    upload = client.post("/api/v1/verify/evidence", data={"certificate_id": cid},
                         files={"file": ("x.txt", bytes(changed), "application/octet-stream")})
    assert upload.status_code == 200 and upload.json()["matches"] is False
    same = client.post("/api/v1/verify/evidence", data={"certificate_id": cid},
                       files={"file": ("x.txt", CONTENT, "application/octet-stream")})
    assert same.json()["matches"] is True and same.json()["sha256"] == sha

    # With the number and the access code: the full record.
    with Session(rt.engine) as s:
        number = s.get(Certificate, uuid.UUID(cid)).number
    full = client.post("/api/v1/verify/evidence", json={"number": number, "access_code": kept["access_code"],
                                                         "sha256": sha})
    assert full.status_code == 200 and full.json()["record"] and CLIENT_NAME in full.text
    wrong = client.post("/api/v1/verify/evidence", json={"number": number, "access_code": "WRONG-CODE", "sha256": sha})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "ACCESS_CODE_WRONG"

    # A revoked preservation certificate says so, whatever the file.
    revoked = client.post(f"/api/v1/certificates/{cid}/revoke", json={"reason": 2}, headers=_h(tokens["admin"]))
    assert revoked.status_code == 200, revoked.text
    after = check(sha256=sha).json()
    assert after["matches"] is True and after["report"]["indication"] == "FAILED"
    assert after["report"]["revocation"]["kind"] == "revoked"

    # Bad questions: a certificate that preserves nothing, an unknown one, a malformed hash.
    from issuer.service import issue_certificate

    birth = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    other = client.post("/api/v1/verify/evidence", json={"certificate_id": str(birth.id), "sha256": sha})
    assert other.status_code == 422 and other.json()["error"]["code"] == "NOT_A_PRESERVATION_CERTIFICATE"
    unknown = client.post("/api/v1/verify/evidence", json={"certificate_id": str(uuid.uuid4()), "sha256": sha})
    assert unknown.status_code == 404
    assert client.post("/api/v1/verify/evidence", json={"certificate_id": cid, "sha256": "xyz"}).status_code == 422
    assert client.post("/api/v1/verify/evidence", json={"certificate_id": cid}).status_code == 400
    empty = client.post("/api/v1/verify/evidence", data={"certificate_id": cid}, files={"file": ("e", b"", "text/plain")})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "EMPTY_UPLOAD"

    # The page: without script, the upload is hashed and answered at the fingerprint's address.
    page_url = kept["evidence_check_url"].split("127.0.0.1:8000", 1)[-1]
    qr_page = client.get(kept["verify_url"].split("127.0.0.1:8000", 1)[-1])
    assert f'href="{page_url}&lang=zh"' in qr_page.text  # the certificate's own page leads to the check
    page = client.get(page_url)
    assert page.status_code == 200 and 'id="evidence-form"' in page.text and CLIENT_NAME not in page.text
    posted = client.post(page.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&"),
                         files={"file": ("x.txt", bytes(changed), "application/octet-stream")}, follow_redirects=False)
    assert posted.status_code == 303 and f"sha256={hashlib.sha256(bytes(changed)).hexdigest()}" in posted.headers["location"]
    answered = client.get(posted.headers["location"])
    assert 'data-matches="false"' in answered.text and "不一致" in answered.text
    assert client.get(page_url.replace("?c=", "?c=X")).status_code == 404


def test_limits_and_hostile_text(runtime_factory):
    limit = 64 * 1024
    rt, client, tokens = _world(runtime_factory, preservation_max_bytes=limit)
    too_big = _submit_file(client, tokens["client"], content=b"x" * (limit + 200 * 1024))  # the whole body is over
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "UPLOAD_TOO_LARGE"
    just_over = _submit_file(client, tokens["client"], content=b"x" * (limit + 1))  # the file part is over
    assert just_over.status_code == 413 and just_over.json()["error"]["code"] == "UPLOAD_TOO_LARGE"
    assert _submit_file(client, tokens["client"], content=b"x" * limit).status_code == 201

    def field_error(r, field):
        assert r.status_code == 422, r.text
        fields = [f["field"] for f in r.json()["error"]["fields"]]
        assert field in fields, fields

    field_error(_submit_hash(client, tokens["client"], "ab" * 31), "sha256")
    field_error(_submit_hash(client, tokens["client"], "zz" * 32), "sha256")
    field_error(_submit_hash(client, tokens["client"], "ab" * 32, description="聊天\u202e记录"), "description")
    field_error(_submit_hash(client, tokens["client"], "ab" * 32, description="记录\u0000"), "description")
    field_error(_submit_hash(client, tokens["client"], "ab" * 32, description="长" * 501), "description")
    field_error(_submit_hash(client, tokens["client"], "ab" * 32, on_behalf_of="某\u200b公司"), "on_behalf_of")
    field_error(_submit_hash(client, tokens["client"], "ab" * 32, id_number="310104198205050038"), "id_number")
    field_error(_submit_file(client, tokens["client"], file_name="截图\x00.png"), "file_name")
    field_error(_submit_file(client, tokens["client"], file_name="a\u202egnp.exe"), "file_name")
    field_error(_submit_file(client, tokens["notary"], applicant_name="王\u202e丽"), "applicant_name")
    field_error(_submit_file(client, tokens["client"], content=b""), "file")
    field_error(_submit_file(client, tokens["client"], sha256="ab" * 32), "sha256")  # both: which one?
    field_error(_submit_file(client, tokens["client"], size="12"), "size")  # not the file's size
    field_error(client.post("/api/v1/preservations", headers=_h(tokens["client"]),
                            data={"description": "x", **PERSON, "colour": "red"}), "colour")
    lone = client.post("/api/v1/preservations", headers={**_h(tokens["client"]), "content-type": "application/json"},
                       content=b'{"description": "\\ud800", "sha256": "' + b"ab" * 32 + b'"}')
    assert lone.status_code == 422
    # An anonymous upload is refused before its body is read; so is a token of no office's.
    assert _submit_file(client, None).status_code == 401
    with Session(rt.engine) as s:
        assert len(s.exec(select(PreservedEvidence)).all()) == 1  # only the one at the limit
        assert len(s.exec(select(Certificate)).all()) == 1


def test_an_upload_over_the_limit_is_cut_off_while_reading(runtime_factory):
    """Chunked, no Content-Length, driven at the ASGI level to count what the service pulls:
    it stops right after the limit (plus the form's framing) and answers 413."""
    limit = 64 * 1024
    rt = runtime_factory(preservation_max_bytes=limit, preservation_notary="王丽")
    token = create_token(rt.engine, CLIENT_NAME, Role.CLIENT, OFFICE)[1]
    app = create_app(rt)
    boundary = b"xyzzy"
    head = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    chunk, offered = b"0" * (16 * 1024), 2000  # 32 MB offered
    pulled, sent = 0, []

    async def receive():
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": head if pulled == 1 else chunk, "more_body": pulled < offered}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/v1/preservations", "raw_path": b"/api/v1/preservations", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "headers": [
                 (b"content-type", b"multipart/form-data; boundary=" + boundary), (b"transfer-encoding", b"chunked"),
                 (b"authorization", f"Bearer {token}".encode())]}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert b"UPLOAD_TOO_LARGE" in b"".join(m.get("body", b"") for m in sent[1:])
    assert pulled <= (limit + 64 * 1024) // len(chunk) + 3, f"read {pulled} chunks"


def test_nothing_half_stored_when_signing_fails(runtime_factory, monkeypatch):
    rt = runtime_factory(preservation_notary="王丽")
    ctx = rt.preservation_context(rt.issuer_context())  # signs in this process
    principal_token = create_token(rt.engine, CLIENT_NAME, Role.CLIENT, OFFICE)[0]
    from issuer.auth import Principal

    client = Principal(principal_token.id, CLIENT_NAME, Role.CLIENT, OFFICE, principal_token.holder_id)
    submission = Submission(**PERSON, description="合同", content=CONTENT, file_name="合同.pdf")

    def broken(*_a, **_k):
        raise RuntimeError("the signing key is gone")

    monkeypatch.setattr("issuer.service.sign_page", broken)
    with pytest.raises(RuntimeError):
        submit(ctx, client, submission)
    with Session(rt.engine) as s:
        assert s.exec(select(PreservedEvidence)).all() == [] and s.exec(select(Certificate)).all() == []
    monkeypatch.undo()
    done = submit(ctx, client, submission)
    assert done.certificate.number.endswith("第000001号")  # the failed one's number was given back


def test_ordinary_issuing_refuses_the_matter(runtime_factory, tmp_path):
    rt, client, tokens = _world(runtime_factory)
    data = EXAMPLES["evidence-preservation"]
    for url in ("/api/v1/certificates", "/api/v1/drafts"):
        r = client.post(url, json={"matter": "evidence-preservation", "data": data}, headers=_h(tokens["admin"]))
        assert r.status_code == 422 and r.json()["error"]["code"] == "MATTER_NOT_REQUESTABLE", url
    kept = _submit_hash(client, tokens["client"], "ef" * 32).json()
    corrected = client.post(f"/api/v1/certificates/{kept['certificate_id']}/correct",
                            json={"data": {**data, "evidence_sha256": "00" * 32}}, headers=_h(tokens["admin"]))
    assert corrected.status_code == 422 and corrected.json()["error"]["code"] == "MATTER_NOT_REQUESTABLE"
    with Session(rt.engine) as s:
        assert s.get(Certificate, uuid.UUID(kept["certificate_id"])).status == "issued"  # left as it was

    from console.matter_forms import build_form
    from console.office_pages import _matters
    from issuer.preview import render_preview
    from issuer.service import IssueRequest, issue_batch
    from records.errors import MatterNotRequestable
    from records.matters import parse_matter

    assert "evidence-preservation" not in dict(_matters("zh", drafted=True))
    assert "evidence-preservation" in dict(_matters("zh"))  # certificates of it are still searched
    with pytest.raises(MatterNotRequestable):
        build_form("evidence-preservation", {})
    with pytest.raises(MatterNotRequestable):
        render_preview(rt.issuer_context(), "evidence-preservation", data)
    with pytest.raises(MatterNotRequestable):
        issue_batch(rt.issuer_context(), [IssueRequest("evidence-preservation",
                                                       parse_matter("evidence-preservation", data))])


def test_command_line(tmp_path, anvil_url, monkeypatch):



    env = {"NOTARY_DATA_DIR": str(tmp_path / "data"), "NOTARY_RPC_URL": anvil_url, "NOTARY_KEY_PASSPHRASE": "cli-test",
           "NOTARY_PRESERVATION_NOTARY": "王丽", "NOTARY_OPERATOR": "陈"}
    run = in_process_cli(env, monkeypatch)

    token = run("token", "create", CLIENT_NAME, "--role", "client")
    assert token.exit_code == 0 and "role:  client SH-DONGFANG" in token.stdout
    evidence = tmp_path / "证据.txt"
    evidence.write_bytes(CONTENT)
    person = ["--name", "赵客户", "--sex", "男", "--birth-date", "1982-05-05", "--id-number", "310104198205050037"]
    done = run("preservation", "submit", str(evidence), *person, "--description", "聊天记录",
               "--out", str(tmp_path / "cert.pdf"))
    assert done.exit_code == 0, done.stdout + done.stderr
    evidence_id = done.stdout.split("evidence:", 1)[1].split()[0]
    assert hashlib.sha256(CONTENT).hexdigest() in done.stdout and "anchored:   yes" in done.stdout
    assert hashlib.sha256(CONTENT).hexdigest() in _pdf_text((tmp_path / "cert.pdf").read_bytes())
    by_hash = run("preservation", "submit", "--sha256", "ab" * 32, "--size", "10", *person, "--description", "合同")
    assert by_hash.exit_code == 0 and "fingerprint only" in by_hash.stdout
    listing = run("preservation", "list", "--json")
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert {r["file"] for r in rows} == {"held", "fingerprint only"} and rows[0]["submitter"] == "陈"

    out = tmp_path / "released.bin"
    assert run("preservation", "release", evidence_id, "--order", "", "--out", str(out)).exit_code == 3
    assert not out.exists()
    released = run("preservation", "release", evidence_id, "--order", "(2026)沪0101民初123号", "--out", str(out))
    assert released.exit_code == 0 and out.read_bytes() == CONTENT
    assert run("preservation", "release", evidence_id, "--order", "x", "--out", str(out)).exit_code == 3  # exists
    assert run("preservation", "release", "nope", "--order", "x", "--out", str(tmp_path / "n")).exit_code == 3
    assert run("preservation", "release", str(uuid.uuid4()), "--order", "x", "--out", str(tmp_path / "n")).exit_code == 3
    later = (dt.date.today() + dt.timedelta(days=3651)).isoformat()
    purged = run("preservation", "purge", "--today", later)
    assert purged.exit_code == 0 and evidence_id in purged.stdout
    assert run("preservation", "purge", "--today", "someday").exit_code == 3

    # Bad input: a clear line and exit 3, never a traceback.
    for args in (["--sha256", "xyz", *person, "--description", "x"],
                 [str(evidence), "--sha256", "ab" * 32, *person, "--description", "x"],
                 [str(tmp_path / "missing.bin"), *person, "--description", "x"],
                 [str(evidence), *person, "--description", "记录\u202e"]):
        bad = run("preservation", "submit", *args)
        assert bad.exit_code == 3 and "Traceback" not in bad.stderr, (args, bad.stderr)
    refused = run("issue", "--matter", "evidence-preservation", "--data", str(evidence), "--out", str(tmp_path / "x.pdf"))
    assert refused.exit_code == 3 and "MATTER_NOT_REQUESTABLE" in refused.stderr


def test_the_check_page_hashes_in_the_browser(browser, runtime_factory, artifacts_dir, tmp_path):
    """Pick a file: the page hashes it with WebCrypto and sends only the fingerprint; it says
    whether the file is the one preserved, in Chinese and in English."""
    from issuer.auth import Principal
    from tests.conftest import LiveServer, free_port

    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}", preservation_notary="王丽")
    row = create_token(rt.engine, CLIENT_NAME, Role.CLIENT, OFFICE)[0]
    done = submit(rt.preservation_context(rt.issuer_context()),
                  Principal(row.id, CLIENT_NAME, Role.CLIENT, OFFICE, row.holder_id),
                  Submission(**PERSON, description="微信聊天记录导出文件", content=CONTENT, file_name="聊天记录.txt"))
    rt.worker().run_once(force=True)
    right, changed = tmp_path / "聊天记录.txt", tmp_path / "changed.txt"
    right.write_bytes(CONTENT)
    changed.write_bytes(CONTENT[:-1] + b"!")
    url = f"http://127.0.0.1:{port}/v/{done.certificate.id}/evidence?c={done.certificate.verify_url.rsplit('?c=', 1)[1]}"

    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    sent: list[tuple[str, str, int]] = []
    page.on("request", lambda r: sent.append((r.method, r.url, len(r.post_data_buffer or b""))))
    with LiveServer(create_app(rt), port):
        page.goto(url)
        assert page.locator("#certificate-verdict").get_attribute("data-indication") == "PASSED"
        page.set_input_files("#evidence-file", str(right))
        page.click("#evidence-button")
        page.wait_for_selector("#evidence-verdict")
        verdict = page.locator("#evidence-verdict")
        assert verdict.get_attribute("data-matches") == "true" and verdict.inner_text().strip().startswith("一致")
        assert page.locator("#checked-sha256").inner_text() == done.sha256
        page.screenshot(path=str(artifacts_dir / "evidence-check-matches-zh.png"), full_page=True)

        page.set_input_files("#evidence-file", str(changed))
        page.click("#evidence-button")
        page.wait_for_selector('#evidence-verdict[data-matches="false"]')
        assert page.locator("#evidence-verdict").inner_text().strip().startswith("不一致")
        page.screenshot(path=str(artifacts_dir / "evidence-check-differs-zh.png"), full_page=True)

        page.click("#lang-switch")
        assert page.locator("#evidence-verdict").inner_text().strip().startswith("Does not match")
        page.set_input_files("#evidence-file", str(right))
        page.click("#evidence-button")
        page.wait_for_selector('#evidence-verdict[data-matches="true"]')
        assert page.locator("#evidence-verdict").inner_text().strip().startswith("Matches")
        page.screenshot(path=str(artifacts_dir / "evidence-check-matches-en.png"), full_page=True)
    # Only fingerprints left the browser: no request carried a body, none went elsewhere.
    assert all(method == "GET" and size == 0 for method, _, size in sent), sent
    assert all(u.startswith(f"http://127.0.0.1:{port}/") for _, u, _ in sent)
    assert any(f"sha256={done.sha256}" in u for _, u, _ in sent)
    assert any(f"sha256={hashlib.sha256(changed.read_bytes()).hexdigest()}" in u for _, u, _ in sent)
