"""Issue #15: the embedded chain node is supervised.

A node that `notary serve` runs and that dies (SIGKILL) is started again from its saved
state on the same port within seconds; `/readyz` recovers and certificates are anchored
again without anyone touching the server. A server that adopted a node whose starter died
stops it on a clean stop, instead of leaving it behind. Real processes, a real anvil.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from issuer.auth import Role, create_token
from records.matters import EXAMPLES
from tests.conftest import free_port, stop_process_group
from tests.process_watch import alive, wait_for

NOTARY = Path(sys.executable).with_name("notary")


def _env(data: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NOTARY_RPC_URL"}
    return {**env, "NOTARY_DATA_DIR": str(data), "NOTARY_PORT": str(port), "NOTARY_KEY_PASSPHRASE": "node-test",
            "NOTARY_SIGNING_PROCESSES": "1", "NOTARY_PARSER_PROCESSES": "1", "NOTARY_BATCH_AGE_SECONDS": "0.5"}


def _anchored(status_url: str) -> bool:
    return httpx.get(status_url, timeout=5).json()["anchor"]["state"] == "confirmed"


def _node(data: Path) -> dict:
    return json.loads((data / "chain" / "node.json").read_text())


def test_a_killed_chain_node_is_started_again_and_anchoring_goes_on(tmp_path):
    data, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(NOTARY), "serve"], env=_env(data, port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200, 120, "the server to be ready")
        from notary.runtime import open_runtime
        from notary.settings import Settings

        rt = open_runtime(Settings(data_dir=data, key_passphrase="node-test"), chain=False)
        headers = {"Authorization": f"Bearer {create_token(rt.engine, '王丽', Role.NOTARY, rt.office.code)[1]}"}
        rt.close()
        body = {"matter": "birth", "data": EXAMPLES["birth"]}
        before = httpx.post(f"{url}/api/v1/certificates", json=body, headers=headers, timeout=60).json()
        status = f"{url}/api/v1/certificates/{before['id']}/status"
        wait_for(lambda: _anchored(status), 60, "the first certificate to be anchored")

        first = _node(data)
        os.kill(first["pid"], signal.SIGKILL)
        wait_for(lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 503, 30, "/readyz to see the node gone")
        wait_for(lambda: _node(data)["pid"] != first["pid"] and httpx.get(f"{url}/readyz", timeout=5).status_code == 200,
              30, "/readyz to recover by itself")
        second = _node(data)
        assert second["pid"] != first["pid"] and second["rpc_url"] == first["rpc_url"]  # same URL: clients reconnect

        # The saved state came back (the ledger still holds the first anchor), and anchoring goes on.
        verified = httpx.post(f"{url}/api/v1/verify/hash", json={"sha256": before["document_sha256"]}, timeout=30)
        assert verified.json()["indication"] == "PASSED", verified.text
        after = httpx.post(f"{url}/api/v1/certificates", json=body, headers=headers, timeout=60).json()
        wait_for(lambda: _anchored(f"{url}/api/v1/certificates/{after['id']}/status"), 60,
              "a certificate issued after the restart to be anchored")
    finally:
        stop_process_group(proc)
    assert not alive(_node(data)["pid"]) if (data / "chain" / "node.json").exists() else True


ORPHAN = """
import os, sys, time
from notary.runtime import open_runtime
rt = open_runtime()
print(rt.node.pid, flush=True)
time.sleep(600)  # killed here: its node lives on, with nobody answering for it
"""


def test_a_server_that_adopted_an_orphaned_node_stops_it_on_a_clean_stop(tmp_path):
    data, port = tmp_path / "data", free_port()
    env = _env(data, port)
    starter = subprocess.Popen([sys.executable, "-c", ORPHAN], env=env, stdout=subprocess.PIPE, text=True)
    try:
        node_pid = int(starter.stdout.readline())
    finally:
        starter.kill()
        starter.wait(30)
    assert alive(node_pid), "the node should outlive the process that started it"
    proc = subprocess.Popen([str(NOTARY), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200, 120, "the server")
        assert _node(data)["pid"] == node_pid  # adopted, not started anew
    finally:
        stop_process_group(proc)
    wait_for(lambda: not alive(node_pid), 30, "the adopted node to stop with the server")
    assert not (data / "chain" / "node.json").exists()


def test_an_anchor_counted_as_confirmed_survives_the_node_killed_at_once(tmp_path):
    """The embedded node saves its chain to a file every second. A batch counted as
    confirmed, then the node SIGKILLed at once and started again from that file: the anchor
    is still on the ledger (it counts only once the node has saved it)."""
    from sqlmodel import Session, select

    from anchoring.models import AnchorBatch, BatchState
    from issuer.service import issue_certificate
    from notary.runtime import open_runtime
    from notary.settings import Settings

    rt = open_runtime(Settings(data_dir=tmp_path / "data", key_passphrase="node-test", batch_age_seconds=0.1))
    try:
        assert rt.node is not None and rt.node.owned
        for _ in range(3):
            issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
            assert rt.worker().run_once(force=True) == 1  # confirmed
            os.kill(rt.node.pid, signal.SIGKILL)  # at once: no clean stop, no last save
            rt.node.ensure()  # started again from the saved state
            with Session(rt.engine) as s:
                roots = [b.root for b in s.exec(select(AnchorBatch)).all() if b.state == BatchState.CONFIRMED]
            office = rt.registry.office_by_code(rt.office.code)
            lost = [root for root in roots if rt.registry.get_anchor(office, bytes.fromhex(root)) is None]
            assert lost == [], "an anchor counted as confirmed is gone from the ledger"
    finally:
        rt.close()
