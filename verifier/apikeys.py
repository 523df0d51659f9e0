"""API keys for registries: create, authenticate, rate-limit."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from keys.secrets import bearer, new_secret, secret_hash

from .errors import VerifierError
from .models import ApiKey

KEY_PREFIX = "enk_"


class Unauthorised(VerifierError):
    code = "API_KEY_INVALID"
    http_status = 401


class RateLimited(VerifierError):
    code = "RATE_LIMITED"
    http_status = 429


def create_api_key(engine: Engine, name: str, items_per_minute: int = 6000) -> tuple[ApiKey, str]:
    """Returns the row and the key itself, which is shown once and never stored."""
    key, key_hash = new_secret(KEY_PREFIX)
    row = ApiKey(name=name, key_hash=key_hash, items_per_minute=items_per_minute)
    with Session(engine, expire_on_commit=False) as s:
        s.add(row)
        s.commit()
    return row, key


def authenticate(engine: Engine, authorization: str | None) -> ApiKey:
    key = bearer(authorization)
    if key is None:
        raise Unauthorised("send the registry API key as 'Authorization: Bearer <key>'",
                           "请在 Authorization 头中提供 API 密钥")
    with Session(engine) as s:
        row = s.exec(select(ApiKey).where(ApiKey.key_hash == secret_hash(key))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorised("unknown or revoked API key", "API 密钥无效或已注销")
    return row


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per key, refilled continuously. In-process: behind several API
    processes each keeps its own share (documented; a shared store is the next step)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, amount: float, per_minute: float) -> None:
        now = time.monotonic()
        with self._lock:
            b = self._buckets.setdefault(key, _Bucket(per_minute, now))
            b.tokens = min(per_minute, b.tokens + (now - b.updated) * per_minute / 60)
            b.updated = now
            if amount > b.tokens:
                wait = (amount - b.tokens) * 60 / per_minute
                raise RateLimited(f"rate limit of {per_minute:g} items a minute reached; retry in {wait:.0f} s",
                                  f"已达到每分钟 {per_minute:g} 项的上限，请 {wait:.0f} 秒后再试")
            b.tokens -= amount


class FailureLimiter:
    """Counts failed access-code attempts per client; too many in the window -> 429."""

    def __init__(self, max_failures: int = 10, window_seconds: float = 900):
        self.max_failures, self.window = max_failures, window_seconds
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.window]
            self._failures[client] = recent
            if len(recent) >= self.max_failures:
                raise RateLimited("too many wrong access codes; try again later", "查验码错误次数过多，请稍后再试")

    def fail(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, []).append(time.monotonic())
