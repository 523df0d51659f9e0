"""Parse untrusted PDFs in worker processes that can be killed.

A hostile file can make a parser loop, recurse or allocate without end. Each job runs in
a long-lived child process with a memory cap; a job that overruns its time limit gets its
process killed and replaced, and the caller a clear 422. Other requests keep being served
by the other processes meanwhile.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import resource
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from processes.parent_watch import end_with_parent

from .errors import MalformedPdf, ParseTimeout, VerifierBusy, VerifierError

log = logging.getLogger("notary.verifier")
# Spawned, not forked: the parent runs threads (uvicorn, the anchoring worker).
_CTX = mp.get_context("spawn")


def _serve(conn: Connection, memory_limit: int, parent_pid: int) -> None:
    end_with_parent(parent_pid)
    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    while True:
        try:
            fn, args = conn.recv()
        except EOFError:
            return
        try:
            conn.send((True, fn(*args)))
        except VerifierError as exc:
            conn.send((False, exc))
        except MemoryError:
            conn.send((False, None))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, never a crash
            log.warning("parser process: %s", exc)
            conn.send((False, None))


class _Worker:
    def __init__(self, memory_limit: int):
        self.conn, child = _CTX.Pipe()
        self.process = _CTX.Process(target=_serve, args=(child, memory_limit, os.getpid()), daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class ParserPool:
    """A fixed number of parser processes; ``run`` blocks the calling thread (use it from
    a thread pool, never on the event loop)."""

    def __init__(self, size: int = 2, timeout: float = 10.0, memory_limit: int = 1024 * 1024 * 1024,
                 queue_timeout: float = 30.0):
        self.size, self.timeout, self.memory_limit, self.queue_timeout = size, timeout, memory_limit, queue_timeout
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._started = False

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                for _ in range(self.size):
                    self._idle.put(_Worker(self.memory_limit))
                self._started = True

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        self._start()
        try:
            worker = self._idle.get(timeout=self.queue_timeout)
        except queue.Empty:
            raise VerifierBusy("the verifier is busy; try again shortly", "核验服务繁忙，请稍后再试") from None
        healthy = False
        try:
            worker.conn.send((fn, args))
            if not worker.conn.poll(self.timeout):
                raise ParseTimeout(
                    f"reading the PDF took longer than {self.timeout:g} s; it is not a normal certificate",
                    f"读取该 PDF 超过 {self.timeout:g} 秒，不是正常的公证书文件",
                )
            ok, value = worker.conn.recv()
            healthy = True
        except (EOFError, OSError, BrokenPipeError):
            value, ok = None, False
        finally:
            if healthy:
                self._idle.put(worker)
            else:
                worker.kill()
                self._idle.put(_Worker(self.memory_limit))
        if ok:
            return value
        if isinstance(value, VerifierError):
            raise value
        raise MalformedPdf("the PDF could not be read", "无法读取该 PDF 文件")

    def close(self) -> None:
        with self._lock:
            while not self._idle.empty():
                self._idle.get_nowait().kill()
            self._started = False
