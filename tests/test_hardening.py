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
from issuer.matters import EXAMPLES
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
