"""Issue #15: the service as several processes on one PostgreSQL and one Redis: two API
processes (`notary serve --workers 2`), two anchoring workers (`notary worker`) and the
ledger follower (`notary follower`), on the test anvil. Certificates are issued and
verified through both API processes; every leaf is anchored once, numbers are gap-free,
and lookups answer from the mirror the follower keeps."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlmodel import Session, func, select

from anchoring.models import AnchorBatch, BatchState, LedgerEvent, OutboxEntry
from issuer.auth import Role, create_token
from notary.database import make_engine
from notary.settings import Settings
from records.matters import EXAMPLES
from records.models import Certificate
from tests.conftest import free_port, stop_process_group
from tests.process_watch import healthy, wait_for

NOTARY = Path(sys.executable).with_name("notary")
CERTIFICATES = 24
CLIENTS = 4


def test_two_api_processes_two_workers_and_the_follower(tmp_path, anvil_url, pg_database, redis_url):
    port = free_port()
    env = {**os.environ, "NOTARY_DATA_DIR": str(tmp_path / "data"), "NOTARY_RPC_URL": anvil_url,
           "NOTARY_DATABASE_URL": pg_database, "NOTARY_REDIS_URL": redis_url,
           "NOTARY_REDIS_PREFIX": f"notary-test-{port}:", "NOTARY_PORT": str(port),
           "NOTARY_KEY_PASSPHRASE": "test-passphrase", "NOTARY_SIGNING_PROCESSES": "1",
           "NOTARY_PARSER_PROCESSES": "1", "NOTARY_BATCH_AGE_SECONDS": "0.5", "NOTARY_BATCH_SIZE": "5",
           "NOTARY_WORKER_ENABLED": "false", "NOTARY_FOLLOWER_ENABLED": "false"}
    url = f"http://127.0.0.1:{port}"
    started: list[subprocess.Popen] = []
    engine = None

    def start(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen([str(NOTARY), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        started.append(proc)
        return proc

    try:
        # The API's supervisor migrates the database and deploys the registry first.
        start("serve", "--workers", "2")
        wait_for(lambda: healthy(url), 180, "the API")
        for _ in range(2):
            start("worker")
        start("follower")

        engine = make_engine(pg_database)
        token = create_token(engine, "王丽", Role.NOTARY, Settings().office_code)[1]
        headers = {"Authorization": f"Bearer {token}"}
        issued: list[dict] = []
        served_by: set[str] = set()
        lock = threading.Lock()

        def client(count: int) -> None:
            for _ in range(count):
                # A new connection each time: the two processes share the port, and the
                # kernel hands each new connection to one of them.
                answer = httpx.post(f"{url}/api/v1/certificates", json={"matter": "birth", "data": EXAMPLES["birth"]},
                                    headers=headers, timeout=120)
                assert answer.status_code == 201, answer.text
                with lock:
                    issued.append(answer.json())
                    served_by.add(answer.headers["x-request-id"][:8])  # each process's own prefix

        threads = [threading.Thread(target=client, args=(CERTIFICATES // CLIENTS,)) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert len(issued) == CERTIFICATES

        def all_anchored() -> bool:
            states = [httpx.get(f"{url}/api/v1/certificates/{c['id']}/status", timeout=10).json()
                      for c in issued]
            return all(s["anchor"]["state"] == "confirmed" and s["ledger"]["current"] for s in states)

        wait_for(all_anchored, 180, "every certificate anchored and the mirror current")
        with httpx.Client(base_url=url, timeout=60) as http:
            for c in issued:
                answer = http.post("/api/v1/verify/hash", json={"sha256": c["document_sha256"]})
                report = answer.json()
                assert report["indication"] == "PASSED", report
                assert report["ledger_source"] == "mirror" and report["ledger_block"] >= report["anchor_block_number"]
                served_by.add(answer.headers["x-request-id"][:8])
        # Which process takes a connection is the kernel's choice: ask on new connections,
        # several at once, until both have answered (they almost always have by now).
        def lookups_from_both() -> bool:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda c: httpx.get(f"{url}/api/v1/certificates/{c['id']}/status", timeout=30),
                                        issued[:8]))
            served_by.update(a.headers["x-request-id"][:8] for a in answers)
            return len(served_by) >= 2

        wait_for(lookups_from_both, 60, "both API processes to answer")

        with Session(engine) as s:
            serials = sorted(s.exec(select(Certificate.serial)).all())
            assert serials == list(range(1, CERTIFICATES + 1)), "numbers are not gap-free"
            entries = s.exec(select(OutboxEntry)).all()
            assert len(entries) == CERTIFICATES and all(e.batch_id is not None for e in entries)
            batches = s.exec(select(AnchorBatch)).all()
            assert all(b.state == BatchState.CONFIRMED for b in batches)
            assert sum(b.tree_size for b in batches) == CERTIFICATES  # each leaf in one batch
            anchored = s.exec(select(func.count()).select_from(LedgerEvent)
                              .where(LedgerEvent.kind == "RootAnchored")).one()
            assert anchored == len(batches)  # each batch anchored once, as the follower saw
    finally:
        for proc in reversed(started):
            stop_process_group(proc)
        if engine is not None:
            engine.dispose()


def test_a_database_that_goes_away_is_a_503_and_issuing_resumes(runtime_factory, pg_database):
    """PostgreSQL refuses connections for a moment (as while it restarts): requests are
    answered 503 DATABASE_UNAVAILABLE with Retry-After, never 500, and nothing is half
    stored; once it is back, the same request with the same Idempotency-Key issues once."""
    import psycopg
    from fastapi.testclient import TestClient

    from notary.app import create_app
    from tests.conftest import PG_ADMIN_URL

    rt = runtime_factory(database_url=pg_database)
    client = TestClient(create_app(rt), raise_server_exceptions=False)
    token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "away-1"}
    body = {"matter": "birth", "data": EXAMPLES["birth"]}
    name = pg_database.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            for _ in range(2):  # the token check (before the body is read), then again
                away = client.post("/api/v1/certificates", json=body, headers=headers)
                assert away.status_code == 503, away.text
                assert away.json()["error"]["code"] == "DATABASE_UNAVAILABLE" and away.headers["retry-after"] == "2"
            status = client.get("/api/v1/certificates/00000000-0000-0000-0000-000000000000/status")
            assert status.status_code == 503 and status.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    first = client.post("/api/v1/certificates", json=body, headers=headers)
    again = client.post("/api/v1/certificates", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    with Session(rt.engine) as s:
        assert s.exec(select(func.count()).select_from(Certificate)).one() == 1
