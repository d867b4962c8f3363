"""Redis away or frozen: requests are served under per-process limits, never held or failed.

Runs against the real Redis at `CRM_TEST_REDIS_URL`, reached through a
`tests.faults.FaultProxy` that the tests freeze.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from crm.settings import RateLimit, Settings
from gateway import ratelimit
from gateway.app import create_app
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, serve
from tests.factories import make_company
from tests.faults import FaultProxy, fault_proxy
from tests.servers import free_port

pytestmark = pytest.mark.asyncio

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "").strip()


@pytest.fixture
async def redis_proxy() -> AsyncIterator[FaultProxy]:
    if not REDIS_URL:
        pytest.skip("CRM_TEST_REDIS_URL is not set: no Redis to freeze")
    parts = urlsplit(REDIS_URL)
    with fault_proxy(parts.hostname or "127.0.0.1", parts.port or 6379) as proxy:
        yield proxy


def settings_with(database_url: str, storage: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        admin_token=ADMIN_TOKEN,
        rate_limit_free=RateLimit(8, 60),
        auth_failure_limit=RateLimit(100_000, 60),
        rate_limit_storage=storage,
    )


async def timed_get(
    http: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> tuple[int, float]:
    started = time.monotonic()
    response = await http.get(path, headers=headers)
    return response.status_code, time.monotonic() - started


async def test_a_frozen_redis_is_bypassed_quickly_reported_once_and_recovered_from(
    database_url: str,
    client: httpx.AsyncClient,
    redis_proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "RETRY_SECONDS", 0.5)
    caplog.set_level(logging.WARNING, logger="gateway.ratelimit")
    storage = f"redis://127.0.0.1:{redis_proxy.port}/{urlsplit(REDIS_URL).path.strip('/') or 0}"
    app = create_app(settings_with(database_url, storage))
    async with serve(app) as http:
        tenant, fresh = await make_company(client), await make_company(client)
        assert (await timed_get(http, "/v1/me", tenant.owner.headers))[0] == 200
        assert (await http.get("/health/ready")).json() == {"status": "ok", "detail": None}
        redis_proxy.freeze()
        try:
            # The plan allows 8 a minute, counted in this process during the outage
            # (a company not seen before, so nothing was counted here yet).
            frozen = [await timed_get(http, "/v1/me", fresh.owner.headers) for _ in range(9)]
            started = time.monotonic()
            ready = await http.get("/health/ready")
            ready_seconds = time.monotonic() - started
        finally:
            redis_proxy.thaw()
        await asyncio.sleep(0.6)
        back = await timed_get(http, "/v1/me", tenant.owner.headers)
        after = await http.get("/health/ready")
    # Served without waiting on Redis, and still limited (per process meanwhile).
    assert [status for status, _ in frozen] == [200] * 8 + [429]
    assert max(seconds for _, seconds in frozen) < 1.0
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready_seconds < 1.0
    warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.ratelimit"]
    assert len([w for w in warnings if "unreachable" in w]) == 1
    assert len([w for w in warnings if "reachable again" in w]) == 1
    assert back[0] == 200  # counted in Redis again: 2 of 8 used
    assert after.json() == {"status": "ok", "detail": None}


async def test_readiness_finds_a_frozen_redis_without_any_request(
    database_url: str, redis_proxy: FaultProxy
) -> None:
    storage = f"redis://127.0.0.1:{redis_proxy.port}/0"
    app = create_app(settings_with(database_url, storage))
    async with serve(app) as http:
        assert (await http.get("/health/ready")).json()["status"] == "ok"
        redis_proxy.freeze()
        try:
            started = time.monotonic()
            ready = await http.get("/health/ready")
            seconds = time.monotonic() - started
        finally:
            redis_proxy.thaw()
        again = await http.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert seconds < 1.0
    assert again.json() == {"status": "ok", "detail": None}


async def test_a_stopped_redis_fails_open_under_per_process_limits(
    database_url: str, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.ratelimit")
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(settings_with(database_url, closed))
    async with serve(app) as http:
        tenant = await make_company(client)
        seen = [await timed_get(http, "/v1/me", tenant.owner.headers) for _ in range(9)]
        ready = await http.get("/health/ready")
    assert [status for status, _ in seen] == [200] * 8 + [429]
    assert max(seconds for _, seconds in seen) < 1.0
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1
    assert not any(r.exc_info for r in caplog.records)
