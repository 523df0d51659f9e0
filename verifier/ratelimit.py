"""Rate limits: per-registry-key token buckets and per-client wrong-access-code counters.

With ``NOTARY_REDIS_URL`` set, the state lives in Redis, so several API processes (or
hosts) share one budget per key and one failure count per client; the updates are Lua
scripts, atomic on the server, timed by the Redis clock. Without it, or while Redis cannot
be reached, each process keeps its own state (logged), which is the right answer for one
process and a safe one for several: a limit never disappears, it is at most multiplied
by the number of processes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass

import redis
from redis.exceptions import RedisError

from .errors import VerifierError

log = logging.getLogger("notary.verifier")


class RateLimited(VerifierError):
    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, message_zh: str, retry_after: float):
        super().__init__(message, message_zh)
        self.retry_after = max(1, math.ceil(retry_after))  # seconds, for the Retry-After header

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def _over_budget(per_minute: float, wait: float) -> RateLimited:
    return RateLimited(f"rate limit of {per_minute:g} items a minute reached; retry in {math.ceil(wait)} s",
                       f"已达到每分钟 {per_minute:g} 项的上限，请 {math.ceil(wait)} 秒后再试", wait)


def _too_many_failures(wait: float) -> RateLimited:
    """Says when to try again, as a clock time (UTC+8, the offices' time) and in minutes."""
    minutes = max(1, math.ceil(wait / 60))
    at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=wait)).astimezone(_BEIJING)
    return RateLimited(f"too many wrong access codes; try again in {minutes} min (after {at:%H:%M} Beijing time)",
                       f"查验码错误次数过多，请 {minutes} 分钟后（北京时间 {at:%H:%M} 以后）再试", wait)


_BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per key, refilled continuously (in this process)."""

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
                raise _over_budget(per_minute, (amount - b.tokens) * 60 / per_minute)
            b.tokens -= amount


class FailureLimiter:
    """Failed access-code attempts per client in a sliding window (in this process)."""

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
                # Allowed again once enough of the oldest failures have left the window.
                raise _too_many_failures(recent[len(recent) - self.max_failures] + self.window - now)

    def fail(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, []).append(time.monotonic())


# KEYS[1] bucket; ARGV amount, per_minute. Returns {taken (0/1), tokens left}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local amount, per_minute = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or per_minute
local updated = tonumber(state[2]) or now
tokens = math.min(per_minute, tokens + math.max(0, now - updated) * per_minute / 60)
local taken = 0
if amount <= tokens then tokens = tokens - amount; taken = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], 120)
return {taken, tostring(tokens)}
"""

# KEYS[1] failures (sorted set of attempt times); ARGV window, member (or '' to only count),
# max failures. Returns {count, seconds until the count is below the maximum again}.
_FAILURES = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if ARGV[2] ~= '' then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('EXPIRE', KEYS[1], math.ceil(window))
end
local count = redis.call('ZCARD', KEYS[1])
local wait = 0
local over = count - tonumber(ARGV[3])
if over >= 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], over, over, 'WITHSCORES')
  wait = tonumber(oldest[2]) + window - now
end
return {count, tostring(wait)}
"""


class SharedRateLimiter(RateLimiter):
    """The same buckets, kept in Redis for every process of the service."""

    def __init__(self, client, prefix: str) -> None:
        super().__init__()
        self._script = client.register_script(_TAKE)
        self._prefix = prefix

    def take(self, key: str, amount: float, per_minute: float) -> None:
        try:
            taken, tokens = self._script(keys=[f"{self._prefix}bucket:{key}"], args=[amount, per_minute])
        except RedisError as exc:
            log.warning("rate limits kept in this process: Redis unavailable (%s)", type(exc).__name__)
            return super().take(key, amount, per_minute)
        if not int(taken):
            raise _over_budget(per_minute, (amount - float(tokens)) * 60 / per_minute)


class SharedFailureLimiter(FailureLimiter):
    """The same failure counts, kept in Redis for every process of the service."""

    def __init__(self, client, prefix: str, max_failures: int = 10, window_seconds: float = 900) -> None:
        super().__init__(max_failures, window_seconds)
        self._script = client.register_script(_FAILURES)
        self._prefix = prefix

    def _count(self, client: str, record: bool) -> tuple[int, float] | None:
        try:
            count, wait = self._script(keys=[f"{self._prefix}failures:{client}"],
                                       args=[self.window, uuid.uuid4().hex if record else "", self.max_failures])
            return int(count), float(wait)
        except RedisError as exc:
            log.warning("access-code failures counted in this process: Redis unavailable (%s)", type(exc).__name__)
            return None

    def check(self, client: str) -> None:
        counted = self._count(client, record=False)
        if counted is None:
            return super().check(client)
        count, wait = counted
        if count >= self.max_failures:
            raise _too_many_failures(wait)

    def fail(self, client: str) -> None:
        if self._count(client, record=True) is None:
            super().fail(client)


def make_limiters(redis_url: str | None, prefix: str, max_failures: int = 10) -> tuple[RateLimiter, FailureLimiter]:
    """Shared limiters when a Redis URL is configured, else per-process ones. The failure
    limiter allows ``max_failures`` in its window per key."""
    if not redis_url:
        return RateLimiter(), FailureLimiter(max_failures)
    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return SharedRateLimiter(client, prefix), SharedFailureLimiter(client, prefix, max_failures)
