"""Issue → render → decode the QR code from the page image → open the URL on the running
app → PASSED once anchored; the same through the upload API and the CLI."""

from __future__ import annotations

import httpx

from records.matters import EXAMPLES
from issuer.service import issue_certificate
from notary.app import create_app
from tests.conftest import LiveServer, free_port
from tests.pdf_tools import decode_qr, render_page


def test_issue_scan_and_verify_on_a_running_server(runtime_factory, artifacts_dir):
    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}", batch_age_seconds=0.2)
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    image = render_page(issued.pdf, dpi=150)
    image.save(artifacts_dir / "e2e-certificate-page1.png")
    urls = decode_qr(image)
    assert urls == [issued.verify_url]
    assert len(issued.verify_url) < 90  # short enough for a low QR version

    with LiveServer(create_app(rt, run_worker=False), port) as server:
        # Before the batch is anchored: INDETERMINATE, never FAILED.
        page = httpx.get(urls[0], timeout=30)
        assert page.status_code == 200
        assert 'data-indication="INDETERMINATE"' in page.text
        assert 'data-check="anchor_inclusion" data-status="SKIPPED"' in page.text
        assert "ANCHOR_PENDING" in page.text

        assert rt.worker().run_once(force=True) == 1

        page = httpx.get(urls[0], timeout=30)
        assert 'data-indication="PASSED"' in page.text
        assert "核验通过" in page.text
        # Privacy: no personal data on the public page.
        assert EXAMPLES["birth"]["id_number"] not in page.text
        assert EXAMPLES["birth"]["applicant_name"] not in page.text
        english = httpx.get(urls[0] + "&lang=en", timeout=30)
        assert "PASSED: the certificate is genuine" in english.text

        report = httpx.post(f"{server.url}/api/v1/verify", files={"file": ("c.pdf", issued.pdf, "application/pdf")},
                            timeout=30).json()
        assert report["indication"] == "PASSED"
        assert {c["name"]: c["status"] for c in report["checks"]} == {
            "document_integrity": "VALID", "signer_trust": "VALID", "timestamp": "VALID",
            "office_binding": "VALID", "anchor_inclusion": "VALID", "status": "VALID",
        }
        assert report["anchor_block_time"] and report["anchor_block_number"] >= 1
        # B-T: the best signing time is the TSA's, not the signer's claim.
        assert report["best_signing_time"] and report["claimed_signing_time"]
        assert report["certificate"]["number_masked"].endswith("**号")

        status = httpx.get(f"{server.url}/api/v1/certificates/{issued.id}/status", timeout=30).json()
        assert status["anchor"]["state"] == "confirmed" and status["anchor"]["tx_hash"].startswith("0x")
        assert "applicant_name" not in status
        receipt = httpx.get(f"{server.url}/api/v1/certificates/{issued.id}/receipt", timeout=30).json()
        assert receipt["certificate_id"] == str(issued.id) and receipt["document_sha256"] == issued.document_sha256


def test_worker_thread_in_the_server_anchors_by_batch_age(runtime_factory):
    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}", batch_age_seconds=0.3)
    with LiveServer(create_app(rt, run_worker=True), port) as server:
        issued = issue_certificate(rt.issuer_context(), "no-criminal-record", EXAMPLES["no-criminal-record"])
        import time

        deadline = time.monotonic() + 20
        state = None
        while time.monotonic() < deadline:
            state = httpx.get(f"{server.url}/api/v1/certificates/{issued.id}/status").json()["anchor"]["state"]
            if state == "confirmed":
                break
            time.sleep(0.1)
        assert state == "confirmed"


def test_qr_page_refuses_wrong_check_code_and_unknown_ids(sqlite_runtime):
    from fastapi.testclient import TestClient

    rt = sqlite_runtime
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    client = TestClient(create_app(rt))
    good = client.get(issued.verify_url.replace(rt.settings.public_base_url, ""))
    assert good.status_code == 200
    bad_code = client.get(f"/v/{issued.id}?c=AAAAAA")
    assert bad_code.status_code == 404 and 'data-indication="NOT_FOUND"' in bad_code.text
    assert client.get(f"/v/{issued.id}").status_code == 404
    assert client.get("/v/not-a-uuid?c=AAAAAA").status_code == 404
    unknown = client.get("/api/v1/certificates/7d1f1c9e-0000-4000-8000-000000000000/status")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "CERTIFICATE_NOT_FOUND"
    assert client.get("/api/v1/certificates/nope/status").status_code == 422


def test_b_b_and_an_external_tsa_over_http(runtime_factory):
    """PAdES B-B still verifies (timestamp SKIPPED); B-T through a TSA reached over HTTP
    (the development TSA that the app serves at POST /tsa) verifies with a VALID timestamp."""
    from verifier.service import verify_pdf

    plain = runtime_factory("bb", signature_level="B-B")
    issued = issue_certificate(plain.issuer_context(), "birth", EXAMPLES["birth"])
    plain.worker().run_once(force=True)
    report = verify_pdf(plain.verifier_context(), issued.pdf)
    assert report.indication.value == "PASSED" and report.check("timestamp").code == "NO_TIMESTAMP"
    assert report.best_signing_time is None

    port = free_port()
    tsa_host = runtime_factory("tsa-host")
    with LiveServer(create_app(tsa_host), port) as server:
        # Same data directory's PKI is not needed: the TSA host's root is added to trust.
        rt = runtime_factory("bt", tsa_url=f"{server.url}/tsa")
        issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    ctx = rt.verifier_context()
    both = ctx.trust_roots + tsa_host.trust_roots
    from dataclasses import replace

    report = verify_pdf(replace(ctx, trust_roots=both), issued.pdf)
    assert report.check("timestamp").status.value == "VALID", report.check("timestamp")
    assert report.indication.value == "PASSED"
    # With only its own roots, the foreign TSA's timestamp is not trusted.
    assert verify_pdf(ctx, issued.pdf).check("timestamp").status.value == "INVALID"
