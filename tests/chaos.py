"""The chaos suite's parts (issue #15): a deployment of its own, clients that issue through
it, a driver that injects faults at random moments, and a checker that proves nothing was
lost or doubled.

The deployment: a PostgreSQL cluster made for the run (``initdb``/``pg_ctl`` in a temporary
directory, on its own port), a Redis server of its own, the embedded chain node, two API
processes (``notary serve --workers 2``), two anchoring workers (``notary worker``) and the
ledger follower (``notary follower``). Workers and the follower are started again when they
die, as ``restart: unless-stopped`` does in docker-compose; the API processes are restarted
by their supervisor, the chain node by whichever process keeps it alive.

Run by ``tests/test_chaos.py`` (two minutes, in ``make test``) and ``make chaos`` (longer).
"""

from __future__ import annotations

import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import text

from bench.common import applicant
from tests.conftest import free_port
from tests.process_watch import healthy, spawned, wait_for

NOTARY = Path(sys.executable).with_name("notary")
FAULT_KINDS = ("api", "worker", "follower", "node", "signer", "postgres", "redis")


def _pg_binary(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    which = shutil.which(name)
    if which is None:
        raise RuntimeError(f"{name} is not installed (Debian package postgresql)")
    return which


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PostgresCluster:
    """A PostgreSQL cluster of the run's own, so that restarting it touches nobody else."""

    def __init__(self):
        # Its own temporary directory: pytest's are private to root, whom PostgreSQL refuses.
        self.dir = directory = Path(tempfile.mkdtemp(prefix="notary-chaos-pg-"))
        self.port = free_port()
        try:
            if os.geteuid() == 0:
                shutil.chown(directory, "postgres", "postgres")
            subprocess.run(_as_postgres([_pg_binary("initdb"), "-D", str(directory / "data"), "-U", "postgres",
                                         "--auth=trust", "--no-sync"]), check=True, capture_output=True)
            self.start()
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute("CREATE DATABASE notary")
        except BaseException:
            self.stop()
            raise

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/notary"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir}"
        subprocess.run(_as_postgres([_pg_binary("pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                                     "-o", options, "-w", "-t", "60", *args]), check=True, capture_output=True)

    def start(self) -> None:
        self._ctl("start")

    def crash_restart(self) -> None:
        """Stop without a checkpoint (as a crash does: recovery replays the WAL), then start."""
        self._ctl("stop", "-m", "immediate")
        self._ctl("start")

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "fast")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()


class Deployment:
    """Everything the run starts, and how to kill each part."""

    def __init__(self, base: Path, signing_processes: int = 2):
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.postgres = PostgresCluster()
        try:
            self.redis = RedisServer()
        except BaseException:
            self.postgres.stop()
            raise
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.signing_processes = signing_processes
        self.env = {**os.environ, "NOTARY_DATA_DIR": str(base / "data"), "NOTARY_DATABASE_URL": self.postgres.url,
                    "NOTARY_REDIS_URL": self.redis.url, "NOTARY_PORT": str(self.port),
                    "NOTARY_KEY_PASSPHRASE": "chaos-passphrase", "NOTARY_SIGNING_PROCESSES": str(signing_processes),
                    "NOTARY_PARSER_PROCESSES": "1", "NOTARY_BATCH_AGE_SECONDS": "1", "NOTARY_BATCH_SIZE": "50",
                    "NOTARY_WORKER_ENABLED": "false", "NOTARY_FOLLOWER_ENABLED": "false",
                    "NOTARY_LOG_FORMAT": "text"}
        self.env.pop("NOTARY_RPC_URL", None)  # the embedded node, which the processes keep alive
        self.api: subprocess.Popen | None = None
        self.services: dict[str, subprocess.Popen] = {}
        self._watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self.restarted: collections.Counter[str] = collections.Counter()

    def _start(self, *args: str, log: str) -> subprocess.Popen:
        with open(self.base / f"{log}.log", "ab") as out:  # the child keeps its own copy
            return subprocess.Popen([str(NOTARY), *args], env=self.env, stdout=out, stderr=out,
                                    start_new_session=True)

    def start(self) -> None:
        # The API's supervisor makes the keys, migrates the database, starts the chain node
        # and deploys the registry before the others start.
        self.api = self._start("serve", "--workers", "2", log="api")
        wait_for(lambda: healthy(self.url) and len(self.api_processes()) == 2, 240, "the API processes")
        for name in ("worker-1", "worker-2", "follower"):
            self.services[name] = self._start("follower" if name == "follower" else "worker", log=name)
        self._watcher = threading.Thread(target=self._restart_dead, name="chaos-restarter", daemon=True)
        self._watcher.start()

    def _restart_dead(self) -> None:
        while not self._watch.wait(0.5):
            for name, proc in list(self.services.items()):
                if proc.poll() is not None:
                    self.services[name] = self._start("follower" if name == "follower" else "worker", log=name)
                    self.restarted[name] += 1

    def api_processes(self) -> list[int]:
        return spawned(self.api.pid) if self.api is not None else []

    def signing_processes_of(self, api_pid: int) -> list[int]:
        return spawned(api_pid)

    def node_pid(self) -> int | None:
        info = self.base / "data" / "chain" / "node.json"
        try:
            return int(json.loads(info.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def stop(self) -> None:
        """Stop everything, each part whatever happened to the others."""
        self._watch.set()
        if self._watcher is not None:
            self._watcher.join(10)
        processes = [p for p in [*self.services.values(), self.api] if p is not None]
        for proc in processes:
            _signal_group(proc, signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
        node = self.node_pid()
        for stop in ((lambda: os.kill(node, signal.SIGKILL)) if node else None, self.redis.stop, self.postgres.stop):
            if stop is not None:
                try:
                    stop()
                except (OSError, subprocess.SubprocessError):
                    pass


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass


@dataclass
class Ledger:
    """What the clients were told: each Idempotency-Key and every certificate id answered for it."""

    answers: dict[str, set[str]] = field(default_factory=lambda: collections.defaultdict(set))
    acknowledged: set[str] = field(default_factory=set)  # ids answered 201 or 200 (a replay)
    given_up: list[str] = field(default_factory=list)  # keys never answered with a certificate
    refused: list[str] = field(default_factory=list)  # valid requests refused for good (4xx)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Clients:
    """Clerks' systems issuing without pause, each request with its own Idempotency-Key and
    retried with that key (for up to ``patience`` seconds) until it gets a certificate."""

    def __init__(self, url: str, token: str, count: int = 4, patience: float = 120.0):
        self.url, self.token, self.count, self.patience = url, token, count, patience
        self.ledger = Ledger()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._serial = 0

    def start(self) -> None:
        for n in range(self.count):
            t = threading.Thread(target=self._run, args=(n,), name=f"chaos-client-{n}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(self.patience + 30)

    def _run(self, n: int) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=60) as http:
                i = 0
                while not self._stop.is_set():
                    i += 1
                    key = f"chaos-{n}-{i}-{uuid.uuid4().hex[:8]}"
                    body = {"matter": "birth", "data": applicant(n * 100_000 + i)}
                    self._issue(http, key, body)
        except Exception as exc:  # noqa: BLE001 - a client that stops is reported, not lost in its thread
            with self.ledger.lock:
                self.ledger.refused.append(f"client {n} stopped: {type(exc).__name__}: {exc}")

    def _issue(self, http: httpx.Client, key: str, body: dict) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            try:
                answer = http.post("/api/v1/certificates", json=body, headers=headers)
                status = str(answer.status_code)
            except httpx.HTTPError as exc:
                answer, status = None, type(exc).__name__
            with self.ledger.lock:
                self.ledger.statuses[status] += 1
            if answer is not None and answer.status_code in (200, 201):
                certificate_id = answer.json()["id"]
                with self.ledger.lock:
                    self.ledger.answers[key].add(certificate_id)
                    self.ledger.acknowledged.add(certificate_id)
                return
            if answer is not None and answer.status_code not in (409, 429) and answer.status_code < 500:
                with self.ledger.lock:  # a valid request refused for good: the checker reports it
                    self.ledger.refused.append(f"{answer.status_code} {answer.text[:300]}")
                return
            time.sleep(0.3)  # down or busy: the same request again, with the same key
        with self.ledger.lock:
            self.ledger.given_up.append(key)


class Faults:
    """Injects ``count`` faults at random moments over ``seconds``, every kind at least once."""

    def __init__(self, deployment: Deployment, seconds: float, count: int, seed: int | None = None):
        self.d, self.seconds, self.count = deployment, seconds, count
        self.random = random.Random(seed)
        self.done: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[float, str, str]] = []

    def run(self) -> None:
        # Every kind at least once, the rest drawn at random, all in a random order.
        plan = list(FAULT_KINDS) + [self.random.choice(FAULT_KINDS) for _ in range(self.count - len(FAULT_KINDS))]
        self.random.shuffle(plan)
        start = time.monotonic()
        gap = self.seconds / len(plan)
        for i, kind in enumerate(plan):
            moment = start + gap * i + self.random.uniform(0, gap * 0.8)
            time.sleep(max(0.0, moment - time.monotonic()))
            what = self._inject(kind)
            self.log.append((round(time.monotonic() - start, 1), kind, what))
            if what != "skipped":
                self.done[kind] += 1

    def _inject(self, kind: str) -> str:
        d = self.d
        if kind == "api":
            victims = d.api_processes()
            return self._kill(self.random.choice(victims)) if victims else "skipped"
        if kind in ("worker", "follower"):
            name = self.random.choice(["worker-1", "worker-2"]) if kind == "worker" else "follower"
            return self._kill(d.services[name].pid, group=True)
        if kind == "node":
            pid = d.node_pid()
            return self._kill(pid) if pid else "skipped"
        if kind == "signer":
            signers = [p for api in d.api_processes() for p in d.signing_processes_of(api)]
            return self._kill(self.random.choice(signers)) if signers else "skipped"
        if kind == "postgres":
            d.postgres.crash_restart()
            return "crash-restarted"
        if kind == "redis":
            d.redis.kill()
            time.sleep(self.random.uniform(0.5, 2.0))
            d.redis.start()
            return "killed and started"
        raise ValueError(kind)

    @staticmethod
    def _kill(pid: int, group: bool = False) -> str:
        try:
            if group:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return "skipped"
        return f"SIGKILL {pid}"


def settle(d: Deployment, ledger: Ledger, seconds: float = 240) -> None:
    """Wait until every acknowledged certificate is anchored in a confirmed batch, the ledger
    mirror has read the last of them, and every API process has its whole signing pool again."""
    engine = _engine(d)

    def anchored() -> bool:
        with engine.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*) FROM anchor_outbox o LEFT JOIN anchor_batch b ON b.id = o.batch_id "
                "WHERE b.state IS DISTINCT FROM 'confirmed'")).scalar_one()
        return waiting == 0

    def mirrored() -> bool:
        with engine.connect() as conn:
            last = conn.execute(text("SELECT max(block_number) FROM anchor_batch")).scalar_one()
            cursor = conn.execute(text("SELECT max(block_number) FROM ledger_cursor")).scalar_one()
        return last is None or (cursor is not None and cursor >= last)

    try:
        wait_for(lambda: _quietly(anchored), seconds, "every certificate anchored")
        wait_for(lambda: _quietly(mirrored), 60, "the ledger mirror to read the last anchor")
        wait_for(lambda: len(d.api_processes()) == 2 and all(
            len(d.signing_processes_of(p)) == d.signing_processes for p in d.api_processes()), 60,
            "every API process with its whole signing pool")
    finally:
        engine.dispose()


def _quietly(condition) -> bool:
    try:
        return bool(condition())
    except Exception:  # noqa: BLE001 - the database may be restarting: not yet
        return False


def _engine(d: Deployment):
    from notary.database import make_engine

    return make_engine(d.postgres.url)


def check(d: Deployment, ledger: Ledger) -> list[str]:
    """Every property the issue asks for; returns the violations (none is the goal)."""
    from anchoring.chain import RegistryClient, connect
    from anchoring.status import anchor_status
    from records.audit import verify_chain
    from verifier.apikeys import create_api_key

    violations: list[str] = [f"a valid request was refused: {r}" for r in ledger.refused]
    if ledger.statuses["500"]:
        violations.append(f"{ledger.statuses['500']} answers were 500 (an outage must be a 503)")
    engine = _engine(d)
    with engine.connect() as conn:
        certs = {str(r.id): r for r in conn.execute(text(
            "SELECT c.id, c.office_code, c.year, c.serial, c.document_sha256, "
            "(SELECT count(*) FROM certificate_document d WHERE d.certificate_id = c.id) AS pdfs, "
            "(SELECT count(*) FROM anchor_outbox o WHERE o.certificate_id = c.id) AS leaves, "
            "(SELECT count(*) FROM issuer_idempotency i WHERE i.certificate_id = c.id) AS keys "
            "FROM certificate c"))}
        reserved = conn.execute(text("SELECT office_code, year, serial FROM number_reservation")).all()
        batches = conn.execute(text("SELECT root, tree_size, block_number, state, office_code FROM anchor_batch")).all()
        roots_on_mirror = collections.Counter(r.root for r in conn.execute(text(
            "SELECT root FROM ledger_event WHERE kind = 'RootAnchored'")))

    # Every certificate acknowledged exists, whole; no key was answered with two.
    for certificate_id in ledger.acknowledged:
        row = certs.get(certificate_id)
        if row is None or row.pdfs != 1:
            violations.append(f"acknowledged certificate {certificate_id} missing or without its PDF")
    for key, ids in ledger.answers.items():
        if len(ids) > 1:
            violations.append(f"Idempotency-Key {key} answered with {len(ids)} certificates")
    for certificate_id, row in certs.items():
        if row.keys != 1:
            violations.append(f"certificate {certificate_id} has {row.keys} idempotency records (every request had a key)")
        if row.leaves != 1:
            violations.append(f"certificate {certificate_id} has {row.leaves} leaves in the outbox")

    # Numbers: gap-free per office and year; a free reservation is an open number, not a lost one.
    taken: dict[tuple[str, int], list[int]] = collections.defaultdict(list)
    for row in certs.values():
        taken[(row.office_code, row.year)].append(row.serial)
    for office, year, serial in reserved:
        taken[(office, year)].append(serial)
    for (office, year), serials in taken.items():
        if sorted(serials) != list(range(1, len(serials) + 1)):
            violations.append(f"numbers of {office} {year} are not gap-free or are doubled")

    # Every leaf anchored once, every batch confirmed on the node as recorded.
    deployment = json.loads(next((d.base / "data" / "chain").glob("deployment-*.json")).read_text())
    node = json.loads((d.base / "data" / "chain" / "node.json").read_text())
    registry = RegistryClient(connect(node["rpc_url"]), deployment["contract"])
    office_numbers: dict[str, int] = {}
    for b in batches:
        if b.state != "confirmed":
            violations.append(f"batch {b.root[:16]} is {b.state}")
            continue
        number = office_numbers.setdefault(b.office_code, registry.office_by_code(b.office_code))
        onchain = registry.get_anchor(number, bytes.fromhex(b.root))
        if onchain is None or onchain.block_number != b.block_number or onchain.tree_size != b.tree_size:
            violations.append(f"batch {b.root[:16]} counted as confirmed but not so on the node")
        if roots_on_mirror[b.root] != 1:
            violations.append(f"batch {b.root[:16]} is anchored {roots_on_mirror[b.root]} times on the ledger")
    for root in set(roots_on_mirror) - {b.root for b in batches}:
        violations.append(f"root {root[:16]} is anchored on the ledger but no batch holds it")
    if sum(b.tree_size for b in batches) != len(certs):
        violations.append(f"{sum(b.tree_size for b in batches)} leaves in batches for {len(certs)} certificates")
    from sqlmodel import Session

    with Session(engine) as s:
        for certificate_id in certs:
            receipt = (status := anchor_status(s, uuid.UUID(certificate_id))) and status.receipt
            if not receipt or not (receipt.leaf_matches() and receipt.proof_valid()):
                violations.append(f"certificate {certificate_id}: no receipt, or it does not prove the leaf")

    if (broken := verify_chain(engine)) is not None:
        violations.append(f"the audit chain breaks at event {broken}")

    # Every acknowledged certificate verifies PASSED: by the batch API (the mirror), and a
    # sample in full, uploaded (the node).
    _, api_key = create_api_key(engine, "chaos checker", items_per_minute=1_000_000)
    ids = sorted(ledger.acknowledged)
    with httpx.Client(base_url=d.url, timeout=600, headers={"Authorization": f"Bearer {api_key}"}) as http:
        for start in range(0, len(ids), 1000):
            answer = http.post("/api/v1/verify/batch", json={"items": [{"id": i} for i in ids[start:start + 1000]]})
            for result in answer.json()["results"]:
                if result["indication"] != "PASSED":
                    violations.append(f"certificate {result['input']['id']} is {result['indication']}: {result['checks']}")
        with engine.connect() as conn:
            for certificate_id in random.sample(ids, min(5, len(ids))):
                pdf = conn.execute(text("SELECT pdf FROM certificate_document WHERE certificate_id = :i"),
                                   {"i": uuid.UUID(certificate_id)}).scalar_one()
                report = http.post("/api/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")}).json()
                if report.get("indication") != "PASSED":
                    violations.append(f"certificate {certificate_id} uploaded: {report}")
    engine.dispose()
    return violations


def run(base: Path, seconds: float, faults: int, clients: int = 4, seed: int | None = None) -> dict:
    """One chaos run; returns its figures, with the violations found."""
    from issuer.auth import Role, create_token
    from notary.settings import Settings

    d: Deployment | None = None
    try:
        d = Deployment(base)
        d.start()
        engine = _engine(d)
        token = create_token(engine, "王丽", Role.NOTARY, Settings(_env_file=None).office_code)[1]
        engine.dispose()
        issuing = Clients(d.url, token, clients)
        issuing.start()
        driver = Faults(d, seconds, faults, seed)
        started = time.monotonic()
        driver.run()
        issuing.stop()
        issued_for = time.monotonic() - started
        settle(d, issuing.ledger)
        violations = check(d, issuing.ledger)
        return {"seconds": round(issued_for), "certificates": len(issuing.ledger.acknowledged),
                "faults": dict(driver.done), "faults_total": sum(driver.done.values()),
                "restarted": dict(d.restarted), "answers": dict(issuing.ledger.statuses),
                "given_up": len(issuing.ledger.given_up), "violations": violations, "log": driver.log}
    finally:
        if d is not None:
            d.stop()


if __name__ == "__main__":  # make chaos
    import argparse

    parser = argparse.ArgumentParser(description="The chaos suite (issue #15)")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--faults", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    figures = run(Path(tempfile.mkdtemp(prefix="notary-chaos-")) / "run", args.seconds, args.faults, args.clients,
                  args.seed)
    print(json.dumps({k: v for k, v in figures.items() if k != "log"}, ensure_ascii=False, indent=1))
    missing = set(FAULT_KINDS) - set(figures["faults"])
    if missing:
        print(f"fault kinds never injected: {sorted(missing)}")
    sys.exit(1 if figures["violations"] or figures["given_up"] or missing else 0)
