"""The embedded chain node: anvil from the npm package ``@foundry-rs/anvil``.

Used when no ``NOTARY_RPC_URL`` is configured. The node's state is persisted in the data
directory (``--state``, dumped every second and on exit), and the running node is recorded
in ``node.json`` (its pid and the pid of the process that answers for it) so that the CLI
and the server share one node for one data directory.

A long-running process (``notary serve``, ``notary worker``) keeps the node alive
(``keep_alive``): a node that stops answering is started again from its saved state on the
same port, so clients holding its URL reconnect unchanged. The process that answers for a
node stops it when it ends; one that adopts a node whose starter has ended answers for it
from then on, so a clean stop never leaves a node behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import platform
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from observability.metrics import CHAIN_NODE_RESTARTS

from .errors import ChainNodeStartFailed

log = logging.getLogger("notary.anchoring")
REPO_ROOT = Path(__file__).resolve().parent.parent
CHAIN_ID = 31337
STATE_INTERVAL = 1  # seconds between saves of the embedded node's state


def anvil_binary(repo_root: Path = REPO_ROOT) -> Path:
    """The native anvil binary shipped in the npm package for this platform."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = platform.system().lower()
    native = repo_root / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if native.exists():
        return native
    wrapper = repo_root / "node_modules" / ".bin" / "anvil"
    if wrapper.exists():
        return wrapper
    raise ChainNodeStartFailed("the anvil chain node is not installed: run `make setup` (npm package @foundry-rs/anvil)")


def rpc_alive(url: str, timeout: float = 1.0) -> bool:
    try:
        r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout)
        return r.status_code == 200 and "result" in r.json()
    except (httpx.HTTPError, ValueError):
        return False


def _port_of(url: object) -> int | None:
    if isinstance(url, str) and url.rsplit(":", 1)[-1].isdigit():
        return int(url.rsplit(":", 1)[1])
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class EmbeddedNode:
    """A handle on the data directory's anvil; ``owned`` when this process started it."""

    directory: Path
    rpc_url: str = ""
    pid: int = 0
    owned: bool = False
    restarts: int = 0  # how often keep_alive started the node again
    _process: subprocess.Popen | None = None

    @property
    def state_file(self) -> Path:
        return self.directory / "anvil-state.json"

    def saved_since(self, moment: float) -> bool:
        """Whether a save of the node's state began after ``moment`` (a wall-clock time): the
        file is written every STATE_INTERVAL seconds, so one finished an interval later did."""
        try:
            return self.state_file.stat().st_mtime >= moment + STATE_INTERVAL
        except OSError:
            return False

    @property
    def info_file(self) -> Path:
        return self.directory / "node.json"

    def ensure(self, port: int | None = None, timeout: float = 30.0) -> str:
        """Reuse the node recorded for this directory if it answers, else start one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "node.lock", "w") as lock:
            # One process at a time decides whether to start the node.
            fcntl.flock(lock, fcntl.LOCK_EX)
            info = self._read_info()
            if self._process is not None:
                self._process.poll()  # reap a node of ours that died, so its pid reads as gone
            if info and _pid_alive(info["pid"]) and rpc_alive(info["rpc_url"]):
                self.rpc_url, self.pid = info["rpc_url"], info["pid"]
                if self.owned and self.pid == info["pid"]:
                    return self.rpc_url
                # Adopted. Its starter ended (a CLI command, a server killed): this process
                # answers for it now, so that it is stopped when the last user goes.
                owner = info.get("owner")
                self.owned = owner == os.getpid() or (isinstance(owner, int) and owner > 0 and not _pid_alive(owner))
                self._process = None
                if self.owned:
                    self.info_file.write_text(json.dumps({**info, "owner": os.getpid()}))
                return self.rpc_url
            # After a restart keep the same URL, so clients holding it reconnect unchanged:
            # this process's, else the one recorded (a process that starts while the node is
            # down must not move it to a new port, away from every other process's clients).
            previous = int(self.rpc_url.rsplit(":", 1)[1]) if self.rpc_url else None
            recorded = _port_of(info.get("rpc_url")) if info else None
            self._start(port or previous or recorded or free_port(), timeout)
            return self.rpc_url

    def _read_info(self) -> dict | None:
        try:
            return json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return None

    def _start(self, port: int, timeout: float) -> None:
        log = open(self.directory / "anvil.log", "ab")
        args = [
            str(anvil_binary()), "--host", "127.0.0.1", "--port", str(port),
            "--chain-id", str(CHAIN_ID), "--accounts", "2",
            "--state", str(self.state_file), "--state-interval", str(STATE_INTERVAL),
        ]
        # A new session: Ctrl-C in the terminal reaches us, and we stop the node cleanly
        # (so it dumps its state) rather than the signal killing it mid-write.
        self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ChainNodeStartFailed(f"anvil exited with code {self._process.returncode}; see {self.directory.name}/anvil.log")
            if rpc_alive(url, timeout=0.5):
                self.rpc_url, self.pid, self.owned = url, self._process.pid, True
                self.info_file.write_text(json.dumps({"rpc_url": url, "pid": self.pid, "owner": os.getpid()}))
                return
            time.sleep(0.05)
        self._process.kill()
        raise ChainNodeStartFailed(f"anvil did not answer on {url} within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the node if this process answers for it; anvil dumps its state on SIGTERM."""
        if not self.owned:
            return
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        elif self.pid:  # adopted: not our child, so no wait(); watch its pid go
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                if _pid_alive(self.pid):
                    os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            info = self._read_info()
            if info and info.get("pid") == self.pid:
                self.info_file.unlink()
        self.owned = False

    def keep_alive(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Until ``stop`` is set: start the node again (from its saved state, on its port)
        when it has not answered twice in a row. Run in a thread of a long-running process."""
        misses = 0
        while not stop.wait(interval):
            if rpc_alive(self.rpc_url, timeout=min(interval, 1.0)):
                misses = 0
                continue
            misses += 1
            if misses < 2:
                continue
            try:
                self.ensure()
            except (ChainNodeStartFailed, OSError) as exc:
                log.error("the chain node is down and could not be started again: %s", exc)
                continue
            misses = 0
            self.restarts += 1
            CHAIN_NODE_RESTARTS.inc()
            log.warning("the chain node had stopped; it runs again on %s (pid %d)", self.rpc_url, self.pid)

    def start_keep_alive(self) -> tuple[threading.Thread, threading.Event]:
        """``keep_alive`` in a daemon thread; set the event to end it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.keep_alive, args=(stop,), name="chain-node-keep-alive", daemon=True)
        thread.start()
        return thread, stop
