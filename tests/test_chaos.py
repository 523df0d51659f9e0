"""Issue #15: the chaos suite, two minutes of it (``make chaos`` runs it longer). Clients
issue through two API processes on PostgreSQL while faults are injected at random moments:
SIGKILL of an API process, an anchoring worker, the follower, the chain node and a signing
process; a crash-restart of the run's own PostgreSQL cluster; Redis killed and started. The
checker then proves that nothing acknowledged was lost, nothing was doubled, numbers stayed
gap-free, every leaf was anchored once and every receipt holds (tests/chaos.py)."""

from __future__ import annotations

import json
import os

from tests import chaos


def test_nothing_is_lost_or_doubled_when_anything_dies(tmp_path):
    seconds = float(os.environ.get("NOTARY_CHAOS_SECONDS", "100"))
    faults = int(os.environ.get("NOTARY_CHAOS_FAULTS", "21"))
    figures = chaos.run(tmp_path / "run", seconds, faults)
    print(json.dumps(figures, ensure_ascii=False))
    assert figures["faults_total"] >= min(faults, 20), figures["log"]
    assert set(figures["faults"]) == set(chaos.FAULT_KINDS), figures["log"]
    assert figures["certificates"] > 0 and figures["given_up"] == 0
    assert figures["violations"] == []
