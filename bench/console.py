"""The staff console under the traffic clerks send, against a FastAPI hello-world served the
same way (uvicorn, one process) in the same run, with 16 connections on loopback (wrk):

    .venv/bin/python -m bench.console [seconds] [certificates]

- certificate pages of many different certificates (default 1,500), each request a random
  one, as an office administrator working through a stack of files: each page resumes the
  session from the database, reads the certificate and writes its audit event (a read of
  personal data is recorded before it is shown);
- searches by number, each a random number;
- sign-ins (argon2id password, TOTP code), 4 at a time, against argon2id's own verification
  in this process (the floor: a sign-in cannot be cheaper than its password check);
- the regulator's statistics page over the certificates here, and `monthly_statistics` in
  this process over 100,000 certificate rows (SQLite).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.common import applicant, emit, percentile, service_and_hello
from bench.verify_lookup import random_requests_script, wrk as lookup_wrk
from console import accounts, passwords, staff_sessions, totp
from console.statistics import monthly_statistics
from issuer.auth import Role
from issuer.service import IssueRequest, issue_batch
from notary.runtime import open_runtime
from notary.settings import Settings
from records.matters import parse_matter
from records.models import Certificate

CONNECTIONS = 16  # clerks of a few offices at once, not a crowd of registries
PASSWORD = "Bench-Password-2026"


def wrk(url: str, seconds: int, script: Path | None = None) -> dict:
    return lookup_wrk(url, seconds, script, connections=CONNECTIONS)


def _script(path: Path, cookie: str, paths: list[str]) -> Path:
    """GETs of a random one of ``paths``, signed in with ``cookie``."""
    return random_requests_script(path, "GET", paths, "item", {"Cookie": cookie})


def _session_cookie(rt, username: str, role: Role) -> str:
    made = accounts.create_user(rt.engine, rt.totp_sealing_key, username, username[:40], role, rt.office.code,
                                actor="bench", password=PASSWORD)
    token, _ = staff_sessions.start(rt.engine, made.user, client="bench", user_agent="wrk")
    return f"notary_staff={token}"


def _sign_ins(app: str, people: list[tuple[str, str]]) -> dict:
    """Each person signs in once (a code is taken once), four at a time."""
    def one(person: tuple[str, str]) -> float:
        username, secret = person
        with httpx.Client(base_url=app) as client:
            page = client.get("/console/signin")
            csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            t = time.perf_counter()
            answer = client.post("/console/signin", data={"username": username, "password": PASSWORD, "csrf": csrf,
                                                          "code": totp.code_now(secret), "next": "/console/"})
            assert answer.status_code == 303, answer.text[:300]
            return time.perf_counter() - t

    with ThreadPoolExecutor(4) as pool:
        start = time.perf_counter()
        latencies = sorted(pool.map(one, people))
        spent = time.perf_counter() - start
    return {"sign_ins": len(people), "per_second": round(len(people) / spent, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p99_ms": round(percentile(latencies, 99) * 1000, 1)}


def _argon2_floor(count: int = 40) -> float:
    """argon2id verifications per second in this process, 4 threads (its C code releases the GIL)."""
    stored = passwords.hash_password(PASSWORD)
    with ThreadPoolExecutor(4) as pool:
        start = time.perf_counter()
        assert all(pool.map(lambda _: passwords.password_matches(stored, PASSWORD), range(count)))
        return count / (time.perf_counter() - start)


def _statistics_at_scale(rows: int = 100_000) -> dict:
    """monthly_statistics over ``rows`` certificates spread over a year and two offices."""
    data = Path(tempfile.mkdtemp(prefix="notary-stats-"))
    rt = open_runtime(Settings(data_dir=data, key_passphrase="bench"), chain=False)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    matters = ["birth", "kinship", "will", "declaration"]
    batch = []
    for i in range(rows):
        issued = start + dt.timedelta(seconds=i * 300)
        batch.append({"id": uuid.uuid4(), "number": f"(2026)测证字第{i:06d}号", "office_code": ("SH-A", "SH-B")[i % 2],
                      "office_name": "测试公证处", "year": 2026, "serial": i, "matter": matters[i % 4],
                      "applicant_name": "某", "notary": "某", "data_json": "{}", "status": "issued",
                      "fee_exempt": i % 50 == 0, "language": "zh", "document_sha256": f"{i:064x}",
                      "signer_fingerprint": "0" * 64, "check_code": "X", "issued_at": issued})
    with rt.engine.begin() as conn:
        conn.execute(Certificate.__table__.insert(), batch)  # type: ignore[attr-defined]
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        result = monthly_statistics(rt.engine, since=dt.date(2026, 1, 1), until=dt.date(2027, 1, 1))
        best = min(best, time.perf_counter() - t)
    assert sum(r.issued for r in result) == rows
    rt.close()
    shutil.rmtree(data, ignore_errors=True)
    return {"certificates": rows, "seconds": round(best, 3), "rows": len(result)}


def main(seconds: int, count: int = 1500) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk)")
    data = Path(tempfile.mkdtemp(prefix="notary-console-"))
    env = {**os.environ, "NOTARY_DATA_DIR": str(data), "NOTARY_KEY_PASSPHRASE": "bench",
           "NOTARY_WORKER_ENABLED": "false", "NOTARY_CONSOLE_SECURE_COOKIES": "false"}
    rt = open_runtime(Settings(data_dir=data, key_passphrase="bench"))
    pooled = rt.issuer_context(pool=True)
    many = []
    for first in range(0, count, 250):
        many += issue_batch(pooled, [IssueRequest("birth", parse_matter("birth", applicant(i)))
                                     for i in range(first, min(count, first + 250))])
    while rt.worker().run_once(force=True):
        pass
    admin_cookie = _session_cookie(rt, "bench-admin", Role.OFFICE_ADMIN)
    regulator_cookie = _session_cookie(rt, "bench-regulator", Role.REGISTRY_ADMIN)
    people = []
    for i in range(40):
        made = accounts.create_user(rt.engine, rt.totp_sealing_key, f"clerk{i:02d}", f"职员{i}", Role.NOTARY,
                                    rt.office.code, actor="bench", password=PASSWORD)
        people.append((made.user.username, made.totp_secret))
    rt.close()

    with service_and_hello(env) as (app, hello):
        pages = _script(data / "pages.lua", admin_cookie, [f"/console/office/certificates/{c.id}" for c in many])
        searches = _script(data / "search.lua", admin_cookie,
                           [f"/console/office?number={quote(c.number)}" for c in many])
        check = httpx.get(f"{app}/console/office/certificates/{many[0].id}", headers={"Cookie": admin_cookie})
        assert check.status_code == 200 and many[0].number in check.text, check.text[:300]
        found = httpx.get(f"{app}/console/office?number={quote(many[1].number)}", headers={"Cookie": admin_cookie})
        assert 'class="result"' in found.text and many[1].number in found.text, found.text[:300]
        wrk(f"{hello}/hello", 2)  # warm-up
        base = wrk(f"{hello}/hello", seconds)
        page = wrk(app, seconds, pages)
        search = wrk(app, seconds, searches)
        stats_latencies = []
        with httpx.Client(headers={"Cookie": regulator_cookie}, timeout=60) as client:
            for _ in range(20):
                t = time.perf_counter()
                assert client.get(f"{app}/console/regulator").status_code == 200
                stats_latencies.append(time.perf_counter() - t)
        sign_ins = _sign_ins(app, people)
        floor = _argon2_floor()
        for name, r in (("hello-world", base), (f"certificate page, {count} distinct", page),
                        (f"search by number, {count} distinct", search)):
            print(f"{name:36} {r['rps']:>7,} req/s   p50 {r['p50_ms']:>7.2f} ms   p99 {r['p99_ms']:>7.2f} ms"
                  f"   ratio {r['rps'] / base['rps']:.2f}   non-2xx {r['non_2xx']}")
        print(f"{'sign-ins (4 at a time)':36} {sign_ins['per_second']:>7} /s      p50 {sign_ins['p50_ms']:>7.1f} ms   "
              f"argon2id alone {floor:.1f}/s   ratio {sign_ins['per_second'] / floor:.2f}")
        stats_p50 = percentile(sorted(stats_latencies), 50) * 1000
        print(f"{'statistics page, ' + str(count) + ' certificates':36} p50 {stats_p50:.0f} ms")
        scale = _statistics_at_scale()
        print(f"{'monthly_statistics, 100,000 rows':36} {scale['seconds']:.2f} s (best of 3, SQLite)")
        emit({"benchmark": "console", "connections": CONNECTIONS, "seconds": seconds, "certificates": count,
              "hello": base, "certificate_page": page, "search": search, "sign_ins": sign_ins,
              "argon2_per_second": round(floor, 1), "statistics_page_p50_ms": round(stats_p50),
              "statistics_100k": scale, "certificate_page_ratio": round(page["rps"] / base["rps"], 2),
              "search_ratio": round(search["rps"] / base["rps"], 2),
              "sign_in_ratio": round(sign_ins["per_second"] / floor, 2)})


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2 else 1500)
