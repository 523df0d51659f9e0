"""Issuing through the API with concurrent clients, against bulk issuing in the same run.

    .venv/bin/python -m bench.issue_api [seconds] [--workers N] [--postgres ADMIN_URL]

``--workers N`` serves with N API processes (each with one signing process, so that the
machine's cores are shared as in bulk); ``--postgres`` runs on a fresh database made on
that PostgreSQL server (and dropped afterwards) instead of SQLite.

Three figures, one after the other on the same machine:
- bulk: ``issue_batch`` in batches of 64 through the signing pool (one process per core),
  the rate the API is measured against (issue #15's goal: the API with 8 clients at least
  0.8x this);
- the API (``notary serve``, one API process with its signing pool and anchoring worker)
  with 1 client, then with 8 concurrent clients, each a keep-alive connection posting
  ``POST /api/v1/certificates`` without pause; every certificate is different (the
  applicant's ID number and name vary), as a clerk's system would send them.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.common import applicant, emit, free_port, percentile, temp_runtime, wait_up
from issuer.auth import Role, create_token
from issuer.service import IssueRequest, issue_batch
from notary.runtime import open_runtime
from notary.settings import Settings
from records.matters import parse_matter

BATCH = 64
CLIENTS = 8


def bulk_rate(seconds: float) -> tuple[float, int]:
    rt = temp_runtime()
    try:
        ctx = rt.issuer_context(pool=True)
        ctx.pool.warm_up()
        requests = [IssueRequest("birth", parse_matter("birth", applicant(i))) for i in range(BATCH)]
        issue_batch(ctx, requests)  # warm-up
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            issue_batch(ctx, requests)
            done += BATCH
        return done / (time.perf_counter() - start), ctx.pool.processes
    finally:
        rt.close()


def api_rate(url: str, token: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    counter = iter(range(10**9))
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
            while time.perf_counter() < stop:
                with lock:
                    i = next(counter)
                t = time.perf_counter()
                r = http.post("/api/v1/certificates", json={"matter": "birth", "data": applicant(i)})
                if r.status_code == 201:
                    latencies.append(time.perf_counter() - t)
                else:
                    failures.append(f"{r.status_code} {r.text[:120]}")

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - start
    return {"clients": clients, "per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p95_ms": round(percentile(latencies, 95) * 1000, 1),
            "failures": len(failures), "first_failure": failures[0] if failures else None}


def main(seconds: float, workers: int = 1, postgres: str | None = None) -> None:
    bulk, processes = bulk_rate(seconds)
    print(f"bulk issue_batch, batches of {BATCH}, {processes} signers: {bulk:7.1f} /s   (baseline)")

    data = Path(tempfile.mkdtemp(prefix="notary-issue-api-"))
    database = _fresh_database(postgres) if postgres else None
    env = {**os.environ, "NOTARY_DATA_DIR": str(data), "NOTARY_KEY_PASSPHRASE": "bench"}
    if database:
        env["NOTARY_DATABASE_URL"] = database
    if workers > 1:
        env["NOTARY_SIGNING_PROCESSES"] = str(max(1, processes // workers))
    rt = open_runtime(Settings(data_dir=data, key_passphrase="bench", database_url=database))
    token = create_token(rt.engine, "王丽", Role.NOTARY, rt.office.code)[1]
    rt.close()
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("notary")), "serve", "--port", str(port),
                               "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(f"{url}/healthz")
        api_rate(url, token, CLIENTS, 3)  # warm-up: the signing processes start on first use
        one = api_rate(url, token, 1, seconds)
        many = api_rate(url, token, CLIENTS, seconds)
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
        finally:
            if database and postgres:
                _drop_database(postgres, database)
    where = f"{workers} API process(es), {'PostgreSQL' if database else 'SQLite'}"
    for r in (one, many):
        print(f"API ({where}), {r['clients']} client(s):  {r['per_second']:7.1f} /s   p50 {r['p50_ms']:.0f} ms   "
              f"p95 {r['p95_ms']:.0f} ms   failures {r['failures']}   ratio vs bulk {r['per_second'] / bulk:.2f}")
        if r["first_failure"]:
            print(f"   first failure: {r['first_failure']}")
    emit({"benchmark": "issue_api", "seconds": seconds, "signing_processes": processes,
          "database": "postgresql" if database else "sqlite", "api_processes": workers,
          "bulk_per_second": round(bulk, 1), "api_1_client": one, f"api_{CLIENTS}_clients": many,
          "ratio_8_clients_vs_bulk": round(many["per_second"] / bulk, 2)})


def _fresh_database(admin_url: str) -> str:
    import psycopg

    name = f"notary_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+psycopg://{base}/{name}"


def _drop_database(admin_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seconds", nargs="?", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server, e.g. postgresql://u@h/db")
    args = parser.parse_args()
    main(args.seconds, args.workers, args.postgres)
