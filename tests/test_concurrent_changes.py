"""Issue #12: things that happen at once.

1. Two changes of status on one certificate (revoke + correct, two corrections, two
   revocations) started together: exactly one wins; the other is refused with a 409
   (CERTIFICATE_ALREADY_CLOSED) and leaves nothing behind (no orphan successor, no second
   ledger action, no gap in the numbers). On SQLite and on PostgreSQL.
2. Several processes starting on one empty data directory: one passphrase, one QR key, one
   development PKI; no empty or half-written file; every process opens the signing key.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from anchoring.models import LeafAction, OutboxEntry
from issuer import lifecycle
from records.audit import AuditEvent, verify_chain
from issuer.auth import Role, create_token
from issuer.errors import CertificateAlreadyClosed, InvalidTransition
from issuer.lifecycle import RevocationReason, correct_certificate, revoke_certificate
from records.matters import EXAMPLES
from records.models import Certificate, CertificateStatus
from issuer.models import CertificateCounter
from issuer.service import issue_certificate
from notary.app import create_app
from notary.runtime import open_runtime
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 3
CORRECTED = {**EXAMPLES["birth"], "birth_place": "上海市静安区"}


# --- 1. revoke / correct at once ---------------------------------------------------------

@pytest.fixture
def rt(tmp_path, database_url):
    """A runtime without the chain (not needed to change a certificate's status), on SQLite
    and on PostgreSQL; B-B keeps signing quick."""
    runtime = open_runtime(make_settings(tmp_path / "node", None, database_url, signature_level="B-B"), chain=False)
    yield runtime
    runtime.close()


def _slowed(fn, seconds=0.3):
    """``fn`` after a pause: called once a change has read the certificate and before it
    commits, it holds the race open so that, without a lock, both changes read 'issued'."""
    def slow(*args, **kwargs):
        time.sleep(seconds)
        return fn(*args, **kwargs)
    return slow


def _race(rt, ops: tuple[str, str], certificate_id):
    ctx = rt.issuer_context()
    run = {
        "revoke": lambda: revoke_certificate(rt.engine, certificate_id, RevocationReason.ISSUED_IN_ERROR, "race"),
        "correct": lambda: correct_certificate(ctx, certificate_id, CORRECTED),
    }
    barrier = threading.Barrier(len(ops))
    outcomes: list[tuple[str, str, object] | None] = [None] * len(ops)

    def worker(i: int, op: str) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[i] = (op, "ok", run[op]())
        except Exception as exc:  # noqa: BLE001 - the loser's error is what is checked
            outcomes[i] = (op, "error", exc)

    threads = [threading.Thread(target=worker, args=(i, op)) for i, op in enumerate(ops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a change hung"
    return outcomes


@pytest.mark.parametrize("ops", [("revoke", "correct"), ("correct", "correct"), ("revoke", "revoke")],
                         ids=lambda ops: "+".join(ops))
def test_two_changes_at_once_exactly_one_wins(rt, ops, monkeypatch):
    # Widen the window between reading the status and committing the change.
    monkeypatch.setattr(lifecycle, "enqueue_revocation", _slowed(lifecycle.enqueue_revocation))
    monkeypatch.setattr(lifecycle, "enqueue_supersession", _slowed(lifecycle.enqueue_supersession))
    ctx = rt.issuer_context()
    for _ in range(ROUNDS):
        old = issue_certificate(ctx, "birth", EXAMPLES["birth"])
        outcomes = _race(rt, ops, old.id)
        winners = [o for o in outcomes if o[1] == "ok"]
        losers = [o for o in outcomes if o[1] == "error"]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        error = losers[0][2]
        assert isinstance(error, CertificateAlreadyClosed), repr(error)
        assert isinstance(error, InvalidTransition)  # callers catching the older class still do
        assert error.http_status == 409 and error.code == "CERTIFICATE_ALREADY_CLOSED"
        assert error.message and error.message_zh and error.message != error.message_zh
        won, _, result = winners[0]

        with Session(rt.engine) as s:
            cert = s.get(Certificate, old.id)
            successors = s.exec(select(Certificate).where(Certificate.supersedes == old.id)).all()
            actions = s.exec(select(LeafAction).where(LeafAction.certificate_id == old.id)).all()
            changes = [e for e in s.exec(select(AuditEvent)).all()
                       if (e.action == "revoke" and e.target == str(old.id))
                       or (e.action == "correct" and json.loads(e.details).get("supersedes") == str(old.id))]
        assert len(actions) == 1 and len(changes) == 1
        if won == "revoke":
            assert cert.status == CertificateStatus.REVOKED and cert.superseded_by is None
            assert successors == [] and actions[0].reason == RevocationReason.ISSUED_IN_ERROR
            assert changes[0].action == "revoke"
        else:
            assert cert.status == CertificateStatus.SUPERSEDED and cert.superseded_by == result.id
            assert [c.id for c in successors] == [result.id]
            assert actions[0].reason == 255 and changes[0].action == "correct"

    # Numbers gap-free, no certificate without its outbox row, the audit chain intact.
    with Session(rt.engine) as s:
        certs = s.exec(select(Certificate)).all()
        counters = s.exec(select(CertificateCounter)).all()
        outbox = s.exec(select(OutboxEntry)).all()
    assert sorted(c.serial for c in certs) == list(range(1, len(certs) + 1))
    assert [c.last_serial for c in counters] == [len(certs)]
    assert {e.certificate_id for e in outbox} == {c.id for c in certs}
    assert verify_chain(rt.engine) is None


def test_the_api_answers_409_with_the_stable_code(rt):
    token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
    headers = {"Authorization": f"Bearer {token}"}
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    cid = client.post("/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                      headers=headers).json()["id"]
    assert client.post(f"/api/v1/certificates/{cid}/revoke", json={"reason": 1}, headers=headers).status_code == 200
    for path, body in ((f"/api/v1/certificates/{cid}/revoke", {"reason": 1}),
                       (f"/api/v1/certificates/{cid}/correct", {"data": CORRECTED})):
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert error["code"] == "CERTIFICATE_ALREADY_CLOSED"
        assert "revoked" in error["message"] and "撤销" in error["message_zh"]


# --- 2. first starts at once --------------------------------------------------------------

# One process of a first start: waits for the signal, opens the runtime (creating secrets
# and the PKI if nobody has yet), opens every key with the passphrase and reports what it
# saw. Writers are slowed down (os.fdopen) and so is making a CA, so that without a lock
# the processes overlap: a half-written file would be read, a second PKI made.
CHILD = r"""
import hashlib, json, os, sys, time
from pathlib import Path

data, ready, go, log = (Path(a) for a in sys.argv[1:5])

import keys.devpki as devpki
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from notary.runtime import open_runtime
from notary.settings import Settings

_fdopen, _make_ca = os.fdopen, devpki.make_ca

def slow_fdopen(*a, **k):
    time.sleep(0.05)
    return _fdopen(*a, **k)

def counted_make_ca(*a, **k):
    if k.get("issuer_cert") is None:  # a new root: a new PKI
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
    time.sleep(0.2)
    return _make_ca(*a, **k)

os.fdopen, devpki.make_ca = slow_fdopen, counted_make_ca

ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.001)

settings = Settings(data_dir=data, database_url=None, rpc_url=None, key_passphrase=None, signature_level="B-B")
rt = open_runtime(settings, chain=False)
try:
    root = x509.load_pem_x509_certificate((rt.pki_dir / "notarial-root-ca.pem").read_bytes())
    signer = rt.signer  # the office key, opened with the passphrase
    _key, cert, chain = pkcs12.load_key_and_certificates((rt.pki_dir / "office-signing.p12").read_bytes(),
                                                         rt.passphrase)
    cert.verify_directly_issued_by(chain[0])
    chain[0].verify_directly_issued_by(root)
    rt.dev_tsa  # the TSA's key, made on first use
    report_signer = rt.report_signer  # likewise the verification service's key
    sha = lambda b: hashlib.sha256(b).hexdigest()
    print(json.dumps({
        "passphrase": sha(rt.passphrase), "passphrase_length": len(rt.passphrase), "qr_key": sha(rt.qr_key),
        "root": sha(root.public_bytes(Encoding.DER)),
        "signer": signer.fingerprint.hex(), "report_signer": report_signer.fingerprint.hex(),
        "tsa": sha((rt.pki_dir / "tsa.p12").read_bytes()),
    }))
finally:
    rt.close()
"""

SECRETS = {"key-passphrase", "qr-key"}
PKI = {"notarial-root-ca.pem", "notarial-root-ca.key.pem", "office-ca.pem", "office-ca.key.pem",
       "office-signing.p12", "tsa.p12", "verification-service.p12"}
PRIVATE = SECRETS | {"notarial-root-ca.key.pem", "office-ca.key.pem", "office-signing.p12", "tsa.p12",
                     "verification-service.p12"}


def _start_together(tmp_path: Path, data: Path, n: int) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    env["PYTHONPATH"] = str(REPO)
    go, log = tmp_path / "go", tmp_path / "roots.log"
    ready = [tmp_path / f"ready-{i}" for i in range(n)]
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(data), str(r), str(go), str(log)], cwd=REPO,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in ready]
    try:
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready):  # every process has imported everything
            assert time.monotonic() < deadline, "the processes did not get ready"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
            time.sleep(0.01)
        go.touch()
        results = [p.communicate(timeout=180) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    made = log.read_text().split() if log.exists() else []
    assert len(made) == 1, f"{len(made)} development PKIs made by {made}"
    return reports


@pytest.mark.parametrize("round_", range(2))
def test_first_starts_at_once_make_one_pki(tmp_path, round_):
    data = tmp_path / "data"
    reports = _start_together(tmp_path, data, 3)
    assert reports[0]["passphrase_length"] > 0
    for key in reports[0]:
        assert len({r[key] for r in reports}) == 1, (key, reports)

    # On disk: complete files, one PKI that chains, private material 0600, nothing left over.
    secrets_dir, pki = data / "secrets", data / "pki"
    for directory, expected in ((secrets_dir, SECRETS), (pki, PKI)):
        names = {p.name for p in directory.iterdir() if not p.name.endswith(".lock")}
        assert names == expected, names ^ expected
        for name in expected:
            path = directory / name
            assert path.stat().st_size > 0, name
            if name in PRIVATE:
                assert path.stat().st_mode & 0o777 == 0o600, name
    passphrase = (secrets_dir / "key-passphrase").read_bytes().strip()
    assert hashlib.sha256(passphrase).hexdigest() == reports[0]["passphrase"]
    root = x509.load_pem_x509_certificate((pki / "notarial-root-ca.pem").read_bytes())
    office_ca = x509.load_pem_x509_certificate((pki / "office-ca.pem").read_bytes())
    office_ca.verify_directly_issued_by(root)
    for name in ("notarial-root-ca.key.pem", "office-ca.key.pem"):
        serialization.load_pem_private_key((pki / name).read_bytes(), passphrase)
    _key, signer, chain = pkcs12.load_key_and_certificates((pki / "office-signing.p12").read_bytes(), passphrase)
    signer.verify_directly_issued_by(office_ca)
    assert chain[0] == office_ca
    for name in ("tsa.p12", "verification-service.p12"):
        _key, cert, _ = pkcs12.load_key_and_certificates((pki / name).read_bytes(), passphrase)
        cert.verify_directly_issued_by(root)
