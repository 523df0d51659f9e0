"""Issue #16: forgery leads, from the attacker's side. Whoever uploads an altered
certificate, one signed with their own key or one never issued, or looks up a QR code,
number or fingerprint that leads nowhere, leaves a lead for the regulator (its time, route,
API key, claimed number and office, the file's hash and never the file); a genuine,
pending, revoked or mistyped lookup leaves none; and a flood of made-up lookups can fill
neither the table nor the lookups' time."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from issuer.lifecycle import revoke_certificate
from issuer.render import CertificatePage, render_certificate
from issuer.service import issue_certificate
from keys.devpki import OfficeIdentity, ensure_dev_pki
from keys.store import load_pkcs12_signer
from notary.app import create_app
from records.check_codes import check_code
from records.matters import EXAMPLES, parse_matter
from records.models import CertificateStatus
from records.revocation import RevocationReason
from signing.pades import sign_pdf
from tests import forgeries
from tests.pdf_tools import flip_byte_in_signed_range
from verifier import leads
from verifier.apikeys import create_api_key
from verifier.messages import MESSAGES
from verifier.models import ForgeryLead
from verifier.checks import local_status_check
from verifier.report import Check, CheckName, CheckStatus, Indication, Report, finish

INVALID, VALID = CheckStatus.INVALID, CheckStatus.VALID


@pytest.fixture(autouse=True)
def own_budget(monkeypatch):
    """A full budget for each test: what other tests in this process noted is theirs."""
    leads.wait_for_pending()
    monkeypatch.setattr(leads, "budget", leads.Budget())


@pytest.fixture
def env(runtime):
    """A genuine, anchored certificate and the public app, on SQLite and on PostgreSQL."""
    issued = issue_certificate(runtime.issuer_context(), "birth", EXAMPLES["birth"])
    runtime.worker().run_once(force=True)
    return runtime, issued, TestClient(create_app(runtime), raise_server_exceptions=False)


def recorded(rt) -> list[ForgeryLead]:
    """Every lead, oldest first, once the lead writer has written what was noted."""
    assert leads.wait_for_pending()
    rows, total = leads.list_leads(rt.engine, limit=500)
    assert len(rows) == total
    return rows[::-1]


def upload(client, data: bytes):
    return client.post("/api/v1/verify", files={"file": ("c.pdf", data, "application/pdf")})


def qr_path(issued) -> str:
    return issued.verify_url.split("8000", 1)[1]


def sample(route: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("notary_forgery_leads_total", {"route": route, "outcome": outcome}) or 0.0


def made_up_page(rt, number: str = "(2026)沪东证字第999999号") -> bytes:
    """A certificate page, laid out as the office lays it out, never issued."""
    matter = parse_matter("birth", EXAMPLES["birth"])
    return render_certificate(CertificatePage(uuid.uuid4(), number, rt.office.name, dt.date.today(), matter,
                                              "http://127.0.0.1:8000/v/x?c=ABCDEF", "ABCDEF"), rt.settings.cjk_font)


# ------------------------------------------------------------------ what a lead is

def _report(*checks: tuple[CheckName, CheckStatus, str]) -> Report:
    def made(name: CheckName, status: CheckStatus, code: str) -> Check:
        if code in ("REVOKED", "SUPERSEDED"):  # with when and why, as the status check says it
            made = local_status_check(CertificateStatus(code.lower()), reason=1)
            assert made is not None
            return made
        return Check.of(name, status, code)

    return finish(Report(indication=Indication.INDETERMINATE, checks=[]), [made(*c) for c in checks])


def test_every_lead_code_is_a_real_check_code():
    assert leads.LEAD_CODES <= set(MESSAGES)


@pytest.mark.parametrize("code, name", [
    ("SIGNATURE_BROKEN", CheckName.DOCUMENT_INTEGRITY), ("MODIFIED_AFTER_SIGNING", CheckName.DOCUMENT_INTEGRITY),
    ("COVERAGE_INCOMPLETE", CheckName.DOCUMENT_INTEGRITY), ("SIGNER_UNTRUSTED", CheckName.SIGNER_TRUST),
    ("OFFICE_KEY_UNKNOWN", CheckName.OFFICE_BINDING), ("OFFICE_KEY_REGISTERED_LATER", CheckName.OFFICE_BINDING),
    ("ANCHOR_NOT_FOUND", CheckName.ANCHOR_INCLUSION), ("ANCHOR_OTHER_OFFICE", CheckName.ANCHOR_INCLUSION),
])
def test_a_document_forged_unknown_or_unanchored_is_a_lead(code, name):
    report = _report((name, INVALID, code))
    assert report.indication is Indication.FAILED
    assert leads.lead_reason(report) == code and leads.is_lead(report)


@pytest.mark.parametrize("code, name", [
    ("REVOKED", CheckName.STATUS), ("SUPERSEDED", CheckName.STATUS), ("OFFICE_SUSPENDED", CheckName.OFFICE_BINDING),
    ("SIGNER_REVOKED", CheckName.SIGNER_TRUST), ("TIMESTAMP_INVALID", CheckName.TIMESTAMP),
    ("NOT_A_CERTIFICATE", CheckName.REPORT_ISSUER),
])
def test_an_office_s_own_decision_is_no_lead(code, name):
    report = _report((name, INVALID, code))
    assert report.indication is Indication.FAILED and leads.lead_reason(report) is None


def test_the_reason_is_the_first_forgery_check_and_only_a_failed_report_counts():
    both = _report((CheckName.DOCUMENT_INTEGRITY, INVALID, "MODIFIED_AFTER_SIGNING"), (CheckName.STATUS, INVALID, "REVOKED"),
                   (CheckName.ANCHOR_INCLUSION, INVALID, "ANCHOR_NOT_FOUND"))
    assert leads.lead_reason(both) == "MODIFIED_AFTER_SIGNING"  # a revoked certificate, altered, still is one
    # Re-anchoring under way (SKIPPED) is no lead, whatever its code.
    pending = _report((CheckName.DOCUMENT_INTEGRITY, VALID, "SIGNATURE_INTACT"),
                      (CheckName.ANCHOR_INCLUSION, CheckStatus.SKIPPED, "ANCHOR_NOT_ON_CHAIN"))
    assert pending.indication is Indication.INDETERMINATE and not leads.is_lead(pending)


def test_a_number_claims_its_office_by_its_abbreviation():
    assert leads.number_claims("（2026）沪东证字第000123号") == (2026, "沪东")
    assert leads.number_claims(" (2025) 京西证字第1号") == (2025, "京西")
    for junk in ("FAKE-12345", "(2026)沪东第000123号", "(26)沪东证字第1号", "证字第1号"):
        assert leads.number_claims(junk) is None


# ------------------------------------------------------------------ uploads

def test_an_altered_certificate_is_recorded_by_its_hash_and_claimed_office_never_its_bytes(env):
    rt, issued, client = env
    ctx = forgeries.make_context(office_name=rt.office.name, name=EXAMPLES["birth"]["applicant_name"],
                                 replacement=EXAMPLES["birth"]["mother_name"][0])
    appended = next(f for f in forgeries.FORGERIES if f.name == "isa_content_stream_added").build(issued.pdf, ctx)
    flipped = flip_byte_in_signed_range(issued.pdf)
    r = upload(client, appended)
    assert r.status_code == 200 and r.json()["indication"] == "FAILED"
    # Through the page as well (post/redirect/get): the same lead, route upload.
    page = client.post("/verify/upload", files={"file": ("c.pdf", flipped, "application/pdf")}, follow_redirects=False)
    assert page.status_code == 303
    # The report PDF of an upload is an upload too.
    assert client.post("/api/v1/verify/report.pdf", files={"file": ("c.pdf", flipped, "application/pdf")}).status_code == 200

    first, second, third = recorded(rt)
    assert (first.route, first.reason) == ("upload", "MODIFIED_AFTER_SIGNING")
    assert first.document_sha256 == hashlib.sha256(appended).hexdigest()
    # Its signed revision is the genuine certificate: the lead names which one was altered.
    assert first.certificate_id == issued.id and first.claimed_office == rt.office.name
    assert first.api_key_id is None and first.claimed_number is None
    assert (second.route, second.reason, third.reason) == ("upload", "SIGNATURE_BROKEN", "SIGNATURE_BROKEN")
    assert second.document_sha256 == hashlib.sha256(flipped).hexdigest()
    # No file is kept: the lead's columns are short text, and the bytes the forger appended
    # are nowhere in the database.
    assert all(not isinstance(v, bytes | bytearray) for v in first.model_dump().values())
    assert sum(len(str(v)) for v in first.model_dump().values()) < 400
    if rt.engine.dialect.name == "sqlite":
        forged_part = appended[len(issued.pdf):]
        stored = b"".join(p.read_bytes() for p in Path(rt.engine.url.database).parent.glob("notary.sqlite3*"))
        assert len(forged_part) > 64 and forged_part not in stored


def test_a_certificate_signed_with_the_forger_s_own_key(env, tmp_path):
    rt, _issued, client = env
    # A look-alike PKI in the office's name, not chained to the notarial root.
    rogue = ensure_dev_pki(tmp_path / "rogue", OfficeIdentity(rt.office.name, rt.office.code), b"rogue")
    forged = sign_pdf(made_up_page(rt), load_pkcs12_signer(rogue.signer_p12, b"rogue"), rt.office.name)
    r = upload(client, forged)
    assert r.json()["indication"] == "FAILED"
    (lead,) = recorded(rt)
    assert (lead.route, lead.reason) == ("upload", "SIGNER_UNTRUSTED")
    # What the PDF claims: its signer's name, which the forger copied from the office.
    assert lead.claimed_office == rt.office.name and lead.certificate_id is None
    assert lead.document_sha256 == hashlib.sha256(forged).hexdigest()


def test_a_certificate_never_anchored_but_pending_is_no_lead(env):
    rt, _issued, client = env
    # Signed with the office's own key, but never issued: a stolen key, or an insider.
    unanchored = sign_pdf(made_up_page(rt), rt.signer, rt.office.name)
    r = upload(client, unanchored)
    checks = {c["name"]: c["code"] for c in r.json()["checks"]}
    assert r.json()["indication"] == "FAILED" and checks["office_binding"] == "OFFICE_REGISTERED"
    # A certificate issued a moment ago and waiting for its anchor is no forgery.
    fresh = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    pending = upload(client, fresh.pdf).json()
    assert pending["indication"] == "INDETERMINATE"
    (lead,) = recorded(rt)
    assert (lead.route, lead.reason) == ("upload", "ANCHOR_NOT_FOUND")
    # The ledger's office for the key it was signed with.
    assert lead.claimed_office == rt.office.name and lead.certificate_id is None


def test_genuine_and_revoked_certificates_are_no_leads(env):
    rt, issued, client = env
    assert upload(client, issued.pdf).json()["indication"] == "PASSED"
    assert 'data-indication="PASSED"' in client.get(qr_path(issued)).text
    assert client.post("/api/v1/verify/hash", json={"sha256": issued.document_sha256}).json()["indication"] == "PASSED"
    assert client.post("/api/v1/verify/number", json={"number": issued.number,
                                                      "access_code": issued.access_code}).status_code == 200
    revoke_certificate(rt.engine, issued.id, RevocationReason.ISSUED_IN_ERROR)
    revoked = upload(client, issued.pdf).json()
    assert revoked["indication"] == "FAILED" and revoked["revocation"]["kind"] == "revoked"
    assert 'data-indication="FAILED"' in client.get(qr_path(issued)).text
    # A wrong access code for a number that exists: a typo, or a guess the limits deal with.
    assert client.post("/api/v1/verify/number", json={"number": issued.number,
                                                      "access_code": "AAAA-AAAA"}).status_code == 403
    assert recorded(rt) == []


# ------------------------------------------------------------------ lookups

def test_made_up_qr_codes(env):
    rt, issued, client = env
    made_up = uuid.uuid4()
    assert client.get(f"/v/{made_up}?c={check_code(b'not-the-key', made_up)}").status_code == 404
    assert client.get("/v/not-a-uuid?c=ABCDEF").status_code == 404
    # A real certificate's id under a check code the forger invented.
    assert client.get(f"/v/{issued.id}?c=AAAAAA").status_code == 404
    assert client.get(f"/v/{made_up}/report.pdf?c=AAAAAA").status_code == 404
    assert client.post(f"/v/{made_up}?c=AAAAAA", data={"access_code": "AAAA-AAAA"}).status_code == 404
    found = recorded(rt)
    assert [(x.route, x.reason) for x in found] == [("qr", "NOT_FOUND")] * 5
    assert [x.certificate_id for x in found] == [made_up, None, issued.id, made_up, made_up]
    assert all(x.claimed_number is None and x.claimed_office is None for x in found)


def test_made_up_numbers(env):
    rt, issued, client = env
    same_office = issued.number[:issued.number.index("第") + 1] + "999999号"
    other_office = f"({dt.date.today().year})京西证字第000001号"
    for number in (same_office.replace("(", "（").replace(")", "）"), other_office, "FAKE-12345"):
        r = client.post("/api/v1/verify/number", json={"number": number, "access_code": "AAAA-AAAA"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "ACCESS_CODE_WRONG"
    page = client.post("/verify/number", data={"number": same_office, "access_code": "AAAA-AAAA"})
    assert page.status_code == 403
    found = recorded(rt)
    assert [(x.route, x.reason) for x in found] == [("number", "NOT_FOUND")] * 4
    assert [x.claimed_number for x in found] == [same_office, other_office, "FAKE-12345", same_office]
    # The office a number claims: named after the office whose numbers carry its
    # abbreviation, else the abbreviation; nothing for a number in no known style.
    assert [x.claimed_office for x in found] == [rt.office.name, "京西", None, rt.office.name]


def test_made_up_fingerprints(env):
    rt, issued, client = env
    unknown = hashlib.sha256(b"a document this registry never issued").hexdigest()
    assert client.post("/api/v1/verify/hash", json={"sha256": unknown.upper()}).json()["indication"] == "FAILED"
    assert 'data-indication="FAILED"' in client.get(f"/verify/hash?sha256={unknown}").text
    assert client.get(f"/verify/hash?sha256={issued.document_sha256}").status_code == 200
    found = recorded(rt)
    assert [(x.route, x.reason, x.document_sha256) for x in found] == [("fingerprint", "NOT_FOUND", unknown)] * 2


def test_the_batch_api_records_the_registry_s_key(env):
    rt, issued, client = env
    row, key = create_api_key(rt.engine, "上海市不动产登记局")
    made_up_id, made_up_sha = uuid.uuid4(), hashlib.sha256(b"forged").hexdigest()
    made_up_number = issued.number[:issued.number.index("第") + 1] + "888888号"
    items = [{"id": str(issued.id)}, {"id": str(made_up_id)}, {"sha256": made_up_sha},
             {"number": made_up_number, "access_code": "AAAA-AAAA"},
             {"number": issued.number, "access_code": "AAAA-AAAA"}]
    r = client.post("/api/v1/verify/batch", json={"items": items}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    assert [x["indication"] for x in r.json()["results"]] == ["PASSED", "FAILED", "FAILED", "ERROR", "ERROR"]
    found = recorded(rt)
    assert [(x.route, x.reason, x.api_key_id) for x in found] == [("batch", "NOT_FOUND", row.id)] * 3
    assert (found[0].certificate_id, found[1].document_sha256) == (made_up_id, made_up_sha)
    assert (found[2].claimed_number, found[2].claimed_office) == (made_up_number, rt.office.name)


# ------------------------------------------------------------------ hostile text, floods, outages

HOSTILE = "\x00\x1b[31m\u202eevil\u200b\ud800<script>" + "我" * 10_000


def test_hostile_claimed_text_is_stored_safely(env):
    rt, issued, client = env
    assert leads.record_lead(rt.engine, "number", "NOT_FOUND", claimed_number=HOSTILE, claimed_office=HOSTILE,
                             document_sha256="not a hash", certificate_id="not a uuid")
    # Through the number form: control and bidi characters in the number asked for.
    number = "(2026)沪\x1b[8m东\u202e证字第1号"
    assert client.post("/verify/number", data={"number": number, "access_code": "AAAA-AAAA"}).status_code == 403
    found = recorded(rt)
    lead = found[0]
    assert len(lead.claimed_office) == 80 and len(lead.claimed_number) == 64
    assert lead.claimed_office.startswith("[U+0000][U+001B][31m[U+202E]evil[U+200B][U+D800]<script>我")
    assert lead.claimed_office.endswith("…") and lead.document_sha256 is None and lead.certificate_id is None
    assert found[1].claimed_number == "(2026)沪[U+001B][8m东[U+202E]证字第1号"
    for x in found:
        for value in (x.claimed_number or "", x.claimed_office or ""):
            assert value.isprintable() and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def test_a_flood_of_made_up_lookups_writes_a_minute_s_budget_and_counts_the_rest(env, monkeypatch):
    rt, _issued, client = env
    now = [0.0]
    monkeypatch.setattr(leads, "budget", leads.Budget(5, clock=lambda: now[0]))
    before = sample("qr", "over_budget")
    for _ in range(30):
        assert client.get(f"/v/{uuid.uuid4()}?c=AAAAAA").status_code == 404
    assert len(recorded(rt)) == 5
    assert sample("qr", "over_budget") - before == 25
    now[0] += 12  # a fifth of a minute later: one more lead's worth
    for _ in range(3):
        client.get(f"/v/{uuid.uuid4()}?c=AAAAAA")
    assert len(recorded(rt)) == 6
    # The process's real budget, against a thousand leads at once.
    monkeypatch.setattr(leads, "budget", leads.Budget(clock=lambda: now[0]))
    before = sample("fingerprint", "over_budget")
    for _ in range(1000):
        leads.note_lead(rt.engine, "fingerprint", "NOT_FOUND", document_sha256="ab" * 32)
    assert leads.wait_for_pending()
    assert leads.list_leads(rt.engine, limit=1)[1] == 6 + leads.BUDGET_PER_MINUTE
    assert sample("fingerprint", "over_budget") - before == 1000 - leads.BUDGET_PER_MINUTE


def test_leads_that_cannot_be_written_never_fail_a_verification(env):
    rt, issued, client = env
    before = sample("qr", "not_written")
    nowhere = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    assert leads.record_lead(nowhere, "qr", "NOT_FOUND") is False
    with rt.engine.begin() as conn:
        conn.execute(text("DROP TABLE verifier_forgery_lead"))
    assert client.get(f"/v/{uuid.uuid4()}?c=AAAAAA").status_code == 404
    r = upload(client, flip_byte_in_signed_range(issued.pdf))
    assert r.status_code == 200 and r.json()["indication"] == "FAILED"
    assert leads.wait_for_pending()
    assert sample("qr", "not_written") - before == 2 and sample("upload", "not_written") >= 1


# ------------------------------------------------------------------ the regulator's reading

def test_listing_and_counting_by_claimed_office(env):
    rt, _issued, _client = env
    for office, reason in [("上海市东方公证处", "NOT_FOUND"), ("上海市东方公证处", "NOT_FOUND"),
                           ("上海市东方公证处", "SIGNER_UNTRUSTED"), ("京西", "NOT_FOUND"), (None, "NOT_FOUND")]:
        assert leads.record_lead(rt.engine, "upload", reason, claimed_office=office)
    time.sleep(0.01)
    middle = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.01)
    for _ in range(3):
        assert leads.record_lead(rt.engine, "qr", "NOT_FOUND")

    assert leads.counts_by_claimed_office(rt.engine) == [
        (None, "NOT_FOUND", 4), ("上海市东方公证处", "NOT_FOUND", 2), ("上海市东方公证处", "SIGNER_UNTRUSTED", 1),
        ("京西", "NOT_FOUND", 1)]
    assert leads.counts_by_claimed_office(rt.engine, until=middle) == [
        ("上海市东方公证处", "NOT_FOUND", 2), ("上海市东方公证处", "SIGNER_UNTRUSTED", 1), ("京西", "NOT_FOUND", 1),
        (None, "NOT_FOUND", 1)]
    assert leads.counts_by_claimed_office(rt.engine, since=middle) == [(None, "NOT_FOUND", 3)]

    rows, total = leads.list_leads(rt.engine, limit=2)
    assert total == 8 and [x.route for x in rows] == ["qr", "qr"]
    assert rows[0].id > rows[1].id  # newest first
    rows, total = leads.list_leads(rt.engine, office="上海市东方公证处", offset=1)
    assert total == 3 and len(rows) == 2 and {x.claimed_office for x in rows} == {"上海市东方公证处"}
    rows, total = leads.list_leads(rt.engine, since=middle)
    assert total == 3 and {x.route for x in rows} == {"qr"}
    rows, total = leads.list_leads(rt.engine, until=middle, office="京西")
    assert total == 1 and rows[0].reason == "NOT_FOUND"
    assert leads.list_leads(rt.engine, limit=10_000)[0].__len__() == 8
    with Session(rt.engine) as s:
        assert len(s.exec(select(ForgeryLead)).all()) == 8



def test_a_number_holding_a_nul_is_answered_like_any_made_up_number(env):
    """PostgreSQL refuses NUL in text it is sent: the lookup must not ask it (it answered 500)."""
    rt, issued, client = env
    for path, kwargs in (("/api/v1/verify/number", {"json": {"number": issued.number + "\x00",
                                                                "access_code": "AAAA-AAAA"}}),
                         ("/verify/number", {"data": {"number": "\x00" + issued.number, "access_code": "AAAA-AAAA"}})):
        answer = client.post(path, **kwargs)
        assert answer.status_code == 403, answer.text
    assert [x.reason for x in recorded(rt)] == ["NOT_FOUND", "NOT_FOUND"]
