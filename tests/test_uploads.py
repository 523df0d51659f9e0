"""Bad uploads get a specific 4xx with a clear message, never a 500; the size limit holds
while the body streams in."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from reportlab.pdfgen import canvas

from records.matters import EXAMPLES
from issuer.service import issue_certificate
from notary.app import create_app

LIMIT = 256 * 1024


@pytest.fixture
def client_and_pdf(runtime_factory):
    rt = runtime_factory(max_upload_bytes=LIMIT)
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    return TestClient(create_app(rt), raise_server_exceptions=False), issued.pdf


def _unsigned_pdf() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(100, 700, "not signed")
    c.showPage()
    c.save()
    return buf.getvalue()


def _upload(client, data: bytes, name="c.pdf", content_type="application/pdf"):
    return client.post("/api/v1/verify", files={"file": (name, data, content_type)})


@pytest.mark.parametrize("make, status, code", [
    (lambda pdf: b"", 400, "EMPTY_UPLOAD"),
    (lambda pdf: b"PK\x03\x04 this is a zip file pretending to be a PDF", 415, "NOT_A_PDF"),
    (lambda pdf: pdf[: len(pdf) // 3], 422, "PDF_MALFORMED"),
    (lambda pdf: b"%PDF-1.7\n" + b"\x00garbage" * 200, 422, "PDF_MALFORMED"),
    (lambda pdf: _unsigned_pdf(), 422, "PDF_NOT_SIGNED"),
])
def test_bad_uploads(client_and_pdf, make, status, code):
    client, pdf = client_and_pdf
    r = _upload(client, make(pdf))
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["code"] == code
    assert body["message"] and body["message_zh"]
    assert "Traceback" not in r.text


def test_truncated_signed_pdf_never_passes(client_and_pdf):
    client, pdf = client_and_pdf
    # Cut just before the end: either unreadable (422) or a broken signature (FAILED).
    r = _upload(client, pdf[:-50])
    assert r.status_code in (200, 422)
    if r.status_code == 200:
        assert r.json()["indication"] == "FAILED"


def test_over_the_limit_with_content_length_is_refused_before_reading(client_and_pdf):
    client, _ = client_and_pdf
    r = _upload(client, b"%PDF-1.7\n" + b"0" * (LIMIT + 100_000))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "UPLOAD_TOO_LARGE"


def test_over_the_limit_streamed_is_cut_off_while_reading(runtime_factory):
    """A chunked body with no Content-Length, driven at the ASGI level so we can count
    what the service pulls: it stops reading right after the limit and answers 413."""
    import asyncio

    app = create_app(runtime_factory(max_upload_bytes=LIMIT))
    chunk, chunks_available = b"0" * (16 * 1024), 2000  # 32 MB offered
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"%PDF-1.7\n" if pulled == 1 else chunk,
                "more_body": pulled < chunks_available}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/v1/verify", "raw_path": b"/api/v1/verify", "query_string": b"",
             "root_path": "", "headers": [(b"content-type", b"application/pdf"), (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert b"UPLOAD_TOO_LARGE" in b"".join(m.get("body", b"") for m in sent[1:])
    limit_chunks = (LIMIT + 64 * 1024) // len(chunk) + 2
    assert pulled <= limit_chunks + 1, f"read {pulled} chunks for a limit of {limit_chunks}"


def test_raw_pdf_body_and_wrong_content_type(client_and_pdf):
    client, pdf = client_and_pdf
    ok = client.post("/api/v1/verify", content=pdf, headers={"content-type": "application/pdf"})
    assert ok.status_code == 200 and ok.json()["indication"] == "INDETERMINATE"
    wrong = client.post("/api/v1/verify", content=b"{}", headers={"content-type": "application/json"})
    assert wrong.status_code == 415 and wrong.json()["error"]["code"] == "NOT_A_PDF"
    missing = client.post("/api/v1/verify", files={"other": ("x.txt", b"x", "text/plain")})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "EMPTY_UPLOAD"


def test_service_keeps_answering_after_bad_input(client_and_pdf):
    client, pdf = client_and_pdf
    for junk in (b"", b"%PDF-", pdf[:100]):
        _upload(client, junk)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert _upload(client, pdf).status_code == 200


def _pdf_with_pages(n: int) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for i in range(n):
        c.drawString(100, 700, f"page {i}")
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize("make, code", [
    (lambda: _pdf_with_pages(60), "PDF_TOO_COMPLEX"),
    # Deeply nested arrays: the parser's recursion must not take the service down.
    (lambda: b"%PDF-1.7\n1 0 obj\n" + b"[" * 100_000 + b"]" * 100_000 + b"\nendobj\ntrailer\n<</Root 1 0 R>>\n%%EOF",
     "PDF_MALFORMED"),
    # An encrypted-looking trailer.
    (lambda: b"%PDF-1.7\ntrailer\n<</Root 1 0 R /Encrypt 2 0 R>>\n%%EOF", "PDF_MALFORMED"),
])
def test_hostile_pdfs_get_a_clear_4xx(client_and_pdf, make, code):
    client, pdf = client_and_pdf
    r = _upload(client, make())
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert _upload(client, pdf).status_code == 200  # and the service still works


def test_compression_bomb_does_not_hang(client_and_pdf):
    """A 1 GB stream of zeros compressed to about 1 MB, appended to a signed certificate."""
    import zlib

    client, pdf = client_and_pdf
    bomb = zlib.compressobj(9)
    payload = b"".join(bomb.compress(b"\0" * (1 << 20)) for _ in range(200)) + bomb.flush()
    extra = (b"\n99 0 obj\n<</Length %d /Filter /FlateDecode>>\nstream\n" % len(payload)) + payload + \
        b"\nendstream\nendobj\n"
    r = _upload(client, pdf + extra)
    assert r.status_code in (200, 422)
    if r.status_code == 200:
        assert r.json()["indication"] != "PASSED"


def test_parser_process_is_killed_on_timeout_and_replaced():
    import threading
    import time

    from verifier.errors import ParseTimeout
    from verifier.sandbox import ParserPool

    pool = ParserPool(size=2, timeout=1.0)
    try:
        assert pool.run(sum, [1, 2, 3]) == 6  # warm: both processes are up
        results = {}

        def slow():
            try:
                pool.run(time.sleep, 30)
            except ParseTimeout as exc:
                results["slow"] = exc.code

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.2)
        assert pool.run(sum, [4, 5]) == 9  # served by the other process meanwhile...
        assert results == {}  # ...before the slow job's time ran out
        t.join(10)
        assert results == {"slow": "PDF_PARSE_TIMEOUT"}
        assert pool.run(sum, [1]) == 1 and pool.run(sum, [2]) == 2  # the killed one was replaced
    finally:
        pool.close()


def test_oversized_json_is_refused(client_and_pdf):
    client, _ = client_and_pdf
    big = '{"items": [' + ",".join(['{"sha256": "' + "0" * 64 + '"}'] * 20_000) + "]}"
    r = client.post("/api/v1/verify/batch", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "UPLOAD_TOO_LARGE"
    junk = client.post("/api/v1/verify/hash", content=b"{not json", headers={"content-type": "application/json"})
    assert junk.status_code == 422 and junk.json()["error"]["code"] == "INVALID_REQUEST"
    deep = client.post("/api/v1/verify/hash", content=b"[" * 50_000 + b"]" * 50_000,
                       headers={"content-type": "application/json"})
    assert deep.status_code in (400, 422)


def test_readiness_names_what_is_missing(sqlite_runtime):
    from fastapi.testclient import TestClient
    from web3 import Web3

    from notary.app import create_app

    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "chain": "ok", "ledger_mirror": "ok"}
    # The chain node goes away (a port nothing listens on).
    rt.registry.w3 = Web3(Web3.HTTPProvider("http://127.0.0.1:1", request_kwargs={"timeout": 1}))
    down = client.get("/readyz")
    assert down.status_code == 503 and down.json()["checks"]["chain"].startswith("unreachable")
    assert down.json()["checks"]["database"] == "ok"
