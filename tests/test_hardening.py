"""Requests built to crash or overload the service (issue #12): deep JSON on every JSON
route of a real server process, JSON-like types under the 1 MB cap, anonymous issuing
refused before its body is read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from issuer.auth import Role, create_token
from records.matters import EXAMPLES
from tests.conftest import free_port

NOTARY = Path(sys.executable).with_name("notary")
DEEP = b"[" * 200_000  # 200 KB: enough to overflow the C stack of a recursive parser


def test_importing_the_service_leaves_a_sane_recursion_limit():
    """py_ecc (through web3) raises it to 100,000, which turns deep input into a SIGSEGV."""
    code = "import sys, notary.app, verifier.standalone, anchoring.chain; print(sys.getrecursionlimit())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert int(out.stdout) <= 10_000


@pytest.fixture
def server(tmp_path, anvil_url):
    """``notary serve`` in its own process, on a fresh data directory."""
    port = free_port()
    env = {**os.environ, "NOTARY_DATA_DIR": str(tmp_path / "data"), "NOTARY_RPC_URL": anvil_url,
           "NOTARY_PORT": str(port), "NOTARY_KEY_PASSPHRASE": "test-passphrase", "NOTARY_SIGNING_PROCESSES": "1",
           "NOTARY_PARSER_PROCESSES": "1", "NOTARY_WORKER_ENABLED": "false"}
    proc = subprocess.Popen([str(NOTARY), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.3)
    yield url, proc
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _json_routes(url: str) -> list[tuple[str, str]]:
    """(method, path) of every route whose OpenAPI description takes a JSON body."""
    spec = httpx.get(f"{url}/api/openapi.json", timeout=10).json()
    routes = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                routes.append((method.upper(), path.replace("{", "").replace("}", "")))
    return routes


def test_deep_json_on_every_json_route_is_a_4xx_and_the_server_lives(server):
    url, proc = server
    routes = _json_routes(url)
    assert ("POST", "/api/v1/verify/hash") in routes and ("POST", "/api/v1/certificates") in routes
    some_id = str(uuid.uuid4())
    with httpx.Client(base_url=url, timeout=30) as client:
        for method, path in routes:
            path = path.replace("certificate_id", some_id).replace("draft_id", some_id).replace("id", some_id)
            for content_type in ("application/json", "application/merge-patch+json"):
                r = client.request(method, path, content=DEEP, headers={"content-type": content_type})
                assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:200])
                assert r.json()["error"]["code"] in ("JSON_TOO_DEEP", "AUTH_REQUIRED"), (method, path, r.text[:200])
        assert client.get("/healthz").status_code == 200
    assert proc.poll() is None, "the server process died"


def test_json_like_types_share_the_1_mb_cap(server):
    url, _ = server
    big = json.dumps({"sha256": "0" * 64, "pad": "x" * (1_100_000)}).encode()
    for content_type in ("application/json", "application/problem+json", "text/plain", "application/x-anything"):
        r = httpx.post(f"{url}/api/v1/verify/hash", content=big, headers={"content-type": content_type}, timeout=30)
        assert r.status_code == 413, (content_type, r.status_code)
        assert r.json()["error"]["code"] == "UPLOAD_TOO_LARGE"
    # A JSON-like type posing as an upload still gets the JSON cap, not the 20 MB one.
    r = httpx.post(f"{url}/api/v1/verify", content=big, headers={"content-type": "application/vnd.pdf+json"}, timeout=30)
    assert r.status_code == 413


def test_anonymous_issuing_is_refused_before_the_body_is_read(sqlite_runtime):
    from fastapi.testclient import TestClient

    from notary.app import create_app

    rt = sqlite_runtime
    client = TestClient(create_app(rt))
    for body in (b"{}", b"not json at all", DEEP, b"{" + b'"a":1,' * 150_000 + b'"b":1}'):
        for path in ("/api/v1/certificates", "/api/v1/drafts", f"/api/v1/certificates/{uuid.uuid4()}/revoke"):
            r = client.post(path, content=body, headers={"content-type": "application/json"})
            assert r.status_code == 401, (path, r.status_code, r.text[:200])
            assert r.json()["error"]["code"] == "AUTH_REQUIRED" and r.headers["www-authenticate"] == "Bearer"
        r = client.post("/api/v1/certificates", content=body, headers={"content-type": "application/json",
                                                                       "authorization": "Bearer ent_forged"})
        assert r.status_code == 401
    # Logged in, the same empty body reaches validation (422), and a real one issues.
    token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/certificates", json={}, headers=headers).status_code == 422
    assert client.post("/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                       headers=headers).status_code == 201
    # Public reads under the same prefix stay public.
    assert client.get(f"/api/v1/certificates/{uuid.uuid4()}/status").status_code == 404


def test_the_data_directory_and_its_files_are_private_whatever_the_umask(runtime_factory):
    from notary.runtime import rotate_office_key

    old = os.umask(0o022)
    try:
        rt = runtime_factory("private")
        data = rt.settings.data_path
        assert data.stat().st_mode & 0o777 == 0o700
        db = data / "notary.sqlite3"
        assert db.stat().st_mode & 0o777 == 0o600
        for private in [*(rt.pki_dir.glob("*.key.pem")), *(rt.pki_dir.glob("*.p12")), *(data / "secrets").iterdir()]:
            assert private.stat().st_mode & 0o777 == 0o600, private
        archived = rotate_office_key(rt)  # the retired key's store is written 0600 from the start
        for store in rt.pki_dir.glob("office-signing-*.p12"):
            assert store.stat().st_mode & 0o777 == 0o600, store
        del archived
    finally:
        os.umask(old)


def test_pages_send_security_headers_and_carry_no_inline_code(sqlite_runtime):
    import re

    from fastapi.testclient import TestClient

    from notary.app import create_app

    client = TestClient(create_app(sqlite_runtime))
    for path in ("/verify", "/verify?lang=en", f"/v/{uuid.uuid4()}?c=ABCDEF", "/api/v1/certificates"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
    page = client.get("/verify").text
    assert "<style" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\s(style|on[a-z]+)=", page), "inline styles or event handlers"
    assert client.get("/static/site.css").headers["content-type"].startswith("text/css")
    assert "crypto.subtle" in client.get("/static/hash.js").text


@pytest.mark.parametrize("overrides, served", [({}, True), ({"tsa_url": "http://127.0.0.1:9/tsa"}, False),
                                               ({"signature_level": "B-B"}, False)])
def test_the_development_tsa_is_served_only_when_in_use(runtime_factory, overrides, served):
    from fastapi.testclient import TestClient

    from notary.app import create_app

    client = TestClient(create_app(runtime_factory(**overrides)))
    r = client.post("/tsa", content=b"\x30\x00", headers={"content-type": "application/timestamp-query"})
    assert (r.status_code != 404) is served


def test_the_pkcs11_pin_never_appears_in_a_repr():
    from keys.pkcs11_store import Pkcs11Config

    cfg = Pkcs11Config(Path("/nonexistent/libsofthsm2.so"), "office", "s3cret-PIN-4711", "signing", Path("c.pem"))
    assert "s3cret-PIN-4711" not in repr(cfg) and "s3cret-PIN-4711" not in str(cfg)


def _cli(rt, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NOTARY_DATA_DIR": str(rt.settings.data_path), "NOTARY_RPC_URL": rt.settings.rpc_url,
           "NOTARY_KEY_PASSPHRASE": "test-passphrase"}
    return subprocess.run([str(NOTARY), *args], env=env, capture_output=True, text=True, timeout=120)


def _signer_fingerprint(pdf: bytes) -> bytes:
    import hashlib
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    return hashlib.sha256(PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0].signer_cert.dump()).digest()


def test_key_rotation_and_revocation_reach_a_running_server_which_fails_closed(runtime_factory):
    """`notary keys rotate` and `keys revoke-cert` in another process take effect in the
    running server (and its signing processes) within seconds, without a restart; a
    revoked key signs nothing (503) and takes no number."""
    from notary.app import create_app
    from tests.conftest import LiveServer

    rt = runtime_factory("live", signing_processes=1, key_check_seconds=0.5)
    token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"matter": "birth", "data": EXAMPLES["birth"]}
    with LiveServer(create_app(rt), free_port()) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        first = client.post("/api/v1/certificates", json=body, headers=headers)
        assert first.status_code == 201, first.text
        old = rt.signer.fingerprint
        pdf = client.get(f"/api/v1/certificates/{first.json()['id']}/pdf", headers=headers).content
        assert _signer_fingerprint(pdf) == old

        rotated = _cli(rt, "keys", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        deadline, fingerprint = time.monotonic() + 20, old
        while fingerprint == old and time.monotonic() < deadline:
            r = client.post("/api/v1/certificates", json=body, headers=headers)
            assert r.status_code == 201, r.text  # never a certificate signed by the retired key that fails
            fingerprint = _signer_fingerprint(client.get(f"/api/v1/certificates/{r.json()['id']}/pdf",
                                                         headers=headers).content)
            if fingerprint == old:
                time.sleep(0.3)
        assert fingerprint != old, "the running server kept signing with the retired key"
        issued_before = client.get("/api/v1/certificates", headers=headers).json()

        revoked = _cli(rt, "keys", "revoke-cert", "--yes")
        assert revoked.returncode == 0, revoked.stderr
        deadline, status, issued_meanwhile = time.monotonic() + 20, 201, 0
        while status == 201 and time.monotonic() < deadline:
            r = client.post("/api/v1/certificates", json=body, headers=headers)
            status = r.status_code
            if status == 201:
                issued_meanwhile += 1
                time.sleep(0.3)
        assert status == 503 and r.json()["error"]["code"] == "SIGNING_KEY_NOT_USABLE", r.text
        assert r.json()["error"]["message_zh"]
        # Refused before a number was taken: nothing stored for the refused requests.
        assert client.post("/api/v1/certificates", json=body, headers=headers).status_code == 503
        after = client.get("/api/v1/certificates", headers=headers).json()
        assert _count(after) == _count(issued_before) + issued_meanwhile
    # The command line fails closed too.
    refused = _cli(rt, "issue", "--matter", "birth", "--data", _example_file(rt), "--out", str(rt.settings.data_path / "x.pdf"))
    assert refused.returncode != 0 and "SIGNING_KEY_NOT_USABLE" in refused.stdout + refused.stderr


def _count(listing) -> int:
    return len(listing["items"] if isinstance(listing, dict) else listing)


def _example_file(rt) -> str:
    path = rt.settings.data_path / "birth.json"
    path.write_text(json.dumps(EXAMPLES["birth"], ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_uploads_are_rate_limited_per_client(runtime_factory):
    from fastapi.testclient import TestClient

    from notary.app import create_app

    rt = runtime_factory("uploads", upload_rate_per_minute=3)
    client = TestClient(create_app(rt))
    answers = [client.post("/api/v1/verify", content=b"%PDF-1.7 not really",
                           headers={"content-type": "application/pdf"}).status_code for _ in range(5)]
    assert answers[:3] == [422, 422, 422] and answers[3:] == [429, 429], answers
    page = client.post("/verify/upload", files={"file": ("c.pdf", b"%PDF-1.7", "application/pdf")})
    assert page.status_code == 429 and "RATE_LIMITED" in page.text
    # Lookups are not counted against uploads.
    assert client.get(f"/api/v1/certificates/{uuid.uuid4()}/status").status_code == 404


def test_uploads_wait_for_a_slot_and_never_hold_the_threads_of_other_routes(runtime_factory):
    """With one upload slot, ten uploads at once are verified one after another while a
    lookup, which runs on the shared worker threads, still answers."""
    import asyncio

    from notary.app import create_app

    rt = runtime_factory("slots", upload_slots=1, upload_rate_per_minute=1000)
    app = create_app(rt)
    issued_pdf = _issue(rt)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as client:
            uploads = [client.post("/api/v1/verify", content=issued_pdf, headers={"content-type": "application/pdf"})
                       for _ in range(10)]
            lookup = client.get(f"/api/v1/certificates/{uuid.uuid4()}/status")
            results = await asyncio.gather(*uploads, lookup)
        return results

    results = asyncio.run(scenario())
    assert [r.status_code for r in results[:10]] == [200] * 10
    assert results[10].status_code == 404


def _issue(rt) -> bytes:
    from issuer.service import issue_certificate

    return issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"]).pdf


def _through_proxy(app, forwarded_for: str | None = None):
    """A client that reaches the app from 127.0.0.1 (the trusted proxy), for one caller."""
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)),
                             base_url="http://test", headers=headers, timeout=60)


def test_access_code_failures_count_per_certificate_and_per_client(runtime_factory):
    """Many addresses cannot share out the guesses on one certificate; one shared address
    (a court behind a proxy) is not locked out by a few wrong codes on different ones; an
    unknown number is answered and counted like a wrong code."""
    import asyncio

    from issuer.service import issue_certificate
    from notary.app import create_app

    rt = runtime_factory("codes", trusted_proxies=["127.0.0.1/32"])
    target = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    others = [issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"]) for _ in range(3)]
    app = create_app(rt)

    async def ask(forwarded: str, number: str, code: str) -> httpx.Response:
        async with _through_proxy(app, forwarded) as client:
            return await client.post("/api/v1/verify/number", json={"number": number, "access_code": code})

    async def scenario():
        # An attacker rotating through ten addresses on one certificate: then it is locked for everyone.
        for i in range(10):
            assert (await ask(f"198.51.100.{i}", target.number, "AAAA-AAAA")).status_code == 403
        locked = await ask("203.0.113.7", target.number, target.access_code)
        assert locked.status_code == 429 and locked.json()["error"]["code"] == "RATE_LIMITED"
        # One court address with wrong codes on several certificates still opens the right one.
        for other in others:
            assert (await ask("192.0.2.10", other.number, "AAAA-AAAA")).status_code == 403
        opened = await ask("192.0.2.10", others[0].number, others[0].access_code)
        assert opened.status_code == 200, opened.text
        # Unknown numbers: the same answer as a wrong code, and counted.
        wrong = await ask("192.0.2.11", others[1].number, "BBBB-BBBB")
        unknown = [await ask(f"198.51.100.{i}", "(2026)沪东证字第999999号", "AAAA-AAAA") for i in range(10)]
        assert all((u.status_code, u.json()) == (wrong.status_code, wrong.json()) for u in unknown)
        assert (await ask("203.0.113.9", "(2026)沪东证字第999999号", "AAAA-AAAA")).status_code == 429

    asyncio.run(scenario())


def test_forwarded_addresses_are_believed_only_from_trusted_proxies():
    from starlette.requests import Request

    from verifier.client_address import client_address, parse_networks

    def request(peer: str, forwarded: str | None) -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return Request({"type": "http", "client": (peer, 1234), "headers": headers})

    trusted = parse_networks(["10.0.0.0/8", "127.0.0.1"])
    assert client_address(request("203.0.113.5", "1.2.3.4"), trusted) == "203.0.113.5"  # not a proxy: ignored
    assert client_address(request("10.1.1.1", "1.2.3.4"), trusted) == "1.2.3.4"
    assert client_address(request("10.1.1.1", "6.6.6.6, 1.2.3.4, 10.2.2.2"), trusted) == "1.2.3.4"  # spoofed head
    assert client_address(request("10.1.1.1", "not-an-address"), trusted) == "10.1.1.1"
    assert client_address(request("10.1.1.1", None), trusted) == "10.1.1.1"
    assert client_address(request("10.1.1.1", "1.2.3.4"), []) == "10.1.1.1"
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/33"])
