"""`notary serve --workers 2`: a crashed API process (SIGKILL, SIGSEGV) does not take the
service down, its signing and parser processes do not outlive it, and nothing that was in
flight is half-stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from issuer.auth import Role, create_token
from records.matters import EXAMPLES
from tests.conftest import free_port, stop_process_group
from tests.process_watch import alive, children, healthy, spawned, wait_for

NOTARY = Path(sys.executable).with_name("notary")


def _api_workers(parent: int) -> list[int]:
    return spawned(parent)


@pytest.mark.parametrize("crash", [signal.SIGKILL, signal.SIGSEGV])
def test_a_crashed_api_process_is_replaced_and_nothing_is_half_stored(tmp_path, anvil_url, crash):
    from notary.runtime import open_runtime
    from notary.settings import Settings

    data = tmp_path / "data"
    port = free_port()
    env = {**os.environ, "NOTARY_DATA_DIR": str(data), "NOTARY_RPC_URL": anvil_url, "NOTARY_PORT": str(port),
           "NOTARY_KEY_PASSPHRASE": "test-passphrase", "NOTARY_SIGNING_PROCESSES": "1", "NOTARY_PARSER_PROCESSES": "1",
           "NOTARY_BATCH_AGE_SECONDS": "0.5"}
    proc = subprocess.Popen([str(NOTARY), "serve", "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: len(_api_workers(proc.pid)) == 2 and healthy(url), 120, "two API processes")
        settings = Settings(data_dir=data, rpc_url=anvil_url, key_passphrase="test-passphrase")
        rt = open_runtime(settings, chain=False)
        token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
        headers = {"Authorization": f"Bearer {token}"}
        body = {"matter": "birth", "data": EXAMPLES["birth"]}

        outcomes: list[int | str] = []
        stop = threading.Event()

        def load():  # one client issuing without pause, as a clerk's system would
            with httpx.Client(base_url=url, timeout=60) as client:
                while not stop.is_set():
                    try:
                        outcomes.append(client.post("/api/v1/certificates", json=body, headers=headers).status_code)
                    except httpx.HTTPError as exc:
                        outcomes.append(type(exc).__name__)

        loader = threading.Thread(target=load)
        loader.start()
        wait_for(lambda: outcomes.count(201) >= 3, 60, "issuing under load")
        victim = _api_workers(proc.pid)[0]
        victims_children = children(victim)
        os.kill(victim, crash)
        # The service keeps answering while the supervisor replaces the process.
        for _ in range(10):
            assert healthy(url)
            time.sleep(0.1)
        wait_for(lambda: len([p for p in _api_workers(proc.pid) if p != victim]) == 2, 60, "a replacement process")
        before = outcomes.count(201)
        wait_for(lambda: outcomes.count(201) >= before + 3, 60, "issuing after the crash")
        stop.set()
        loader.join(timeout=60)
        # The dead process's signing and parser processes did not outlive it.
        wait_for(lambda: not [c for c in victims_children if alive(c)], 30, "the crashed process's children to end")

        from records.models import Certificate, CertificateDocument
        from anchoring.models import OutboxEntry

        with Session(rt.engine) as s:
            certs = s.exec(select(Certificate)).all()
            serials = sorted(c.serial for c in certs)
            assert serials == list(range(1, len(certs) + 1)), "numbers are not gap-free"
            for c in certs:  # every certificate whole: its PDF and its outbox entry
                assert s.get(CertificateDocument, c.id) is not None
                assert s.exec(select(OutboxEntry).where(OutboxEntry.certificate_id == c.id)).first() is not None
        assert outcomes.count(201) <= len(certs)
        rt.close()
    finally:
        stop_process_group(proc, 30)



def test_a_worker_started_after_its_parent_died_still_ends():
    """A worker re-parented while it was still importing (its API process killed at that
    moment) must not take its new parent for its own and live on: the parent tells it its
    pid, and the worker ends at once when that is no longer its parent."""
    gone = 2**22 + 12345  # above the default pid_max: certainly not the child's parent
    script = f"import time; from processes.parent_watch import end_with_parent; end_with_parent({gone}); time.sleep(60)"
    done = subprocess.run([sys.executable, "-c", script], timeout=30, cwd=Path(__file__).parents[1])
    assert done.returncode == 0
