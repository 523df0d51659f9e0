"""Issue #15: lookups by id, fingerprint and number answer from the database and the ledger
mirror, name the mirror's block, and never pass on a mirror that is behind; the document
checks of a stored PDF are made once and kept. Real anvil, real databases, the real app."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from anchoring.errors import MirrorRaced
from anchoring.follower import Follower
from anchoring.models import LedgerEvent
from anchoring.status import anchor_status
from issuer.lifecycle import RevocationReason, correct_certificate, revoke_certificate
from issuer.service import issue_certificate
from keys.crl import revoke_serial
from notary.app import create_app
from records.matters import EXAMPLES
from verifier import document_facts, service
from verifier.models import DocumentCheck
from verifier.report import Indication
from verifier.service import verify_digest, verify_pdf

ZERO = b"\x00" * 32


def _anchored(rt, count: int = 1):
    issued = [issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"]) for _ in range(count)]
    assert rt.worker().run_once(force=True) == count  # and catches the mirror up
    return issued


def _receipt(rt, certificate_id):
    with Session(rt.engine) as s:
        return anchor_status(s, certificate_id).receipt


def _codes(report) -> dict[str, str]:
    return {c.name: c.code for c in report.checks}


class NodeCalls:
    """Counts every request this runtime's registry client sends to the node."""

    def __init__(self, rt, monkeypatch):
        self.count = 0
        provider = rt.registry.w3.provider
        real = provider.make_request

        def counted(method, params):
            self.count += 1
            return real(method, params)

        monkeypatch.setattr(provider, "make_request", counted)
        real_call = rt.registry._raw.call

        def counted_call(*args, **kwargs):
            self.count += 1
            return real_call(*args, **kwargs)

        monkeypatch.setattr(rt.registry._raw, "call", counted_call)


def test_the_mirror_answers_as_the_node_does(runtime):
    """For each certificate (open, revoked, corrected, its successor), an unknown key and
    roots of nobody: the mirror's evidence equals the node's at the same block."""
    rt = runtime
    issued = _anchored(rt, 3)
    revoke_certificate(rt.engine, issued[0].id, RevocationReason.ISSUED_IN_ERROR)
    successor = correct_certificate(rt.issuer_context(), issued[1].id, {**EXAMPLES["birth"], "birth_place": "上海市静安区"})
    rt.worker().run_once(force=True)
    rt.worker().run_once(force=True)  # the supersession, once the successor is anchored
    rt.follower().catch_up()
    state = rt.mirror.state()
    assert state is not None and state.current and state.block_number == rt.registry.block_number()
    cases = []
    for cert_id in [c.id for c in issued] + [successor.id]:
        r = _receipt(rt, cert_id)
        cases.append((rt.signer.fingerprint, bytes.fromhex(r.root), bytes.fromhex(r.leaf_hash)))
    cases += [(rt.signer.fingerprint, ZERO, ZERO), (b"\x01" * 32, bytes.fromhex(r.root), bytes.fromhex(r.leaf_hash)),
              (rt.signer.fingerprint, b"\x02" * 32, b"\x03" * 32)]
    for fingerprint, root, leaf in cases:
        assert rt.mirror.evidence(state, fingerprint, root, leaf) == rt.registry.evidence(fingerprint, root, leaf)
    closed = [rt.mirror.evidence(state, *cases[i]).leaf.reason for i in range(4)]
    assert closed == [int(RevocationReason.ISSUED_IN_ERROR), 255, 0, 0]


def test_lookups_read_no_ledger_node(sqlite_runtime, monkeypatch):
    """Status, fingerprint, id and number lookups of an anchored certificate send nothing
    to the node; the report says which block of the mirror it read."""
    rt = sqlite_runtime
    (issued,) = _anchored(rt)
    client = TestClient(create_app(rt))
    assert client.post("/api/v1/verify/hash", json={"sha256": issued.document_sha256}).json()["indication"] == "PASSED"
    rt.mirror.refresh_after_seconds = 3600  # no follower step of its own during the count
    block = rt.mirror.state().block_number
    calls = NodeCalls(rt, monkeypatch)
    by_hash = client.post("/api/v1/verify/hash", json={"sha256": issued.document_sha256}).json()
    status = client.get(f"/api/v1/certificates/{issued.id}/status").json()
    qr = urlsplit(issued.verify_url)
    page = client.get(f"{qr.path}?{qr.query}")
    by_number = client.post("/api/v1/verify/number", json={"number": issued.number,
                                                          "access_code": issued.access_code}).json()
    assert calls.count == 0
    assert by_hash["indication"] == "PASSED" and by_hash["ledger_source"] == "mirror"
    assert by_hash["ledger_block"] == block and by_hash["anchor_block_number"] <= block
    assert status["ledger"] == {"source": "mirror", "block_number": block, "current": True, "anchored": True}
    assert 'data-indication="PASSED"' in page.text
    assert by_number["report"]["indication"] == "PASSED" and by_number["report"]["ledger_block"] == block
    # An upload is the full check: it reads the node.
    upload = client.post("/api/v1/verify", files={"file": ("c.pdf", issued.pdf, "application/pdf")}).json()
    assert calls.count > 0 and upload["indication"] == "PASSED" and upload["ledger_source"] == "node"


def test_a_mirror_left_behind_never_passes(sqlite_runtime):
    """A follower that has stopped (no word for longer than allowed), or one that is more
    blocks behind the node than allowed: INDETERMINATE with LEDGER_STALE, never PASSED. A
    revocation this service holds still fails the certificate at once."""
    rt = sqlite_runtime
    kept, revoked = _anchored(rt, 2)
    revoke_certificate(rt.engine, revoked.id, RevocationReason.ISSUED_IN_ERROR)
    ctx = rt.verifier_context()
    assert verify_digest(ctx, kept.document_sha256).indication is Indication.PASSED

    rt.mirror.refresh = None  # no follower at all now
    rt.mirror.max_age_seconds = 0.5
    time.sleep(1.0)
    stale = verify_digest(ctx, kept.document_sha256)
    assert stale.indication is Indication.INDETERMINATE
    codes = _codes(stale)
    assert codes["office_binding"] == codes["anchor_inclusion"] == codes["status"] == "LEDGER_STALE"
    assert "last updated" in stale.check("status").details["why"]
    assert codes["document_integrity"] == "SIGNATURE_INTACT"
    gone = verify_digest(ctx, revoked.document_sha256)
    assert gone.indication is Indication.FAILED and _codes(gone)["status"] == "REVOKED"

    # Fresh by time, but far behind: the node has mined blocks the follower has not read.
    rt.mirror.max_age_seconds = 30
    rt.registry.w3.provider.make_request("anvil_mine", [rt.settings.mirror_max_lag_blocks + 5])
    slow = Follower(rt.engine, rt.registry, batch_blocks=1, moved=rt.mirror.forget)
    position = slow.step()
    assert position.behind > rt.settings.mirror_max_lag_blocks
    behind = verify_digest(ctx, kept.document_sha256)
    assert behind.indication is Indication.INDETERMINATE and _codes(behind)["anchor_inclusion"] == "LEDGER_STALE"
    assert "blocks behind" in behind.check("anchor_inclusion").details["why"]
    slow.catch_up()
    assert verify_digest(ctx, kept.document_sha256).indication is Indication.PASSED


def test_a_server_with_no_follower_keeps_its_mirror_current(sqlite_runtime):
    """No follower runs: a lookup finds the mirror quiet and steps it itself (at most once
    every few seconds), so a change on the ledger reaches lookups without anyone's help."""
    rt = sqlite_runtime
    (issued,) = _anchored(rt)
    ctx = rt.verifier_context()
    rt.mirror.refresh_after_seconds = 0.2
    r = _receipt(rt, issued.id)
    # The office's account revokes the leaf on the ledger directly (another installation of
    # the office, say): this database still says "issued".
    rt.registry.transact(rt.accounts.anchor, "revokeLeaf", bytes.fromhex(r.root), bytes.fromhex(r.leaf_hash),
                         r.leaf_index, [bytes.fromhex(p) for p in r.audit_path], 4)
    time.sleep(1.0)
    report = verify_digest(ctx, issued.document_sha256)
    assert report.indication is Indication.FAILED and _codes(report)["status"] == "REVOKED"
    assert report.revocation.reason_code == 4 and report.revocation.ledger_block == report.ledger_block
    status = TestClient(create_app(rt)).get(f"/api/v1/certificates/{issued.id}/status").json()
    assert status["revocation"]["kind"] == "revoked" and status["revocation"]["reason_code"] == 4


def test_a_key_retired_on_the_ledger_reaches_lookups_at_the_mirrors_block(sqlite_runtime):
    """The registry's administrator retires the office key with effect before the signature:
    a lookup reads it once the mirror has the block that recorded it, and the report names
    the block it read."""
    rt = sqlite_runtime
    (issued,) = _anchored(rt)
    ctx = rt.verifier_context()
    rt.mirror.refresh_after_seconds = 3600
    before = verify_digest(ctx, issued.document_sha256)
    assert before.indication is Indication.PASSED
    rt.registry.transact(rt.accounts.admin, "revokeSigningKey", rt.signer.fingerprint, int(time.time()) - 3600)
    assert verify_digest(ctx, issued.document_sha256).ledger_block == before.ledger_block  # not read yet
    rt.follower().catch_up()
    after = verify_digest(ctx, issued.document_sha256)
    assert after.ledger_block > before.ledger_block
    assert after.indication is Indication.FAILED and _codes(after)["office_binding"] == "OFFICE_KEY_REVOKED"
    assert verify_pdf(ctx, issued.pdf).check("office_binding").code == "OFFICE_KEY_REVOKED"  # the node agrees


def test_document_checks_are_made_once_and_again_when_trust_changes(sqlite_runtime, monkeypatch):
    rt = sqlite_runtime
    (issued,) = _anchored(rt)
    ctx = rt.verifier_context()
    analysed = []
    real = service.analyse
    monkeypatch.setattr(service, "analyse", lambda c, data: analysed.append(1) or real(c, data))
    for _ in range(3):
        assert verify_digest(ctx, issued.document_sha256).indication is Indication.PASSED
    assert len(analysed) == 1
    with Session(rt.engine) as s:
        kept = s.get(DocumentCheck, issued.id)
    assert kept is not None and kept.signer_fingerprint == rt.signer.fingerprint.hex()

    # The office CA revokes the office's signing certificate: the basis changes, and the
    # stored PDF is checked again under the new list.
    monkeypatch.setattr(document_facts, "BASIS_SECONDS", 0.0)
    revoke_serial(rt.pki_dir, rt.passphrase, rt.signer.certificate.serial_number)
    report = verify_digest(ctx, issued.document_sha256)
    assert len(analysed) == 2
    assert report.indication is Indication.FAILED and _codes(report)["signer_trust"] == "SIGNER_REVOKED"
    verify_digest(ctx, issued.document_sha256)
    assert len(analysed) == 2  # kept again, under the new basis


def test_followers_at_once_store_each_event_once(runtime):
    """Two followers (a `notary follower` and a server stepping its own mirror) race over the
    same blocks: every event is stored once, on SQLite and PostgreSQL."""
    rt = runtime
    _anchored(rt, 2)
    followers = [Follower(rt.engine, rt.registry, batch_blocks=2) for _ in range(3)]
    errors: list[BaseException] = []

    def run(f: Follower) -> None:
        try:
            for _ in range(200):
                try:
                    if f.catch_up().behind == 0:
                        return
                except MirrorRaced:
                    continue  # the other one stored those blocks: go on from there
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in followers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    head = rt.registry.block_number()
    with Session(rt.engine) as s:
        stored = s.exec(select(func.count()).select_from(LedgerEvent)).one()
    assert stored == len(rt.registry.logs(0, head))


def test_readiness_covers_the_mirror(sqlite_runtime):
    rt = sqlite_runtime
    _anchored(rt)
    client = TestClient(create_app(rt))
    assert client.get("/readyz").json()["checks"]["ledger_mirror"] == "ok"
    rt.mirror.refresh = None
    rt.mirror.max_age_seconds = 0.2
    time.sleep(0.5)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "last updated" in ready.json()["checks"]["ledger_mirror"]


def test_a_key_the_mirror_has_not_read_yet_is_not_a_forgery(sqlite_runtime):
    """The office rotates its key and issues at once; the mirror has not yet read the new
    key's registration. A lookup must not call the genuine certificate FAILED (office key
    unknown): it is INDETERMINATE until the mirror has read that far, then PASSED."""
    from notary.runtime import rotate_office_key

    rt = sqlite_runtime
    _anchored(rt)
    rt.mirror.refresh = None  # no stepping of its own
    rotate_office_key(rt)
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    quiet = rt.worker()
    quiet.on_ledger_change = None
    assert quiet.run_once(force=True) == 1
    rt.mirror.forget()
    report = verify_digest(rt.verifier_context(), issued.document_sha256)
    assert report.indication is Indication.INDETERMINATE, _codes(report)
    assert _codes(report)["office_binding"] == "LEDGER_STALE"
    assert "signing key" in report.check("office_binding").details["why"]
    rt.follower().catch_up()
    assert verify_digest(rt.verifier_context(), issued.document_sha256).indication is Indication.PASSED


def test_a_process_whose_first_work_is_a_lookup_reads_its_records(sqlite_runtime):
    """An API process of `serve --workers N` may answer a lookup before it has used the ORM
    at all: the records a lookup builds must still read (they once raised AttributeError,
    a 500, in such a process)."""
    import subprocess
    import sys

    rt = sqlite_runtime
    (issued,) = _anchored(rt)
    code = ("import sys, uuid\n"
            "from notary.database import make_engine\n"
            "from verifier.stored import load_one\n"
            "stored = load_one(make_engine(sys.argv[1]), certificate_id=uuid.UUID(sys.argv[2]))\n"
            "print(stored.cert.number, stored.anchor.state, stored.kept_check is None)\n")
    out = subprocess.run([sys.executable, "-c", code, rt.settings.sqlalchemy_url, str(issued.id)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [issued.number, "confirmed", "True"]
