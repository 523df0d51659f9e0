"""Every way in: fingerprint, number plus access code, the QR page's access form, and the
batch API for registries with keys, rate limits and a log."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from records.matters import EXAMPLES
from issuer.service import issue_certificate
from notary.app import create_app
from verifier.apikeys import create_api_key
from verifier.models import VerificationLog


@pytest.fixture
def env(sqlite_runtime):
    rt = sqlite_runtime
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    return rt, issued, TestClient(create_app(rt), raise_server_exceptions=False)


def test_by_fingerprint(env):
    _rt, issued, client = env
    ok = client.post("/api/v1/verify/hash", json={"sha256": issued.document_sha256})
    assert ok.status_code == 200 and ok.json()["indication"] == "PASSED"
    unknown = client.post("/api/v1/verify/hash", json={"sha256": hashlib.sha256(b"forged").hexdigest()})
    assert unknown.json()["indication"] == "FAILED"
    assert {c["name"]: c["code"] for c in unknown.json()["checks"]}["anchor_inclusion"] == "ANCHOR_NOT_FOUND"
    bad = client.post("/api/v1/verify/hash", json={"sha256": "xyz"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "INVALID_REQUEST"
    assert "sha256" in bad.json()["error"]["message"]
    page = client.get(f"/verify/hash?sha256={issued.document_sha256}")
    assert 'data-indication="PASSED"' in page.text


def test_by_number_and_access_code(env):
    _rt, issued, client = env
    body = {"number": issued.number.replace("(", "（").replace(")", "）"), "access_code": issued.access_code.lower()}
    ok = client.post("/api/v1/verify/number", json=body)
    assert ok.status_code == 200, ok.text
    record = ok.json()["record"]
    assert record["number"] == issued.number
    assert ["公民身份号码", EXAMPLES["birth"]["id_number"]] in record["particulars"]
    assert ok.json()["report"]["indication"] == "PASSED"
    wrong = client.post("/api/v1/verify/number", json={**body, "access_code": "AAAA-AAAA"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "ACCESS_CODE_WRONG"
    # An unknown number is answered exactly like a wrong code: numbers cannot be probed.
    missing = client.post("/api/v1/verify/number", json={**body, "number": "(2026)沪东证字第999999号"})
    assert (missing.status_code, missing.json()) == (wrong.status_code, wrong.json())
    with_previews = client.post("/api/v1/verify/number", json={**body, "previews": True}).json()
    assert with_previews["record"]["previews"][0].startswith("data:image/png;base64,")


def test_wrong_access_codes_are_rate_limited_per_client(env):
    _rt, issued, client = env
    body = {"number": issued.number, "access_code": "AAAA-AAAA"}
    codes = [client.post("/api/v1/verify/number", json=body).status_code for _ in range(11)]
    assert codes[:10] == [403] * 10 and codes[10] == 429
    # Even the right code waits now: guessing cannot continue.
    right = client.post("/api/v1/verify/number", json={**body, "access_code": issued.access_code})
    assert right.status_code == 429 and right.json()["error"]["code"] == "RATE_LIMITED"


def test_qr_page_access_form_shows_the_full_record(env):
    _rt, issued, client = env
    path = issued.verify_url.split("8000", 1)[1]
    public = client.get(path)
    assert 'id="access-form"' in public.text and EXAMPLES["birth"]["id_number"] not in public.text
    full = client.post(path, data={"access_code": issued.access_code})
    assert full.status_code == 200
    assert EXAMPLES["birth"]["id_number"] in full.text and issued.number in full.text
    assert 'class="preview"' in full.text
    wrong = client.post(path, data={"access_code": "AAAA-AAAA"})
    assert wrong.status_code == 403 and 'data-code="ACCESS_CODE_WRONG"' in wrong.text
    assert EXAMPLES["birth"]["id_number"] not in wrong.text


def test_batch_api(env):
    rt, issued, client = env
    other = issue_certificate(rt.issuer_context(), "no-criminal-record", EXAMPLES["no-criminal-record"])
    items = [{"id": str(issued.id)}, {"sha256": other.document_sha256}, {"id": str(uuid.uuid4())},
             {"sha256": hashlib.sha256(b"x").hexdigest()}]
    assert client.post("/api/v1/verify/batch", json={"items": items}).status_code == 401
    bad_key = client.post("/api/v1/verify/batch", json={"items": items}, headers={"Authorization": "Bearer nope"})
    assert bad_key.status_code == 401 and bad_key.json()["error"]["code"] == "API_KEY_INVALID"
    row, key = create_api_key(rt.engine, "上海市不动产登记局", items_per_minute=10)
    auth = {"Authorization": f"Bearer {key}"}
    r = client.post("/api/v1/verify/batch", json={"items": items}, headers=auth)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["indication"] for x in results] == ["PASSED", "INDETERMINATE", "FAILED", "FAILED"]
    assert results[1]["checks"]["anchor_inclusion"] == "ANCHOR_PENDING"
    # An id never issued is answered as a fingerprint never issued.
    assert results[2]["checks"] == results[3]["checks"] and results[2]["checks"]["anchor_inclusion"] == "ANCHOR_NOT_FOUND"
    assert "applicant_name" not in str(results)
    with Session(rt.engine) as s:
        logged = s.exec(select(VerificationLog).where(VerificationLog.api_key_id == row.id)).all()
    assert sorted(x.indication for x in logged) == ["FAILED", "FAILED", "INDETERMINATE", "PASSED"]
    # 4 of 10 a minute used; 8 more is over the limit.
    limited = client.post("/api/v1/verify/batch", json={"items": items + items}, headers=auth)
    assert limited.status_code == 429
    too_many = client.post("/api/v1/verify/batch", json={"items": [{"id": str(uuid.uuid4())}] * 1001}, headers=auth)
    assert too_many.status_code == 422
    neither = client.post("/api/v1/verify/batch", json={"items": [{}]}, headers=auth)
    assert neither.status_code == 422 and "exactly one" in neither.json()["error"]["message"]


def test_signed_verification_report_pdf(env):
    import io

    import pypdfium2 as pdfium
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    rt, issued, client = env
    path = issued.verify_url.split("8000", 1)[1]
    assert "report.pdf" in client.get(path).text
    r = client.get(path.replace("?c=", "/report.pdf?c="))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    sig = PdfFileReader(io.BytesIO(r.content)).embedded_signatures[0]
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=rt.trust_roots, allow_fetching=False))
    assert status.intact and status.valid and status.trusted
    assert "Verification Service" in status.signing_cert.subject.human_friendly
    text = pdfium.PdfDocument(r.content)[0].get_textpage().get_text_range()
    assert "核验通过" in text and issued.document_sha256 in text.replace("\r", "").replace("\n", "")
    upload = client.post("/api/v1/verify/report.pdf", files={"file": ("c.pdf", issued.pdf, "application/pdf")})
    assert upload.status_code == 200 and upload.content.startswith(b"%PDF")
    assert client.get(path.replace("?c=", "/report.pdf?c=X")).status_code == 404
