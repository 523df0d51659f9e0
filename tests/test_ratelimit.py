"""Rate limits shared by several API processes through a real Redis, and what happens
when Redis is gone."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from records.matters import EXAMPLES
from issuer.service import issue_certificate
from notary.app import create_app
from verifier.apikeys import create_api_key
from verifier.ratelimit import RateLimited, make_limiters


def _prefix() -> str:
    return f"notary-test-{uuid.uuid4().hex[:8]}:"


def test_two_processes_share_one_budget_per_key(redis_url):
    prefix = _prefix()
    (a, _), (b, _) = make_limiters(redis_url, prefix), make_limiters(redis_url, prefix)
    a.take("key-1", 60, per_minute=100)
    with pytest.raises(RateLimited) as exc:
        b.take("key-1", 50, per_minute=100)
    assert "100 items a minute" in exc.value.message
    b.take("key-1", 40, per_minute=100)  # what is left fits
    b.take("key-2", 100, per_minute=100)  # another key has its own budget
    (c, _) = make_limiters(redis_url, _prefix())
    c.take("key-1", 100, per_minute=100)  # another deployment (prefix) too


def test_wrong_access_codes_count_across_processes(redis_url):
    prefix = _prefix()
    (_, a), (_, b) = make_limiters(redis_url, prefix), make_limiters(redis_url, prefix)
    for n in range(10):
        (a if n % 2 else b).check("10.0.0.7")
        (a if n % 2 else b).fail("10.0.0.7")
    with pytest.raises(RateLimited):
        a.check("10.0.0.7")
    with pytest.raises(RateLimited):
        b.check("10.0.0.7")
    b.check("10.0.0.8")  # another client is not affected


def test_batch_api_limit_spans_two_app_instances(runtime_factory, redis_url):
    rt = runtime_factory(redis_url=redis_url, redis_prefix=_prefix())
    issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    _row, key = create_api_key(rt.engine, "上海市不动产登记局", items_per_minute=5)
    auth = {"Authorization": f"Bearer {key}"}
    first, second = TestClient(create_app(rt)), TestClient(create_app(rt))  # two API processes' worth of state
    items = [{"id": str(issued.id)}] * 3
    assert first.post("/api/v1/verify/batch", json={"items": items}, headers=auth).status_code == 200
    limited = second.post("/api/v1/verify/batch", json={"items": items}, headers=auth)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "RATE_LIMITED"


def test_without_redis_limits_stay_in_the_process():
    # A port nothing listens on: every call falls back to this process's own state.
    limiter, failures = make_limiters("redis://127.0.0.1:1/0", _prefix())
    limiter.take("k", 5, per_minute=5)
    with pytest.raises(RateLimited):
        limiter.take("k", 1, per_minute=5)
    for _ in range(10):
        failures.check("c")
        failures.fail("c")
    with pytest.raises(RateLimited):
        failures.check("c")
