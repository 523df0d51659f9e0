"""The staff console in a real headless Chromium (Debian's, driven by Playwright): a notary
signs in with a TOTP code, fills a draft as a form (the ID number checked as it is typed),
previews, issues, downloads and prints it (the printed QR code scans at its true size),
corrects and revokes; a regulator draws a random inspection and anyone re-derives it; a
forged form and a timed-out session are refused; a notary opening a regulator page gets a
403. Screenshots of every page go to test-artifacts/console-*.png."""

from __future__ import annotations

import datetime as dt
import io
import json

from PIL import Image
from sqlmodel import Session, select

from console import staff_sessions
from console.draw_procedure import verify_published
from console.models import StaffSession
from feed.dispatcher import run_until_idle
from feed.receivers import add_receiver
from issuer.auth import Role
from issuer.service import issue_certificate
from notary.app import create_app
from records.matters import EXAMPLES
from records.models import Certificate
from tests.conftest import LiveServer, free_port
from tests.console_helpers import make_person
from tests.loopback_receiver import LoopbackReceiver
from tests.pdf_tools import decode_qr, render_page

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}


def _sign_in(page, base: str, person) -> None:
    page.goto(f"{base}/console/signin")
    page.fill("#username", person.username)
    page.fill("#password", person.password)
    page.fill("#code", person.code())
    page.click("#signin")


def _shot(page, artifacts_dir, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"console-{name}.png"), full_page=True)


def _qr_width(image: Image.Image) -> float:
    import zxingcpp

    (found,) = [r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]
    p = found.position
    return ((p.top_right.x - p.top_left.x) ** 2 + (p.top_right.y - p.top_left.y) ** 2) ** 0.5


def test_a_notary_issues_downloads_prints_corrects_and_revokes(browser, runtime_factory, artifacts_dir, tmp_path):
    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}")
    notary = make_person(rt, "wangli", Role.NOTARY, name="王丽")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(f"http://127.0.0.1:{port}") or r.url.startswith("data:")
            else outside.append(r.url))
    with LiveServer(create_app(rt), port) as server:
        base = server.url
        page.goto(f"{base}/console/office")
        assert "/console/signin" in page.url  # signed out: sent to sign in, and back afterwards
        _shot(page, artifacts_dir, "signin-zh")
        page.fill("#username", notary.username)
        page.fill("#password", "Wrong-Password-123")
        page.fill("#code", notary.peek())
        page.click("#signin")
        assert page.locator("#error").get_attribute("data-code") == "SIGNIN_FAILED"
        _shot(page, artifacts_dir, "signin-failed-zh")
        page.fill("#password", notary.password)
        page.fill("#code", notary.code())
        page.click("#signin")
        assert page.url.endswith("/console/office")
        cookie = next(c for c in context.cookies() if c["name"] == "__Host-notary_staff")
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        _shot(page, artifacts_dir, "office-home-zh")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling

        page.click("#new-draft")
        _shot(page, artifacts_dir, "draft-choose-zh")
        page.click('[data-matter="birth"]')
        # The English companions (pinyin, English names) show for a bilingual certificate only.
        assert not page.locator("#f-applicant_name_en").is_visible()
        page.select_option("#language", "zh-en")
        assert page.locator("#f-applicant_name_en").is_visible()
        page.select_option("#language", "zh")
        data = EXAMPLES["birth"]
        for name in ("applicant_name", "birth_date", "birth_place", "father_name", "mother_name", "purpose",
                     "destination"):
            page.fill(f"#f-{name}", data[name])
        page.select_option("#f-sex", data["sex"])
        page.fill("#f-id_number", "310101199003070028")  # the last digit mistyped
        page.locator("#f-id_number").blur()
        # Checked in the browser as it is typed (GB 11643 check digit), before anything is sent.
        assert "校验码" in page.locator("#f-id_number-live").inner_text()
        assert page.evaluate("document.querySelector('#f-id_number').validity.valid") is False
        _shot(page, artifacts_dir, "draft-form-id-check-zh")
        page.click("#save")  # saved as a draft all the same: the server names the field too
        assert page.locator("#problems").is_visible()
        assert page.locator('[data-field="id_number"]').count() == 1
        page.fill("#f-id_number", data["id_number"])
        page.locator("#f-id_number").blur()
        assert page.locator("#f-id_number-live").inner_text() == ""
        page.click("#save")
        assert page.locator("#ready").is_visible()
        _shot(page, artifacts_dir, "draft-ready-zh")
        page.click("#preview")
        assert page.locator("img.preview").count() >= 1
        _shot(page, artifacts_dir, "draft-preview-zh")
        page.click("#issue")
        number = page.locator("#issued-number").inner_text()
        access_code = page.locator("#access-code").inner_text()
        assert number.startswith("(") and len(access_code) >= 8
        _shot(page, artifacts_dir, "issued-zh")

        page.click("#to-certificate")
        assert page.locator("#status").get_attribute("data-status") == "issued"
        _shot(page, artifacts_dir, "certificate-zh")
        with page.expect_download() as download:
            page.click("#download")
        pdf = (tmp_path / "downloaded.pdf")
        download.value.save_as(pdf)
        with Session(rt.engine) as s:
            cert = s.exec(select(Certificate).where(Certificate.number == number)).one()
        import hashlib

        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == cert.document_sha256  # the signed PDF itself

        # Printed as the browser prints it (A4, no margins): the QR code decodes to the
        # certificate's address and is as large on paper as in the PDF.
        page.click("#print")
        _shot(page, artifacts_dir, "print-view-zh")
        printed = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        printed_page = render_page(printed, 0, dpi=150)
        assert decode_qr(printed_page) == [cert_url := decode_qr(render_page(pdf.read_bytes(), 0, 150))[0]]
        assert cert_url.startswith(f"{base}/v/{cert.id}")
        original = _qr_width(render_page(pdf.read_bytes(), 0, dpi=150))
        assert abs(_qr_width(printed_page) - original) / original < 0.04
        Image.open(io.BytesIO(printed_page.tobytes()) if False else io.BytesIO()) if False else None

        # Correct: the form comes filled; a confirmation; the new certificate names the old one.
        page.goto(f"{base}/console/office/certificates/{cert.id}")
        page.click("#correct")
        page.fill("#f-birth_place", "上海市静安区")
        page.click("#correct-next")
        assert page.locator("#confirm-note").is_visible()
        _shot(page, artifacts_dir, "correct-confirm-zh")
        page.click("#confirm-correct")
        new_number = page.locator("#issued-number").inner_text()
        assert new_number != number
        page.goto(f"{base}/console/office/certificates/{cert.id}")
        assert page.locator("#status").get_attribute("data-status") == "superseded"
        page.click("#successor a")
        assert page.locator("#number").inner_text() == new_number
        _shot(page, artifacts_dir, "certificate-corrected-zh")

        # Revoke the new one: a reason, a confirmation step, then revoked.
        page.select_option("#reason", "1")
        page.fill("#note", "当事人信息有误")
        page.click("#revoke")
        _shot(page, artifacts_dir, "revoke-confirm-zh")
        page.click("#confirm-revoke")
        assert page.locator("#status").get_attribute("data-status") == "revoked"
        _shot(page, artifacts_dir, "certificate-revoked-zh")

        # English, and search.
        page.click("#lang-switch")
        assert page.evaluate("document.documentElement.lang") == "en"
        page.goto(f"{base}/console/office?name=张")
        assert page.locator("tr.result").count() == 2
        _shot(page, artifacts_dir, "office-search-en")

        # A notary opening a regulator page: 403, said as a page.
        answer = page.goto(f"{base}/console/regulator")
        assert answer.status == 403 and page.locator("#error").get_attribute("data-code") == "CONSOLE_FORBIDDEN"
        _shot(page, artifacts_dir, "forbidden-en")

        # A form whose CSRF token was tampered with: refused, nothing changes.
        page.goto(f"{base}/console/office/certificates/{cert.id}")
        page.goto(f"{base}/console/office/drafts/new?matter=declaration")
        page.evaluate("document.querySelector('#draft-form input[name=csrf]').value = 'forged'")
        page.click("#save")
        assert page.locator("#error").get_attribute("data-code") == "CSRF_REJECTED"
        _shot(page, artifacts_dir, "csrf-rejected-en")

        # A session idle past its limit: back to sign-in, and then to where the notary was.
        token = next(c["value"] for c in context.cookies() if c["name"] == "__Host-notary_staff")
        with Session(rt.engine) as s:
            row = s.get(StaffSession, staff_sessions.token_hash(token))
            row.last_seen_at -= dt.timedelta(minutes=20)
            s.add(row)
            s.commit()
        page.goto(f"{base}/console/office/certificates/{cert.id}")
        assert "/console/signin" in page.url
        _shot(page, artifacts_dir, "session-timed-out-en")
        page.fill("#username", notary.username)
        page.fill("#password", notary.password)
        page.fill("#code", notary.code())
        page.click("#signin")
        assert page.url.endswith(f"/console/office/certificates/{cert.id}")

        page.click("#signout")
        assert "/console/signin" in page.url
        assert page.goto(f"{base}/console/office").url.endswith("/console/signin?next=%2Fconsole%2Foffice")
    assert outside == []
    context.close()


def test_a_regulator_draws_an_inspection_that_anyone_re_derives(browser, runtime_factory, artifacts_dir, tmp_path):
    from issuer.lifecycle import revoke_certificate
    from issuer.service import issue_certificate
    from records.revocation import RevocationReason

    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}")
    ctx = rt.issuer_context()
    issued = [issue_certificate(ctx, "birth", EXAMPLES["birth"]) for _ in range(6)]
    issue_certificate(ctx, "declaration", EXAMPLES["declaration"])
    revoke_certificate(rt.engine, issued[0].id, RevocationReason.ISSUED_IN_ERROR)
    rt.worker().run_once(force=True)
    regulator = make_person(rt, "zhaoqiang", Role.REGISTRY_ADMIN, name="赵强")
    context = browser.new_context(viewport=DESK, accept_downloads=True)
    page = context.new_page()
    with LiveServer(create_app(rt), port) as server:
        base = server.url
        _sign_in(page, base, regulator)
        assert page.url.endswith("/console/regulator")
        assert page.locator("#total-issued").inner_text() == "7"
        assert page.locator(".chart svg").count() == 3
        _shot(page, artifacts_dir, "regulator-statistics-zh")
        with page.expect_download() as download:
            page.click("#csv")
        csv_text = (tmp_path / "s.csv")
        download.value.save_as(csv_text)
        assert csv_text.read_text(encoding="utf-8-sig").splitlines()[0].startswith("office")

        page.click("#nav-inspections")
        page.select_option("#d-matter", "birth")
        page.fill("#d-from", (dt.date.today() - dt.timedelta(days=1)).isoformat())
        page.fill("#d-to", dt.date.today().isoformat())
        page.fill("#d-size", "3")
        page.click("#draw")
        assert page.locator("#draw-state").get_attribute("data-state") == "drawn"
        assert page.locator("tr.chosen").count() == 3
        _shot(page, artifacts_dir, "inspection-drawn-zh")
        page.locator("tr.chosen select").first.select_option("defective")
        page.locator("tr.chosen input[name=note]").first.fill("公证员签名页缺失")
        page.locator("tr.chosen .record-finding").first.click()
        assert page.locator("tr.chosen .finding").first.get_attribute("data-outcome") == "defective"
        _shot(page, artifacts_dir, "inspection-finding-zh")
        with page.expect_download() as download:
            page.click("#published")
        published = tmp_path / "draw.json"
        download.value.save_as(published)
        # Re-derived from the file and the ledger alone, as an auditor would.
        doc = json.loads(published.read_text(encoding="utf-8"))
        assert verify_published(doc, rt.registry) == []
        from typer.testing import CliRunner

        from notary.cli import app as cli

        result = CliRunner().invoke(cli, ["inspect", "verify-draw", str(published), "--rpc-url",
                                          rt.settings.rpc_url])
        assert result.exit_code == 0, result.output
        doc["selected"] = list(reversed(doc["selected"]))
        published.write_text(json.dumps(doc), encoding="utf-8")
        assert CliRunner().invoke(cli, ["inspect", "verify-draw", str(published), "--rpc-url",
                                        rt.settings.rpc_url]).exit_code == 1

        page.click("#nav-leads")
        page.goto(f"{base}/v/{issued[1].id}?c=WRONGCODE")
        page.goto(f"{base}/console/regulator/leads")
        assert page.locator("tr.lead").count() >= 1
        _shot(page, artifacts_dir, "regulator-leads-zh")
        page.click("#nav-audit")
        page.click("#verify-chain")
        assert page.locator("#chain-ok").is_visible()
        _shot(page, artifacts_dir, "regulator-audit-zh")
        # The regulator cannot issue: the office pages are not theirs.
        assert page.goto(f"{base}/console/office/drafts/new?matter=birth").status == 403
    context.close()


def test_an_office_administrator_adds_a_notary_who_then_signs_in(browser, runtime_factory, artifacts_dir):
    from console import totp

    port = free_port()
    rt = runtime_factory(public_base_url=f"http://127.0.0.1:{port}", feed_allow_insecure_receivers=True)
    admin = make_person(rt, "liming", Role.OFFICE_ADMIN, name="李明")
    context = browser.new_context(viewport=DESK)
    page = context.new_page()
    # The feed page shows a receiver that takes the office's events and one that is away.
    platform, away = LoopbackReceiver(204), LoopbackReceiver(503)
    for name, receiver in (("一网通办", platform), ("档案馆", away)):
        add_receiver(rt.engine, rt.feed_config.sealing_key, name=name, url=receiver.url, actor="test",
                     office_code=rt.office.code, allow_insecure=True)
    issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    feed = rt.feed_worker()
    run_until_idle(feed, 10)
    feed.close()
    away.close()
    with LiveServer(create_app(rt), port) as server:
        base = server.url
        _sign_in(page, base, admin)
        page.click("#nav-admin")
        _shot(page, artifacts_dir, "admin-home-zh")
        page.click("#admin-staff")
        page.fill("#u-username", "chenjing")
        page.fill("#u-name", "陈静")
        page.click("#create-user")
        # Accounts are a powerful action: a fresh code first, then back to the page.
        assert "/console/confirm" in page.url
        _shot(page, artifacts_dir, "confirm-zh")
        page.fill("#confirm-code", admin.code())
        page.click("#confirm")
        assert page.url.endswith("/console/office/admin/staff")
        page.fill("#u-username", "chenjing")
        page.fill("#u-name", "陈静")
        page.click("#create-user")
        password = page.locator("#made-password").inner_text()
        secret = page.locator("#made-totp").inner_text()
        assert page.locator("#totp-qr").is_visible()
        _shot(page, artifacts_dir, "admin-staff-created-zh")
        page.goto(f"{base}/console/office/admin")
        page.click("#admin-feed")
        assert page.locator("tr.delivery[data-state='delivered']").count() == 1
        assert page.locator("tr.delivery[data-state='pending']").count() == 1  # 503: to be retried
        _shot(page, artifacts_dir, "admin-feed-zh")
        for name in ("credentials", "anchoring", "audit", "key"):
            page.goto(f"{base}/console/office/admin/{name}")
            _shot(page, artifacts_dir, f"admin-{name}-zh")
        assert page.locator("#on-ledger").get_attribute("data-state") == "registered"  # the last page: the key

        # The new notary: the temporary password must be changed at the first sign-in.
        other = browser.new_context(viewport=PHONE)
        them = other.new_page()
        them.goto(f"{base}/console/signin")
        them.fill("#username", "chenjing")
        them.fill("#password", password)
        them.fill("#code", totp.code_now(secret))
        them.click("#signin")
        assert them.url.endswith("/console/password") and them.locator("#must-change").is_visible()
        _shot(them, artifacts_dir, "password-change-zh")
        them.fill("#current", password)
        them.fill("#new", "Chen-Jing-Own-Secret-7")
        them.fill("#again", "Chen-Jing-Own-Secret-7")
        them.click("#change-password")
        assert them.url.endswith("/console/office")
        them.goto(f"{base}/console/account")
        _shot(them, artifacts_dir, "account-zh")
        them.click("#signout-everywhere")
        assert "/console/signin" in them.url
        other.close()
    context.close()
    platform.close()
