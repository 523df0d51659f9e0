"""Never sign with a key that may not sign: the office key as it is *now*, in every process.

A key rotated (``notary keys rotate``) or revoked (``notary keys revoke-cert``) in another
process must reach a running server within seconds, without a restart. Before each
certificate is numbered the guard (at most every few seconds) notices a changed key store
and reloads it, restarting the signing processes, and checks the key: inside its
certificate's validity window, not on the office CA's revocation list, registered on the
ledger and not retired there. Otherwise issuing fails closed with a clear error. A ledger
that cannot be reached does not stop issuing: the key was usable at the last answer, and
anchoring (which needs the ledger) happens later anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Hashable

from keys.store import OfficeSigner

from .errors import IssuerError

log = logging.getLogger("notary.issuer")


class SigningKeyNotUsable(IssuerError):
    code = "SIGNING_KEY_NOT_USABLE"
    http_status = 503


class SigningKeyGuard:
    """The current office signer, re-checked every ``interval`` seconds.

    ``load`` reads the key store; ``version`` is cheap and changes when the store on disk
    changes (file times); ``problem`` says, in zh and en, why a signer may not sign, or
    None; ``on_change`` is told of a newly loaded signer (to restart signing processes)."""

    def __init__(self, load: Callable[[], OfficeSigner], version: Callable[[], Hashable],
                 problem: Callable[[OfficeSigner], tuple[str, str] | None],
                 on_change: Callable[[OfficeSigner], None] = lambda _s: None, interval: float = 2.0):
        self._load, self._version, self._problem, self._on_change = load, version, problem, on_change
        self.interval = interval
        self._lock = threading.Lock()
        self._signer: OfficeSigner | None = None
        self._seen: Hashable = None
        self._why: tuple[str, str] | None = None
        self._checked = float("-inf")

    def current(self) -> OfficeSigner:
        """The signer to use now; raises SigningKeyNotUsable rather than return one that may not sign."""
        with self._lock:
            if time.monotonic() - self._checked >= self.interval or self._signer is None:
                self._refresh()
            signer, why = self._signer, self._why
        assert signer is not None  # _refresh loads one (or raises) before the first answer
        if why is not None:
            raise SigningKeyNotUsable(f"the office signing key may not sign: {why[1]}; nothing was issued",
                                      f"本处签章密钥当前不可用：{why[0]}；未出具任何公证书")
        return signer

    def check_now(self) -> None:
        """Re-check on the next use instead of within ``interval``: this process has just
        changed the key itself (a rotation, a revocation)."""
        with self._lock:
            self._checked = float("-inf")

    def _refresh(self) -> None:
        version = self._version()
        if self._signer is None or version != self._seen:
            signer = self._load()
            changed = self._signer is not None and signer.fingerprint != self._signer.fingerprint
            self._signer, self._seen = signer, version
            if changed:
                log.warning("office signing key changed on disk: now %s", signer.fingerprint.hex()[:16])
                self._on_change(signer)
        self._why = self._problem(self._signer)
        self._checked = time.monotonic()


def certificate_window_problem(signer: OfficeSigner, now: dt.datetime | None = None) -> tuple[str, str] | None:
    """The signing certificate's own validity window."""
    now = now or dt.datetime.now(dt.timezone.utc)
    cert = signer.certificate
    if now < cert.not_valid_before:
        return "签章证书尚未生效", "its certificate is not valid yet"
    if now >= cert.not_valid_after:
        return "签章证书已过期", "its certificate has expired"
    return None
