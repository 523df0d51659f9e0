"""Issue #15: the service can be watched. Prometheus metrics at /metrics (for the operator
only), one set for several API processes; JSON log lines with the request id that the
response also carries; no personal data in the logs."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from issuer.auth import Role, create_token
from notary.app import create_app
from observability.logs import JsonFormatter
from records.matters import EXAMPLES
from tests.conftest import free_port, stop_process_group

NOTARY = Path(sys.executable).with_name("notary")
TOKEN = "metrics-secret-for-tests"


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 if absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def test_metrics_count_issuing_the_queue_and_verifications(runtime_factory):
    rt = runtime_factory(metrics_token=TOKEN)
    client = TestClient(create_app(rt))
    scrape = lambda: client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text  # noqa: E731
    before = scrape()
    headers = {"Authorization": f"Bearer {create_token(rt.engine, '王丽', Role.NOTARY, rt.office.code)[1]}"}
    issued = client.post("/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]}, headers=headers)
    assert issued.status_code == 201
    pending = scrape()
    assert _sample(pending, "notary_certificates_issued_total", matter="birth", level="B-T") == \
        _sample(before, "notary_certificates_issued_total", matter="birth", level="B-T") + 1
    assert _sample(pending, "notary_issue_seconds_count", matter="birth", level="B-T") >= 1
    assert _sample(pending, "notary_outbox_depth") == 1 and _sample(pending, "notary_oldest_unanchored_seconds") >= 0

    rt.worker().run_once(force=True)
    client.post("/api/v1/verify/hash", json={"sha256": issued.json()["document_sha256"]})
    client.post("/api/v1/verify/hash", json={"sha256": "ab" * 32})  # never issued
    after = scrape()
    assert _sample(after, "notary_outbox_depth") == 0 and _sample(after, "notary_oldest_unanchored_seconds") == 0
    assert _sample(after, "notary_anchor_transactions_total", outcome="confirmed") >= 1
    assert _sample(after, "notary_anchor_gas_used_total") > 20_000  # a real transaction's gas
    assert _sample(after, "notary_verifications_total", indication="PASSED", code="OK") >= 1
    assert _sample(after, "notary_verifications_total", indication="FAILED", code="ANCHOR_NOT_FOUND") >= 1
    # The worker catches the ledger mirror up after anchoring.
    assert _sample(after, "notary_ledger_mirror_behind_blocks") == 0
    quiet = rt.worker()
    quiet.on_ledger_change = None  # this one leaves the mirror behind
    quiet.run_once(force=True)  # nothing to anchor: no new block
    issue_again = client.post("/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                              headers=headers)
    assert issue_again.status_code == 201 and quiet.run_once(force=True) == 1  # a new block on the node
    assert _sample(scrape(), "notary_ledger_mirror_behind_blocks") >= 1
    # Labels hold no personal data.
    assert EXAMPLES["birth"]["applicant_name"] not in after and EXAMPLES["birth"]["id_number"] not in after


def test_metrics_are_for_the_operator_only(runtime_factory):
    rt = runtime_factory(metrics_token=TOKEN)
    client = TestClient(create_app(rt))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "METRICS_FORBIDDEN"
    # Without a token set: a scraper on this machine only (the test client is not on loopback).
    open_rt = runtime_factory("open")
    assert TestClient(create_app(open_rt)).get("/metrics").status_code == 403


def test_every_response_carries_a_request_id_and_a_forged_one_is_replaced(sqlite_runtime):
    client = TestClient(create_app(sqlite_runtime))
    fresh = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", fresh)
    assert client.get("/healthz").headers["X-Request-ID"] != fresh
    assert client.get("/healthz", headers={"X-Request-ID": "clerk-desk-7-0042"}).headers["X-Request-ID"] == \
        "clerk-desk-7-0042"
    for forged in (b'x" "level": "critical', b"a\tb" * 10, "短号".encode() * 4, b"x" * 200):
        answer = client.get("/healthz", headers={"X-Request-ID": forged})
        assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["X-Request-ID"]), forged
    # Refusals made before any route runs carry it too.
    refused = client.post("/api/v1/certificates", json={})
    assert refused.status_code == 401 and refused.headers["X-Request-ID"]


def test_log_lines_are_json_with_the_request_id_and_no_personal_data(sqlite_runtime, caplog):
    """A failing request's log lines name its request id; the certificate's personal data
    is in none of them."""
    rt = sqlite_runtime
    client = TestClient(create_app(rt), raise_server_exceptions=False)  # the app's own 500, as a client sees it
    headers = {"Authorization": f"Bearer {create_token(rt.engine, '王丽', Role.NOTARY, rt.office.code)[1]}",
               "X-Request-ID": "req-issue-000001"}
    formatter = JsonFormatter()
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    handler = Capture(level=logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = logging.getLogger("notary").level
    logging.getLogger("notary").setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as mp:
            from issuer import service

            def broken(*_a, **_k):
                raise RuntimeError("the signing device fell over")

            mp.setattr(service.IssuerContext, "render_and_sign", broken)
            failed = client.post("/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                                 headers=headers)
        assert failed.status_code == 500 and failed.headers["X-Request-ID"] == "req-issue-000001"
        ok = client.post("/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                         headers={**headers, "X-Request-ID": "req-issue-000002"})
        assert ok.status_code == 201
    finally:
        root.removeHandler(handler)
        logging.getLogger("notary").setLevel(old_level)
    entries = [json.loads(line) for line in lines]
    failure = [e for e in entries if e.get("request_id") == "req-issue-000001" and e["level"] == "error"]
    assert failure and "the signing device fell over" in failure[0]["error"]
    assert {"time", "level", "logger", "message"} <= set(failure[0])
    text = "\n".join(lines)
    for personal in (EXAMPLES["birth"]["applicant_name"], EXAMPLES["birth"]["id_number"],
                     EXAMPLES["birth"]["father_name"], ok.json()["access_code"]):
        assert personal not in text


def test_several_api_processes_report_one_set_of_metrics(tmp_path, anvil_url):
    """`notary serve --workers 2`: whichever process answers /metrics, it counts what
    every process issued (the client's multiprocess mode), and logs are JSON lines."""
    from notary.runtime import open_runtime
    from notary.settings import Settings

    data, port = tmp_path / "data", free_port()
    env = {**os.environ, "NOTARY_DATA_DIR": str(data), "NOTARY_RPC_URL": anvil_url, "NOTARY_PORT": str(port),
           "NOTARY_KEY_PASSPHRASE": "test-passphrase", "NOTARY_SIGNING_PROCESSES": "1",
           "NOTARY_PARSER_PROCESSES": "1", "NOTARY_METRICS_TOKEN": TOKEN}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([str(NOTARY), "serve", "--workers", "2"], env=env, stdout=log, stderr=log,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        rt = open_runtime(Settings(data_dir=data, rpc_url=anvil_url, key_passphrase="test-passphrase"), chain=False)
        headers = {"Authorization": f"Bearer {create_token(rt.engine, '王丽', Role.NOTARY, rt.office.code)[1]}"}
        rt.close()
        answered_by: set[str] = set()
        for _ in range(6):  # new connections: the kernel spreads them over both processes
            r = httpx.post(f"{url}/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                           headers=headers, timeout=60)
            assert r.status_code == 201, r.text
        for _ in range(6):
            text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
            assert _sample(text, "notary_certificates_issued_total", matter="birth", level="B-T") == 6
            answered_by.add(text)
    finally:
        stop_process_group(proc)
        log.close()
    # multiprocessing's resource tracker (a helper process, not the service) may print a
    # warning of its own when the whole process group is stopped at once: not a log line.
    tracker = re.compile(r"resource_tracker|warnings\.warn\('resource_tracker")
    lines = [line for line in (tmp_path / "serve.log").read_text().splitlines()
             if line.strip() and not tracker.search(line)]
    assert lines and not [line for line in lines if not _json_line(line)], lines[:5]


def _json_line(line: str) -> bool:
    try:
        return bool(json.loads(line)["level"])
    except (ValueError, KeyError, TypeError):
        return False
