"""The QR landing page in a real headless Chromium (Debian's, driven by Playwright), on a
phone-sized screen, in each state; screenshots are saved under test-artifacts/."""

from __future__ import annotations

from sqlmodel import Session

from records.matters import EXAMPLES
from records.models import Certificate, CertificateStatus
from issuer.service import issue_certificate
from notary.app import create_app
from tests.conftest import LiveServer, free_port



def test_qr_page_states_on_a_phone(browser, runtime_factory, artifacts_dir):
    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}")
    ctx = rt.issuer_context()
    pending = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    requests_outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(f"http://127.0.0.1:{port}") else requests_outside.append(r.url))
    with LiveServer(create_app(rt), port):
        page.goto(pending.verify_url)
        assert page.locator("#verdict").get_attribute("data-indication") == "INDETERMINATE"
        assert "等待上链" in page.content()
        page.screenshot(path=str(artifacts_dir / "qr-page-indeterminate-zh.png"), full_page=True)

        rt.worker().run_once(force=True)
        page.goto(pending.verify_url)
        assert page.locator("#verdict").get_attribute("data-indication") == "PASSED"
        assert page.locator('[data-check="anchor_inclusion"]').get_attribute("data-status") == "VALID"
        page.screenshot(path=str(artifacts_dir / "qr-page-passed-zh.png"), full_page=True)
        # No horizontal scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        page.click("#lang-switch")
        assert page.locator("#verdict").inner_text().startswith("PASSED")
        assert page.evaluate("document.documentElement.lang") == "en"
        page.screenshot(path=str(artifacts_dir / "qr-page-passed-en.png"), full_page=True)

        with Session(rt.engine) as s:
            cert = s.get(Certificate, pending.id)
            cert.status = CertificateStatus.REVOKED
            s.add(cert)
            s.commit()
        page.goto(pending.verify_url)
        assert page.locator("#verdict").get_attribute("data-indication") == "FAILED"
        assert page.locator('[data-check="status"]').get_attribute("data-status") == "INVALID"
        page.screenshot(path=str(artifacts_dir / "qr-page-revoked-zh.png"), full_page=True)

        # A corrected certificate: FAILED, with the way to its successor.
        from issuer.lifecycle import correct_certificate

        other = issue_certificate(ctx, "birth", EXAMPLES["birth"])
        new = correct_certificate(ctx, other.id, {**EXAMPLES["birth"], "birth_place": "上海市静安区"})
        page.goto(other.verify_url)
        assert page.locator('[data-check="status"] small').inner_text() == "(SUPERSEDED)"
        page.screenshot(path=str(artifacts_dir / "qr-page-corrected-zh.png"), full_page=True)
        page.click("#successor a")
        assert str(new.id) in page.url
        assert page.locator("#verdict").get_attribute("data-indication") == "INDETERMINATE"  # not anchored yet

        page.goto(pending.verify_url.replace("?c=", "?c=X"))
        assert page.locator("#verdict").get_attribute("data-indication") == "NOT_FOUND"
        page.screenshot(path=str(artifacts_dir / "qr-page-not-found-zh.png"), full_page=True)
    assert requests_outside == []  # no assets from outside the service


def test_home_page_forms(browser, runtime_factory, artifacts_dir, tmp_path):
    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}")
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(issued.pdf)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.method + " " + r.url))
    with LiveServer(create_app(rt), port) as server:
        page.goto(f"{server.url}/verify")
        page.screenshot(path=str(artifacts_dir / "home-zh.png"), full_page=True)

        # Fingerprint in the browser (WebCrypto): the PDF itself is never sent.
        page.set_input_files("#hash-file", str(pdf))
        page.click("#hash-button")
        page.wait_for_url("**/verify/hash?**")
        assert page.locator("#verdict").get_attribute("data-indication") == "PASSED"
        assert issued.document_sha256 in page.url
        assert not any(u.startswith("POST") for u in uploads)
        page.screenshot(path=str(artifacts_dir / "hash-passed-zh.png"), full_page=True)

        page.goto(f"{server.url}/verify?lang=en")
        page.set_input_files("#upload-form input[name=file]", str(pdf))
        page.click("#upload-form button")
        assert page.locator("#verdict").get_attribute("data-indication") == "PASSED"
        page.screenshot(path=str(artifacts_dir / "upload-passed-en.png"), full_page=True)

        page.goto(f"{server.url}/verify")
        page.fill("#number", issued.number)
        page.fill("#number-form #access_code", issued.access_code)
        page.click("#number-form button")
        assert page.locator("#record").is_visible()
        assert EXAMPLES["birth"]["applicant_name"] in page.locator("#record").inner_text()
        assert page.locator("img.preview").count() == 1
        page.screenshot(path=str(artifacts_dir / "record-with-access-code-zh.png"), full_page=True)

        page.goto(f"{server.url}/verify")
        page.fill("#number", issued.number)
        page.fill("#number-form #access_code", "AAAA-AAAA")
        page.click("#number-form button")
        assert page.locator("#error").get_attribute("data-code") == "ACCESS_CODE_WRONG"
        page.screenshot(path=str(artifacts_dir / "wrong-access-code-zh.png"), full_page=True)


def test_result_pages_in_both_languages_with_report_and_successor(browser, runtime_factory, artifacts_dir, tmp_path):
    """An uploaded certificate's result has an address: the English switch works on it, it
    offers the signed report PDF, and a corrected certificate links to its successor. The
    full record (reached with the access code) switches language too."""
    from issuer.lifecycle import correct_certificate

    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}")
    ctx = rt.issuer_context()
    old = issue_certificate(ctx, "marital-status", EXAMPLES["marital-status"])
    rt.worker().run_once(force=True)
    new = correct_certificate(ctx, old.id, EXAMPLES["marital-status"])
    pdf = tmp_path / "old.pdf"
    pdf.write_bytes(old.pdf)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(f"http://127.0.0.1:{port}") else outside.append(r.url))
    with LiveServer(create_app(rt), port) as server:
        page.goto(f"{server.url}/verify")
        page.set_input_files("#upload-form input[name=file]", str(pdf))
        page.click("#upload-form button")
        page.wait_for_url("**/verify/result/**")
        assert page.locator("#verdict").get_attribute("data-indication") == "FAILED"
        assert page.locator("#revocation").get_attribute("data-kind") == "superseded"
        assert page.locator("#successor a").is_visible() and page.locator("#report-pdf").is_visible()
        report = page.request.get(server.url + page.locator("#report-pdf").get_attribute("href"))
        assert report.ok and report.body().startswith(b"%PDF")
        page.screenshot(path=str(artifacts_dir / "upload-result-corrected-zh.png"), full_page=True)

        page.click("#lang-switch")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator("#verdict").inner_text().startswith("FAILED")
        summary = page.locator("#summary").inner_text()
        assert "Marital status" in summary and "marital-status" not in summary
        page.screenshot(path=str(artifacts_dir / "upload-result-corrected-en.png"), full_page=True)
        page.click("#successor a")
        assert str(new.id) in page.url and page.evaluate("document.documentElement.lang") == "en"

        # The full record: its language switch re-sends the access code (the record never
        # has a GET address).
        page.goto(f"{server.url}/verify")
        page.fill("#number", new.number)
        page.fill("#number-form #access_code", new.access_code)
        page.click("#number-form button")
        assert page.locator("#record").is_visible()
        page.click("#lang-switch")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator("#record").is_visible() and page.locator("#report-pdf").is_visible()
        assert "certify" in page.locator("#statement-en").inner_text().lower()
        page.screenshot(path=str(artifacts_dir / "record-en.png"), full_page=True)

        # Too many wrong codes: the page says when to try again.
        for _ in range(11):
            page.goto(f"{server.url}/verify")
            page.fill("#number", new.number)
            page.fill("#number-form #access_code", "AAAA-AAAA")
            page.click("#number-form button")
        assert page.locator("#error").get_attribute("data-code") == "RATE_LIMITED"
        assert "分钟后" in page.locator("#error").inner_text()
        page.screenshot(path=str(artifacts_dir / "access-code-locked-zh.png"), full_page=True)
    assert outside == []


def test_api_docs_render_with_no_internet(browser, runtime_factory, artifacts_dir):
    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(f"http://127.0.0.1:{port}") else outside.append(r.url))
    with LiveServer(create_app(rt), port) as server:
        page.goto(f"{server.url}/api/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        assert page.locator(".opblock").count() > 10
        assert page.locator("button.authorize").is_visible()  # the security schemes are declared
        page.screenshot(path=str(artifacts_dir / "api-docs.png"), full_page=False)
    assert outside == []
