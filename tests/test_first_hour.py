"""What a notary, a court clerk and a registry hit in their first hour (issue #13), each
tried the way they would: the API, the command line as a real process, PDFs read back."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from records.audit import AuditEvent, verify_chain
from issuer.auth import Role, create_token
from issuer.lifecycle import correct_certificate, revoke_certificate
from records.matters import EXAMPLES
from records.models import Certificate
from signing.pades import level_of
from records.revocation import RevocationReason
from issuer.service import issue_certificate
from notary.app import create_app

NOTARY = Path(sys.executable).with_name("notary")


def pdf_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def pages(pdf: bytes) -> int:
    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


@pytest.fixture
def cli(tmp_path, anvil_url):
    """The `notary` command on one data directory, as an operator named 陈明 runs it."""
    env = {**os.environ, "NOTARY_DATA_DIR": str(tmp_path / "data"), "NOTARY_RPC_URL": anvil_url,
           "NOTARY_KEY_PASSPHRASE": "first-hour", "NOTARY_OPERATOR": "陈明"}

    def run(*args: str, cwd: Path | None = None, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(NOTARY), *args], env={**env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=180, cwd=cwd)

    run.env = env
    return run


# ---------------------------------------------------------------- office clerk

def test_a_correction_keeps_the_form_of_the_certificate_it_replaces(sqlite_runtime):
    rt = sqlite_runtime
    ctx = rt.issuer_context()
    old = issue_certificate(ctx, "birth", EXAMPLES["birth"], language="zh-en", level="B-LTA")
    assert level_of(old.pdf) == "B-LTA"
    new = correct_certificate(ctx, old.id, {**EXAMPLES["birth"], "birth_place": "上海市静安区"})
    # Same language pages (the English translation is there), same PAdES level, and its
    # text names the number it corrects.
    assert level_of(new.pdf) == "B-LTA"
    text = pdf_text(new.pdf)
    flat = "".join(text.split())
    assert f"本公证书系对{old.number}公证书的更正" in flat
    assert "This certificate corrects certificate No." in " ".join(text.split())
    with Session(rt.engine) as s:
        stored = s.get(Certificate, new.id)
        assert (stored.language, stored.pades_level) == ("zh-en", "B-LTA")
    # Asked otherwise, it changes.
    plain = correct_certificate(ctx, new.id, {**EXAMPLES["birth"], "birth_place": "上海市黄浦区"}, language="zh",
                                level="B-T")
    assert "This certificate corrects" not in " ".join(pdf_text(plain.pdf).split()) and level_of(plain.pdf) == "B-T"


def test_a_correction_of_a_certificate_stored_before_levels_were_recorded_reads_the_pdf(sqlite_runtime):
    rt = sqlite_runtime
    ctx = rt.issuer_context()
    old = issue_certificate(ctx, "birth", EXAMPLES["birth"], level="B-LT")
    with Session(rt.engine) as s:
        row = s.get(Certificate, old.id)
        row.pades_level = None
        s.add(row)
        s.commit()
    new = correct_certificate(ctx, old.id, EXAMPLES["birth"])
    assert level_of(new.pdf) == "B-LT"


def test_revocation_says_when_and_why_everywhere(sqlite_runtime):
    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    revoke_certificate(rt.engine, issued.id, RevocationReason.OBTAINED_BY_DECEPTION, "申请材料系伪造")
    rt.worker().run_once(force=True)

    status = client.get(f"/api/v1/certificates/{issued.id}/status").json()
    assert status["revocation"]["reason_en"] == "obtained by deception"
    assert status["revocation"]["reason_zh"] == "以欺骗手段取得" and status["revocation"]["at"]
    assert "申请材料系伪造" not in json.dumps(status, ensure_ascii=False)  # the note is for access-code holders

    report = client.post("/api/v1/verify/hash", json={"sha256": issued.document_sha256}).json()
    assert report["indication"] == "FAILED"
    assert report["revocation"]["kind"] == "revoked" and report["revocation"]["reason_code"] == 3

    key = _api_key(rt)
    batch = client.post("/api/v1/verify/batch", json={"items": [{"id": str(issued.id)}]},
                        headers={"Authorization": f"Bearer {key}"}).json()
    assert batch["results"][0]["revocation"]["reason_en"] == "obtained by deception"

    code = issued.verify_url.split("c=")[1]
    page = client.get(f"/v/{issued.id}?c={code}")
    assert 'id="revocation"' in page.text and "以欺骗手段取得" in page.text
    english = client.get(f"/v/{issued.id}?c={code}&lang=en")
    assert "obtained by deception" in english.text

    record = client.post("/api/v1/verify/number", json={"number": issued.number, "access_code": issued.access_code})
    assert record.json()["record"]["revocation_note"] == "申请材料系伪造"

    signed = client.get(f"/v/{issued.id}/report.pdf?c={code}")
    text = pdf_text(signed.content)
    assert "以欺骗手段取得" in text and "obtained by deception" in text


def test_a_superseded_certificate_names_its_successor_and_the_reason(sqlite_runtime):
    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    ctx = rt.issuer_context()
    old = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    new = correct_certificate(ctx, old.id, EXAMPLES["birth"])
    report = client.post("/api/v1/verify/hash", json={"sha256": old.document_sha256}).json()
    assert report["revocation"]["kind"] == "superseded"
    assert report["revocation"]["successor_id"] == str(new.id)
    assert report["revocation"]["reason_en"].startswith("corrected")


def _api_key(rt) -> str:
    from verifier.apikeys import create_api_key

    return create_api_key(rt.engine, "不动产登记中心")[1]


def test_the_notary_named_is_the_token_holder(runtime):
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    wang = {"Authorization": f"Bearer {create_token(runtime.engine, '王丽', Role.NOTARY, runtime.office.code)[1]}"}
    admin = {"Authorization": f"Bearer {create_token(runtime.engine, '李主任', Role.OFFICE_ADMIN, runtime.office.code)[1]}"}
    as_zhang = client.post("/api/v1/certificates", json={"matter": "birth", "data": {**EXAMPLES["birth"], "notary": "张三"}},
                           headers=wang)
    assert as_zhang.status_code == 422
    error = as_zhang.json()["error"]
    assert error["fields"][0]["field"] == "notary" and "王丽" in error["message_zh"]
    unnamed = {k: v for k, v in EXAMPLES["birth"].items() if k != "notary"}
    filled = client.post("/api/v1/certificates", json={"matter": "birth", "data": unnamed}, headers=wang)
    assert filled.status_code == 201, filled.text
    with Session(runtime.engine) as s:
        assert s.get(Certificate, __import__("uuid").UUID(filled.json()["id"])).notary == "王丽"
    # An office administrator names the notary in the data.
    by_admin = client.post("/api/v1/certificates", json={"matter": "birth", "data": {**EXAMPLES["birth"], "notary": "张三"}},
                           headers=admin)
    assert by_admin.status_code == 201
    # A correction by a notary names that notary too.
    fixed = client.post(f"/api/v1/certificates/{filled.json()['id']}/correct",
                        json={"data": {**EXAMPLES["birth"], "notary": "张三"}}, headers=wang)
    assert fixed.status_code == 422


def test_the_command_line_takes_numbers_names_the_operator_and_audits_keys(cli, tmp_path):
    data = tmp_path / "in.json"
    data.write_text(json.dumps(EXAMPLES["birth"], ensure_ascii=False), encoding="utf-8")
    issued = cli("issue", "--matter", "birth", "--data", str(data), "--out", str(tmp_path / "a.pdf"))
    assert issued.returncode == 0, issued.stderr
    number = issued.stdout.split("number:")[1].split()[0]

    receipt = cli("receipt", number)
    assert receipt.returncode == 0, receipt.stderr
    assert json.loads(receipt.stdout)["leaf_index"] == 0

    fixed = cli("correct", number.replace("(", "（").replace(")", "）"), "--data", str(data),
                "--out", str(tmp_path / "b.pdf"))
    assert fixed.returncode == 0, fixed.stderr
    new_number = fixed.stdout.split("number:")[1].split()[0]
    revoked = cli("revoke", new_number, "--reason", "withdrawn", "--note", "当事人申请撤回")
    assert revoked.returncode == 0, revoked.stderr
    assert "当事人撤回申请" in revoked.stdout and "withdrawn" in revoked.stdout
    unknown = cli("revoke", "(2026)沪东证字第999999号", "--reason", "1")
    assert unknown.returncode == 3 and "no certificate" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_reason = cli("revoke", number, "--reason", "because")
    assert bad_reason.returncode == 3 and "issued-in-error" in bad_reason.stderr

    assert cli("keys", "rotate").returncode == 0
    listed = cli("audit", "list", "--json")
    events = [json.loads(line) for line in listed.stdout.splitlines()]
    actions = {e["action"] for e in events}
    assert {"issue", "correct", "revoke", "key.rotate"} <= actions
    assert {e["actor"] for e in events} == {"operator:陈明"}
    assert all(e["office"] == "SH-DONGFANG" for e in events)

    only_revoke = cli("audit", "list", "--action", "revoke", "--actor", "陈明", "--json")
    assert [json.loads(line)["action"] for line in only_revoke.stdout.splitlines()] == ["revoke"]
    none_before = cli("audit", "list", "--until", "2000-01-01")
    assert none_before.returncode == 0 and "no audit entries match" in none_before.stdout
    assert cli("audit", "list", "--since", "yesterday").returncode == 3
    assert cli("audit").returncode == 0  # with no subcommand: the chain check, as before

    # Tokens: an office this service is not is refused, and the creation is audited.
    assert cli("token", "create", "王丽", "--office", "SH-NOWHERE").returncode == 3
    assert cli("token", "create", "司法局", "--role", "registry_admin", "--office", "SH-DONGFANG").returncode == 3
    assert cli("token", "create", "王丽", "--office", "SH-DONGFANG").returncode == 0


def test_issue_bulk_names_files_by_number_and_writes_a_summary(cli, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({**EXAMPLES["birth"], "applicant_name": name}, ensure_ascii=False)
                              for name in ("张伟", "李娜", "王芳")), encoding="utf-8")
    out = tmp_path / "out"
    done = cli("issue-bulk", "--matter", "birth", "--input", str(rows), "--out-dir", str(out))
    assert done.returncode == 0, done.stderr
    with open(out / "issued.csv", encoding="utf-8-sig", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["applicant"] for r in table] == ["张伟", "李娜", "王芳"]
    for r in table:
        pdf = (out / r["file"]).read_bytes()
        assert r["file"].endswith(".pdf") and "沪东证字第" in r["file"] and "(" not in r["file"]
        doc = pdfium.PdfDocument(pdf)
        assert r["id"] in (doc.get_metadata_dict().get("Keywords") or "")  # the id is in the PDF's metadata
        doc.close()


# ---------------------------------------------------------------- court clerk

def test_verify_outside_a_data_directory_creates_nothing_and_says_what_is_missing(cli, tmp_path):
    data = tmp_path / "in.json"
    data.write_text(json.dumps(EXAMPLES["birth"], ensure_ascii=False), encoding="utf-8")
    pdf = tmp_path / "cert.pdf"
    assert cli("issue", "--matter", "birth", "--data", str(data), "--out", str(pdf)).returncode == 0
    elsewhere = tmp_path / "court"
    elsewhere.mkdir()
    env = {k: v for k, v in cli.env.items() if k != "NOTARY_DATA_DIR"}
    done = subprocess.run([str(NOTARY), "verify", str(pdf)], env=env, cwd=elsewhere, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 4
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "--service" in done.stderr and "--receipt" in done.stderr
    assert list(elsewhere.iterdir()) == []  # no ./data, no keys


def test_verify_with_a_public_service(cli, sqlite_runtime, tmp_path):
    from tests.conftest import LiveServer, free_port

    rt = sqlite_runtime
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(issued.pdf)
    port = free_port()
    court = tmp_path / "court"
    court.mkdir()
    env = {k: v for k, v in cli.env.items() if k != "NOTARY_DATA_DIR"}
    with LiveServer(create_app(rt), port) as server:
        done = subprocess.run([str(NOTARY), "verify", str(pdf), "--service", server.url], env=env, cwd=court,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("PASSED") and list(court.iterdir()) == []
    nobody = subprocess.run([str(NOTARY), "verify", str(pdf), "--service", f"http://127.0.0.1:{free_port()}"],
                            env=env, cwd=court, capture_output=True, text=True, timeout=120)
    assert nobody.returncode == 4 and "Traceback" not in nobody.stderr


def test_the_signed_verification_report_verifies(cli, tmp_path):
    data = tmp_path / "in.json"
    data.write_text(json.dumps(EXAMPLES["birth"], ensure_ascii=False), encoding="utf-8")
    pdf = tmp_path / "cert.pdf"
    assert cli("issue", "--matter", "birth", "--data", str(data), "--out", str(pdf)).returncode == 0
    from notary.runtime import open_runtime
    from notary.settings import Settings
    from verifier.report_pdf import signed_report
    from verifier.service import verify_pdf

    settings = Settings(data_dir=Path(cli.env["NOTARY_DATA_DIR"]), rpc_url=cli.env["NOTARY_RPC_URL"],
                        key_passphrase="first-hour")
    rt = open_runtime(settings)
    try:
        vctx = rt.verifier_context()
        report_pdf = signed_report(verify_pdf(vctx, pdf.read_bytes()), vctx.font_path, vctx.report_signer)
    finally:
        rt.close()
    path = tmp_path / "report.pdf"
    path.write_bytes(report_pdf)
    done = cli("verify", "--report", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verification report" in done.stdout.splitlines()[0]
    assert "REPORT_SIGNED_BY_SERVICE" in done.stdout
    # However genuine, a report never passes as a certificate, and a certificate never as a report.
    as_certificate = cli("verify", str(path))
    assert as_certificate.returncode == 1 and "NOT_A_CERTIFICATE" in as_certificate.stdout
    not_a_report = cli("verify", "--report", str(pdf))
    assert not_a_report.returncode == 1 and "NOT_A_SERVICE_REPORT" in not_a_report.stdout
    # A report changed after signing fails like any document.
    from tests.pdf_tools import flip_byte_in_signed_range

    path.write_bytes(flip_byte_in_signed_range(report_pdf))
    assert cli("verify", "--report", str(path)).returncode == 1


def test_too_many_wrong_access_codes_says_when_to_try_again(sqlite_runtime):
    client = TestClient(create_app(sqlite_runtime))
    issued = issue_certificate(sqlite_runtime.issuer_context(), "birth", EXAMPLES["birth"])
    answers = [client.post("/api/v1/verify/number", json={"number": issued.number, "access_code": "WRONG-CODE"})
               for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [403] * 10
    locked = answers[10]
    assert locked.status_code == 429 and 800 <= int(locked.headers["Retry-After"]) <= 900
    assert "分钟后" in locked.json()["error"]["message_zh"] and "Beijing time" in locked.json()["error"]["message"]
    page = client.post("/verify/number", data={"number": issued.number, "access_code": "WRONG-CODE"})
    assert page.status_code == 429 and page.headers["Retry-After"] and "分钟后" in page.text


# ---------------------------------------------------------------- registry

def test_the_batch_api_answers_unknown_ids_and_fingerprints_alike_and_takes_numbers(sqlite_runtime):
    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    key = {"Authorization": f"Bearer {_api_key(rt)}"}
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    answer = client.post("/api/v1/verify/batch", headers=key, json={"items": [
        {"id": "00000000-0000-4000-8000-000000000000"}, {"sha256": "ab" * 32},
        {"number": issued.number, "access_code": issued.access_code},
        {"number": issued.number, "access_code": "WRONG-CODE"},
        {"number": "(2026)沪东证字第999999号", "access_code": "WRONG-CODE"},
    ]}).json()["results"]
    unknown_id, unknown_sha, by_number, wrong_code, unknown_number = answer
    strip = lambda r: {k: v for k, v in r.items() if k != "input"}  # noqa: E731
    assert strip(unknown_id) == strip(unknown_sha) and unknown_id["indication"] == "FAILED"
    assert by_number["indication"] == "PASSED"
    assert by_number["record"]["number"] == issued.number and by_number["record"]["particulars"]
    assert strip(wrong_code) == strip(unknown_number) and wrong_code["error"]["code"] == "ACCESS_CODE_WRONG"
    with Session(rt.engine) as s:
        opened = s.exec(select(AuditEvent).where(AuditEvent.action == "record.open")).all()
    assert [e.actor for e in opened] == ["apikey:不动产登记中心"]
    assert verify_chain(rt.engine) is None
    bad = client.post("/api/v1/verify/batch", headers=key, json={"items": [{"number": issued.number}]})
    assert bad.status_code == 422


def test_api_docs_work_offline_and_declare_how_to_authenticate(sqlite_runtime):
    client = TestClient(create_app(sqlite_runtime))
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "/api/docs/assets/swagger-ui-bundle.js" in docs.text
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/docs/assets/swagger-ui.css").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"IssuerToken", "RegistryApiKey"}
    assert spec["paths"]["/api/v1/certificates"]["post"]["security"] == [{"IssuerToken": []}]
    assert spec["paths"]["/api/v1/verify/batch"]["post"]["security"] == [{"RegistryApiKey": []}]
    assert "security" not in spec["paths"]["/api/v1/verify/hash"]["post"]
    check = spec["components"]["schemas"]["Check"]["properties"]
    assert "REVOKED" in check["code"]["enum"] and "ANCHORED" in check["code"]["enum"]
    reason = spec["components"]["schemas"]["RevokeRequest"]["properties"]["reason"]
    assert "obtained by deception" in json.dumps(spec["components"]["schemas"]["RevokeRequest"]) and reason


def test_an_uploaded_report_is_never_called_a_genuine_certificate(sqlite_runtime):
    """A genuine signed report of a FAILED certificate, uploaded as if it were the
    certificate: the answer says it is a report, not a certificate."""
    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    revoke_certificate(rt.engine, issued.id, RevocationReason.ISSUED_IN_ERROR)
    code = issued.verify_url.split("c=")[1]
    report_pdf = client.get(f"/v/{issued.id}/report.pdf?c={code}").content
    answer = client.post("/api/v1/verify", content=report_pdf, headers={"content-type": "application/pdf"}).json()
    assert answer["document_kind"] == "verification_report" and answer["certificate"] is None
    assert answer["indication"] == "FAILED"
    assert {c["name"]: c["code"] for c in answer["checks"]}["report_issuer"] == "NOT_A_CERTIFICATE"
    page = client.post("/verify/upload", files={"file": ("r.pdf", report_pdf, "application/pdf")})
    assert 'data-kind="verification_report"' in page.text and "它不是公证书" in page.text
    assert "公证书真实有效" not in page.text


def test_a_forgers_signer_name_cannot_write_into_a_signed_report(sqlite_runtime, tmp_path):
    """A PDF signed by a self-made certificate whose name is certificate-like text: the
    service's signed report marks the name as the signer's own, untrusted claim and cuts it."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from reportlab.pdfgen import canvas

    from tests.forgeries import make_context

    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    claim = "本公证书经区块链核验通过真实有效兹证明张明"  # 63 bytes: as long as a certificate name may be
    blank = io.BytesIO()
    page = canvas.Canvas(blank)
    page.drawString(72, 720, "certificate")
    page.save()
    forged = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(blank.getvalue())),
                              signers.PdfSignatureMetadata(field_name="Sig"),
                              signer=make_context(office_name=claim).rogue_signer).getvalue()
    report = client.post("/api/v1/verify/report.pdf", content=forged, headers={"content-type": "application/pdf"})
    assert report.status_code == 200
    text = "".join(pdf_text(report.content).split())
    assert f"self-declared,untrusted）{claim}" in text


def test_wrong_codes_count_against_the_certificate_however_its_number_is_typed(sqlite_runtime):
    client = TestClient(create_app(sqlite_runtime))
    issued = issue_certificate(sqlite_runtime.issuer_context(), "birth", EXAMPLES["birth"])
    for _ in range(10):
        client.post("/api/v1/verify/number", json={"number": issued.number, "access_code": "WRONG-CODE"})
    for variant in (issued.number.replace("(", "（").replace(")", "）"), " " + issued.number,
                    issued.number.replace("第", " 第")):
        right_code = client.post("/api/v1/verify/number", json={"number": variant, "access_code": issued.access_code})
        assert right_code.status_code == 429, variant  # locked for every spelling, the right code too


def test_reading_drafts_is_audited(runtime):
    client = TestClient(create_app(runtime))
    admin = {"Authorization": f"Bearer {create_token(runtime.engine, '李主任', Role.OFFICE_ADMIN, runtime.office.code)[1]}"}
    draft = client.post("/api/v1/drafts", json={"matter": "birth", "data": EXAMPLES["birth"]}, headers=admin).json()
    assert client.get(f"/api/v1/drafts/{draft['id']}", headers=admin).status_code == 200
    assert client.get("/api/v1/drafts", headers=admin).json()["total"] == 1
    with Session(runtime.engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions[-2:] == ["draft.read", "draft.list"]


def test_certificates_belong_to_a_person_not_to_a_name(sqlite_runtime):
    """Two notaries called 王丽 in one office: neither reads or changes the other's
    certificates or drafts; a second token of the same person keeps them."""
    rt = sqlite_runtime
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    first_row, first = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)
    _, namesake = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)
    _, same_person = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code, holder=first_row.holder_id)
    bearer = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
    cid = client.post("/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                      headers=bearer(first)).json()["id"]
    draft = client.post("/api/v1/drafts", json={"matter": "birth", "data": EXAMPLES["birth"]},
                        headers=bearer(first)).json()["id"]
    assert client.get(f"/api/v1/certificates/{cid}", headers=bearer(namesake)).status_code == 403
    assert client.post(f"/api/v1/certificates/{cid}/revoke", json={"reason": 1},
                       headers=bearer(namesake)).status_code == 403
    assert client.get(f"/api/v1/drafts/{draft}", headers=bearer(namesake)).status_code == 403
    assert client.get("/api/v1/certificates", headers=bearer(namesake)).json()["total"] == 0
    assert client.get(f"/api/v1/certificates/{cid}", headers=bearer(same_person)).status_code == 200
    assert client.get(f"/api/v1/drafts/{draft}", headers=bearer(same_person)).status_code == 200
    with pytest.raises(ValueError):
        create_token(rt.engine, "张三", Role.NOTARY, rt.office.code, holder=first_row.holder_id)


def test_signed_reports_are_counted_like_uploads_and_records_are_not_cached(sqlite_runtime):
    from notary.settings import Settings  # noqa: F401 - the limit comes from the runtime's settings

    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    per_minute = int(rt.settings.upload_rate_per_minute)
    # The bucket refills while these are signed: well past a minute's worth, some must be refused.
    answers = [client.get(f"/verify/hash/report.pdf?sha256={'ab' * 32}").status_code
               for _ in range(per_minute + 30)]
    assert answers[:per_minute] == [200] * per_minute and 429 in answers
    record = client.post("/verify/number", data={"number": issued.number, "access_code": issued.access_code})
    assert record.status_code == 200 and record.headers["Cache-Control"] == "no-store"
    spoofed = client.get("/verify", headers={"Host": "evil.example"})
    assert "evil.example" not in spoofed.text


def test_a_batch_larger_than_the_keys_minute_is_a_422_not_an_endless_429(sqlite_runtime):
    from verifier.apikeys import create_api_key

    client = TestClient(create_app(sqlite_runtime))
    key = create_api_key(sqlite_runtime.engine, "小登记处", items_per_minute=3)[1]
    answer = client.post("/api/v1/verify/batch", json={"items": [{"sha256": "ab" * 32}] * 4},
                         headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "BATCH_OVER_KEY_LIMIT"


def test_verifying_in_an_installed_directory_creates_nothing_either(cli, tmp_path):
    data = tmp_path / "in.json"
    data.write_text(json.dumps(EXAMPLES["birth"], ensure_ascii=False), encoding="utf-8")
    pdf = tmp_path / "cert.pdf"
    assert cli("issue", "--matter", "birth", "--data", str(data), "--out", str(pdf)).returncode == 0
    home = Path(cli.env["NOTARY_DATA_DIR"])
    (home / "pki" / "verification-service.p12").unlink(missing_ok=True)
    before = sorted(p.relative_to(home) for p in home.rglob("*") if "chain" not in p.parts)
    # No passphrase (a clerk's shell on the server): nothing to open the keys with, and none made.
    no_secret = cli("verify", str(pdf), extra_env={"NOTARY_KEY_PASSPHRASE": ""})
    assert no_secret.returncode == 4 and "Traceback" not in no_secret.stderr, no_secret.stderr
    with_secret = cli("verify", str(pdf))
    assert with_secret.returncode == 0, with_secret.stdout + with_secret.stderr
    after = sorted(p.relative_to(home) for p in home.rglob("*") if "chain" not in p.parts)
    # No key, secret or account; only the revocation lists, re-signed when missing or aging
    # as every verification does, and the database's own journal files.
    assert [p for p in after if p not in before and p.suffix not in (".lock", ".crl") and "-wal" not in p.name
            and "-shm" not in p.name] == []


@pytest.mark.parametrize("address, bucket", [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # one subscriber's /64 is one client
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("unknown", "unknown"),
])
def test_clients_are_counted_per_address_or_ipv6_64(address, bucket):
    from verifier.client_address import client_bucket

    assert client_bucket(address) == bucket
