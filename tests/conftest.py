"""Shared fixtures: a real anvil node, real databases (SQLite and PostgreSQL), runtimes."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
import time
from pathlib import Path

import psycopg
import pytest
import uvicorn

from anchoring.node import EmbeddedNode
from notary.runtime import Runtime, open_runtime
from notary.settings import Settings

PG_ADMIN_URL = os.environ.get("NOTARY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def anvil_url(tmp_path_factory) -> str:
    """One real anvil node for the session; each runtime deploys its own registry on it."""
    node = EmbeddedNode(tmp_path_factory.mktemp("anvil"))
    url = node.ensure()
    yield url
    node.stop()


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc)


@pytest.fixture(scope="session")
def pg_available() -> None:
    problem = _pg_reachable()
    if problem:
        # A missing database is a failure, never a silent skip (in CI or not): half the
        # database tests would otherwise pass by not running.
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {problem}")


REDIS_URL = os.environ.get("NOTARY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis (rate limits shared by API processes); a failure if absent."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
    return REDIS_URL


@pytest.fixture
def pg_database(pg_available) -> str:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"notary_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str | None:
    """Runs a test once on SQLite (the default) and once on PostgreSQL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_database")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(data_dir: Path, rpc_url: str | None, database_url: str | None = None, **overrides) -> Settings:
    values = dict(data_dir=data_dir, rpc_url=rpc_url, database_url=database_url, key_passphrase="test-passphrase",
                  batch_age_seconds=0.2)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def runtime_factory(tmp_path, anvil_url):
    opened: list[Runtime] = []

    def make(name: str = "node", database_url: str | None = None, **overrides) -> Runtime:
        rt = open_runtime(make_settings(tmp_path / name, anvil_url, database_url, **overrides))
        opened.append(rt)
        return rt

    yield make
    for rt in opened:
        rt.close()


@pytest.fixture
def runtime(runtime_factory, database_url) -> Runtime:
    return runtime_factory(database_url=database_url)


@pytest.fixture
def sqlite_runtime(runtime_factory) -> Runtime:
    return runtime_factory()


class LiveServer:
    """The real app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, app, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    loop="asyncio", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def stop_process_group(proc, seconds: float = 60) -> None:
    """SIGTERM a server started with ``start_new_session=True`` and all it started; SIGKILL
    what is still there after ``seconds``."""
    import signal
    import subprocess

    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=seconds)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Offline machines: no background connections, no component updates (DESIGN.md).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (one per test module)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed; `make test` installs the Debian package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
