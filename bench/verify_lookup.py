"""Status and fingerprint lookups per second, with p50/p99 latency, at 64 concurrent
connections on loopback (wrk), against a FastAPI hello-world served the same way
(uvicorn, one process, uvloop + httptools) in the same run.

    .venv/bin/python -m bench.verify_lookup [seconds] [certificates] [API processes]

The main figures ask for many different certificates (default 1,500, anchored), each
request a random one, as a registry checking a stack of files would: no answer is served
from the lookup cache more than by chance. Lookups answer from the database and the ledger
mirror; the first lookup of a certificate also checks its stored PDF once (kept for later
lookups), and is measured on its own first ("first lookups", 8 clients). Then the batch API:
1,000 distinct ids in one call, then 1,000 distinct fingerprints. The old figure, one
certificate asked again and again (served from the one-second cache), is kept as a second line. A third argument serves
with that many API processes (`notary serve --workers N`); the hello-world keeps one.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import applicant, emit, percentile, service_and_hello
from records.matters import EXAMPLES
from issuer.service import IssueRequest, issue_batch, issue_certificate
from records.matters import parse_matter
from notary.database import make_engine
from notary.runtime import open_runtime
from notary.settings import Settings
from verifier.apikeys import create_api_key

CONNECTIONS = 64


def wrk(url: str, seconds: int, script: Path | None = None, connections: int = CONNECTIONS) -> dict:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
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


def random_requests_script(path: Path, method: str, items: list[str], make: str,
                           headers: dict[str, str] | None = None) -> Path:
    """A wrk script sending each request for a random one of ``items`` (``make``: a Lua
    expression of ``item`` giving the path or the body), with ``headers`` besides JSON's."""
    listed = ",".join(json.dumps(i) for i in items)
    body = "nil" if method == "GET" else make
    target = make if method == "GET" else "wrk.path"
    extra = "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in (headers or {}).items())
    path.write_text(
        f"local items = {{{listed}}}\n"
        "math.randomseed(os.time())\n"
        f'wrk.method = "{method}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"{extra}"
        "request = function()\n"
        "  local item = items[math.random(#items)]\n"
        f"  return wrk.format(nil, {target}, nil, {body})\n"
        "end\n")
    return path


def main(seconds: int, count: int = 1500, workers: int = 1) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk)")
    data = Path(tempfile.mkdtemp(prefix="notary-lookup-"))
    # The anchoring worker is left out of the API process here: this measures lookups.
    env = {**os.environ, "NOTARY_DATA_DIR": str(data), "NOTARY_KEY_PASSPHRASE": "bench",
           "NOTARY_WORKER_ENABLED": "false"}
    rt = open_runtime(Settings(data_dir=data, key_passphrase="bench"))
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    pooled = rt.issuer_context(pool=True)
    many = []
    for start in range(0, count, 250):
        requests = [IssueRequest("birth", parse_matter("birth", applicant(i))) for i in range(start, min(count, start + 250))]
        many += issue_batch(pooled, requests)
    while rt.worker().run_once(force=True):
        pass
    rt.close()

    with service_and_hello(env, workers) as (app, hello):
        status_url = f"{app}/api/v1/certificates/{issued.id}/status"
        assert httpx.get(status_url, timeout=120).status_code == 200
        script = data / "hash.lua"
        script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                          f'wrk.body = {json.dumps(json.dumps({"sha256": issued.document_sha256}))}\n')
        # The first answers start the parser processes: a generous timeout (a warm-up, not a figure).
        assert httpx.post(f"{app}/api/v1/verify/hash", json={"sha256": issued.document_sha256},
                          timeout=120).json()["indication"] == "PASSED"
        first = _first_lookups(app, [c.document_sha256 for c in many])
        print(f"first lookups          {first['per_second']:>7,} certificates/s with 8 clients "
              f"(each checks its stored PDF once)   p50 {first['p50_ms']} ms   p99 {first['p99_ms']} ms")
        batch = _batch(app, data, many)
        print(f"batch API, 1,000 ids   {batch['ids_seconds']:.2f} s   1,000 fingerprints {batch['digests_seconds']:.2f} s"
              f"   (target < 1 s)")
        ids = [str(c.id) for c in many]
        status_many = random_requests_script(data / "status_many.lua", "GET", ids,
                                              '"/api/v1/certificates/" .. item .. "/status"')
        hash_many = random_requests_script(data / "hash_many.lua", "POST", [c.document_sha256 for c in many],
                                            '\'{"sha256": "\' .. item .. \'"}\'')
        wrk(f"{hello}/hello", 2)  # warm-up
        base = wrk(f"{hello}/hello", seconds)
        status_distinct = wrk(app, seconds, status_many)
        hash_distinct = wrk(f"{app}/api/v1/verify/hash", seconds, hash_many)
        status = wrk(status_url, seconds)
        hashed = wrk(f"{app}/api/v1/verify/hash", seconds, script)
        rows = (("hello-world", base), (f"status, {count} distinct", status_distinct),
                (f"hash, {count} distinct", hash_distinct), ("status, one id", status), ("hash, one sha", hashed))
        for name, r in rows:
            print(f"{name:22} {r['rps']:>7,} req/s   p50 {r['p50_ms']:>7.2f} ms   p99 {r['p99_ms']:>7.2f} ms"
                  f"   ratio {r['rps'] / base['rps']:.2f}   p99 ratio {r['p99_ms'] / base['p99_ms']:.1f}"
                  f"   non-2xx {r['non_2xx']}")
        emit({"benchmark": "verify_lookup", "api_processes": workers, "connections": CONNECTIONS, "seconds": seconds, "certificates": count,
              "hello": base, "status_distinct": status_distinct, "hash_distinct": hash_distinct,
              "status_one_id": status, "hash_one_sha": hashed, "first_lookups": first, "batch": batch,
              "status_distinct_ratio": round(status_distinct["rps"] / base["rps"], 2),
              "hash_distinct_ratio": round(hash_distinct["rps"] / base["rps"], 2),
              "status_one_id_ratio": round(status["rps"] / base["rps"], 2),
              "hash_one_sha_ratio": round(hashed["rps"] / base["rps"], 2)})


def _first_lookups(app: str, digests: list[str]) -> dict:
    """Each certificate looked up once, by 8 clients at once: the PDF checks are made here."""
    def one(digest: str) -> float:
        t = time.perf_counter()
        answer = client.post(f"{app}/api/v1/verify/hash", json={"sha256": digest}, timeout=120)
        assert answer.json()["indication"] == "PASSED", answer.text
        return time.perf_counter() - t

    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
        start = time.perf_counter()
        latencies = sorted(pool.map(one, digests))
        spent = time.perf_counter() - start
    return {"certificates": len(digests), "per_second": round(len(digests) / spent),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p99_ms": round(percentile(latencies, 99) * 1000, 1)}


def _batch(app: str, data: Path, many: list) -> dict:
    """The batch API with 1,000 distinct ids, then 1,000 distinct fingerprints (best of 3 each)."""
    engine = make_engine(Settings(data_dir=data, key_passphrase="bench").sqlalchemy_url)
    _, key = create_api_key(engine, "bench registry", items_per_minute=100_000)
    engine.dispose()
    sample = random.sample(many, min(1000, len(many)))
    figures = {}
    for kind, items in (("ids", [{"id": str(c.id)} for c in sample]),
                        ("digests", [{"sha256": c.document_sha256} for c in sample])):
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            answer = httpx.post(f"{app}/api/v1/verify/batch", json={"items": items}, timeout=120,
                                headers={"Authorization": f"Bearer {key}"})
            best = min(best, time.perf_counter() - t)
            results = answer.json()["results"]
            assert len(results) == len(items) and all(r["indication"] == "PASSED" for r in results), answer.text[:300]
        figures[f"{kind}_seconds"] = round(best, 3)
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 1500,
         int(sys.argv[3]) if len(sys.argv) > 3 else 1)
