"""Render and sign certificates in worker processes.

Rendering and pyHanko's CMS building are pure Python and hold the GIL, so threads do not
add throughput; a pool of processes uses every core and keeps signing off the event loop
(DESIGN.md: "signing must not block the event loop"). Each worker opens the office key
and the timestamper once, in its own process; the parent sends a
:class:`~issuer.render.CertificatePage` and gets the signed PDF back.

Keys in a PKCS#11 token stay in the parent (one logged-in session, see
``keys/pkcs11_store.py``): the pool is for keys held in files.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from pyhanko.sign.timestamps import TimeStamper

from keys.store import FileKeyStore, OfficeSigner
from processes.parent_watch import end_with_parent
from signing.pades import LongTermMaterial, SignatureLevel, sign_pdf
from observability.metrics import SIGNING_POOL_RESTARTS

from .errors import SigningUnavailable
from .render import CertificatePage, render_certificate

log = logging.getLogger("notary.issuer")


@dataclass(frozen=True)
class SigningSetup:
    """What a worker needs to sign as the office (sent once, when the worker starts)."""

    key_store: FileKeyStore  # the office's key in files (PKCS#12, or PEM key + certificates)
    passphrase: bytes = field(repr=False)
    office_name: str
    font_path: Path
    level: str = SignatureLevel.B_T  # B-B needs no timestamper; the others do
    tsa_url: str | None = None
    dev_tsa_store: Path | None = None  # the development TSA's PKCS#12, when no TSA URL is set
    timeout: float = 10.0


_worker: "_WorkerState | None" = None


@dataclass
class _WorkerState:
    signer: OfficeSigner
    timestamper: TimeStamper | None
    setup: SigningSetup


def _start_worker(setup: SigningSetup, parent_pid: int) -> None:
    global _worker
    end_with_parent(parent_pid)
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when signing
    # stops (it shuts the pool down after the open requests). SIGTERM stays: it is how the
    # executor itself ends workers of a broken pool, and ignoring it would hang that.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from keys.tsa import development_tsa, timestamper

    stamper = None
    if setup.level != SignatureLevel.B_B:
        dev = None
        if not setup.tsa_url:
            assert setup.dev_tsa_store is not None  # the runtime sets one of the two for B-T and above
            dev = development_tsa(setup.dev_tsa_store, setup.passphrase)
        stamper = timestamper(setup.tsa_url, dev, setup.timeout)
    _worker = _WorkerState(setup.key_store.open(setup.passphrase), stamper, setup)


def sign_page(page: CertificatePage, font_path: Path, signer: OfficeSigner, office_name: str,
              timestamper: TimeStamper | None, long_term: LongTermMaterial | None = None) -> bytes:
    """Render and sign one certificate (in a worker or in place): the signed PDF."""
    return sign_pdf(render_certificate(page, font_path), signer, office_name, timestamper, long_term)


def _render_and_sign(page: CertificatePage, long_term: LongTermMaterial | None, spool: str) -> str:
    """Sign one page and leave the PDF in the spool directory; return its file name.

    The PDF does not travel back through the result pipe: a worker killed while writing a
    30 KB result leaves half a message there, and CPython's executor then waits for the
    rest for ever. A file name is one small, atomic pipe write."""
    w = _worker
    assert w is not None  # the pool's initializer (_start_worker) ran in this process
    pdf = sign_page(page, w.setup.font_path, w.signer, w.setup.office_name, w.timestamper, long_term)
    name = f"{page.certificate_id}.pdf"
    partial = os.path.join(spool, f".{name}.part")
    with open(partial, "wb") as fh:
        fh.write(pdf)
    os.replace(partial, os.path.join(spool, name))
    return name


class SigningPool:
    """A pool of signing processes (default: one per core)."""

    def __init__(self, setup: SigningSetup, processes: int | None = None):
        self.setup = setup
        self.processes = processes or os.cpu_count() or 1
        # Where workers leave signed PDFs for the parent (see _render_and_sign); private to
        # this process's user, removed on close.
        self._spool = tempfile.mkdtemp(prefix="notary-signing-")
        self._lock = threading.Lock()
        self._executor = self._new_executor()
        self.restarts = 0  # how often a dead signing process made the pool start afresh
        # A signing process that dies while no request is signing is noticed here, not by
        # the next clerk's request (which would fail first: found by the chaos suite).
        self._closed = threading.Event()
        threading.Thread(target=self._watch, name="signing-pool-watch", daemon=True).start()

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent runs threads (anchoring worker, chain node watcher) and
        # holds database connections that a forked child must not share.
        return ProcessPoolExecutor(max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(self.setup, os.getpid()))

    def render_and_sign_many(self, pages: Sequence[CertificatePage],
                             long_terms: Sequence[LongTermMaterial | None] | None = None) -> list[bytes]:
        """Signed PDFs in the order of ``pages``, signed in parallel (``long_terms``: the
        B-LT/B-LTA material of each page, None for B-T)."""
        executor = self._executor
        try:
            names = list(executor.map(_render_and_sign, pages, long_terms or itertools.repeat(None),
                                      itertools.repeat(self._spool)))
            return [self._take(name) for name in names]
        except BrokenProcessPool as exc:
            # A worker died (killed, out of memory): start afresh for the next request.
            self._replace_broken(executor)
            raise SigningUnavailable("a signing process stopped unexpectedly; nothing was issued",
                                     "签名进程意外退出，本次未出具任何公证书") from exc

    def _replace_broken(self, broken: ProcessPoolExecutor) -> None:
        """A new executor in place of ``broken`` (once, however many requests saw it break),
        brought to full size at once: the executor starts processes only as work arrives,
        so one request at a time would leave the pool at one process for good."""
        with self._lock:
            if self._executor is not broken:
                return  # another request replaced it already
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            self.restarts += 1
            SIGNING_POOL_RESTARTS.inc()
        log.warning("a signing process died; the pool starts %d afresh", self.processes)
        threading.Thread(target=self.warm_up, name="signing-pool-warm-up", daemon=True).start()

    def reload(self) -> None:
        """New signing processes, which read the key store afresh (after a key rotation);
        the old ones finish what they hold and stop."""
        with self._lock:
            old, self._executor = self._executor, self._new_executor()
        old.shutdown(wait=False)

    def _take(self, name: str) -> bytes:
        path = os.path.join(self._spool, name)
        with open(path, "rb") as fh:
            pdf = fh.read()
        os.unlink(path)
        return pdf

    def warm_up(self) -> None:
        """Start every worker now (a spawned worker takes about a second to import)."""
        try:
            list(self._executor.map(_noop, range(self.processes * 2)))
        except (BrokenProcessPool, RuntimeError, CancelledError) as exc:  # shut down meanwhile, or a worker failed to start
            log.warning("signing processes did not start: %s", type(exc).__name__)

    def _watch(self, every: float = 1.0) -> None:
        while not self._closed.wait(every):
            executor = self._executor
            # ProcessPoolExecutor marks itself broken when one of its processes dies.
            if getattr(executor, "_broken", False):
                self._replace_broken(executor)

    def close(self) -> None:
        self._closed.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._spool, ignore_errors=True)


def _noop(_: int) -> None:
    return None
