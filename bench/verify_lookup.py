"""Status and fingerprint lookups per second, with p50/p99 latency, at 64 concurrent
connections on loopback (wrk), against a FastAPI hello-world served the same way
(uvicorn, one process, uvloop + httptools) in the same run.

    .venv/bin/python -m bench.verify_lookup [seconds]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import emit
from records.matters import EXAMPLES
from issuer.service import issue_certificate
from notary.runtime import open_runtime
from notary.settings import Settings

CONNECTIONS = 64
PY = sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, seconds: int, script: Path | None = None) -> dict:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    if script:
        args[1:1] = ["-s", str(script)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": round(rps), "p50_ms": round(ms("50%"), 2), "p99_ms": round(ms("99%"), 2),
            "non_2xx": int(errors.group(1)) if errors else 0}


def main(seconds: int) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk)")
    data = Path(tempfile.mkdtemp(prefix="notary-lookup-"))
    # The anchoring worker is left out of the API process here: this measures lookups.
    env = {**os.environ, "NOTARY_DATA_DIR": str(data), "NOTARY_KEY_PASSPHRASE": "bench",
           "NOTARY_WORKER_ENABLED": "false"}
    rt = open_runtime(Settings(data_dir=data, key_passphrase="bench"))
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    rt.worker().run_once(force=True)
    rt.close()

    app_port, hello_port = free_port(), free_port()
    servers = [
        subprocess.Popen([str(Path(PY).with_name("notary")), "serve", "--port", str(app_port)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([PY, "-m", "uvicorn", "bench.hello_app:app", "--port", str(hello_port), "--loop", "uvloop",
                          "--http", "httptools", "--log-level", "warning"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
    ]
    try:
        app, hello = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{hello_port}"
        wait_up(f"{app}/healthz")
        wait_up(f"{hello}/hello")
        status_url = f"{app}/api/v1/certificates/{issued.id}/status"
        assert httpx.get(status_url).status_code == 200
        script = data / "hash.lua"
        script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                          f'wrk.body = {json.dumps(json.dumps({"sha256": issued.document_sha256}))}\n')
        assert httpx.post(f"{app}/api/v1/verify/hash", json={"sha256": issued.document_sha256}).json()["indication"] == "PASSED"
        wrk(f"{hello}/hello", 2)  # warm-up
        base = wrk(f"{hello}/hello", seconds)
        status = wrk(status_url, seconds)
        hashed = wrk(f"{app}/api/v1/verify/hash", seconds, script)
        for name, r in (("hello-world", base), ("status lookup", status), ("hash lookup", hashed)):
            print(f"{name:14} {r['rps']:>7,} req/s   p50 {r['p50_ms']:>7.2f} ms   p99 {r['p99_ms']:>7.2f} ms"
                  f"   ratio {r['rps'] / base['rps']:.2f}   non-2xx {r['non_2xx']}")
        emit({"benchmark": "verify_lookup", "connections": CONNECTIONS, "seconds": seconds, "hello": base,
              "status": status, "hash": hashed, "status_ratio": round(status["rps"] / base["rps"], 2),
              "hash_ratio": round(hashed["rps"] / base["rps"], 2)})
    finally:
        for p in servers:
            p.terminate()
            p.wait(20)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
