"""Faults against real `crm serve` processes: slow bodies, a killed server, PostgreSQL away.

Each test states what a client sees during the fault and how soon a retry
succeeds after it. PostgreSQL is reached through `tests.faults.FaultProxy`
where a test freezes or stops it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, SECRET_KEY
from tests.factories import make_company
from tests.faults import FaultProxy, proxy_for, through
from tests.servers import Server, clean_env, running_server

pytestmark = pytest.mark.asyncio


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    return clean_env(
        CRM_DATABASE_URL=database_url,
        CRM_SECRET_KEY=SECRET_KEY,
        CRM_ADMIN_TOKEN=ADMIN_TOKEN,
        CRM_RATE_LIMIT_FREE="100000/minute",
        CRM_AUTH_FAILURE_LIMIT="100000/minute",
        **extra,
    )


# Slow bodies ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_pool_server(database_url: str) -> Iterator[Server]:
    with running_server(server_env(database_url, CRM_DATABASE_POOL_SIZE="2")) as server:
        yield server


async def trickle(base: str, key: str, stop: asyncio.Event) -> None:
    """A client that sends its headers, then one byte of its body now and then."""
    parts = urlsplit(base)
    _, writer = await asyncio.open_connection(parts.hostname, parts.port)
    body = b'{"first_name": "Slow"}'
    writer.write(
        b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    await writer.drain()
    try:
        for byte in body[:-1]:
            if stop.is_set():
                break
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.3)
    finally:
        writer.close()


async def test_clients_trickling_bodies_never_hold_up_other_tenants(
    client: httpx.AsyncClient, small_pool_server: Server
) -> None:
    slow, other = await make_company(client), await make_company(client)
    stop = asyncio.Event()
    # Five times as many slow clients as the pool has connections.
    tricklers = [
        asyncio.create_task(trickle(small_pool_server.base, slow.owner.key, stop))
        for _ in range(10)
    ]
    await asyncio.sleep(0.5)
    statuses, slowest = [], 0.0
    async with httpx.AsyncClient(base_url=small_pool_server.base, timeout=10) as http:
        for i in range(20):
            started = time.monotonic()
            if i % 2:
                response = await http.get("/v1/me", headers=other.owner.headers)
            else:
                response = await http.post(
                    "/v1/contacts", json={"first_name": f"Fast{i}"}, headers=other.owner.headers
                )
            slowest = max(slowest, time.monotonic() - started)
            statuses.append(response.status_code)
    stop.set()
    await asyncio.gather(*tricklers, return_exceptions=True)
    assert statuses == [201, 200] * 10
    assert slowest < 1.0


# A server killed between claim and commit ------------------------------------


@pytest.fixture(scope="module")
def two_servers(database_url: str) -> Iterator[tuple[Server, Server]]:
    env = server_env(database_url)
    with running_server(env) as first, running_server(env) as second:
        yield first, second


async def test_a_retry_after_a_kill_between_claim_and_commit_runs_at_once(
    client: httpx.AsyncClient, database_url: str, two_servers: tuple[Server, Server]
) -> None:
    doomed, survivor = two_servers
    tenant = await make_company(client)
    made = await client.post(
        "/v1/contacts", json={"first_name": "Kay"}, headers=tenant.owner.headers
    )
    contact = made.json()["id"]
    headers = {**tenant.owner.headers, "Idempotency-Key": "rename-kay"}
    rename = {"last_name": "Killed"}
    blocker = await asyncpg.connect(database_url)
    try:
        # Hold the contact's row: the request claims its key, then waits on the row.
        blocking = blocker.transaction()
        await blocking.start()
        await blocker.execute("SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE", contact)
        async with httpx.AsyncClient(timeout=10) as http:
            first = asyncio.create_task(
                http.patch(f"{doomed.base}/v1/contacts/{contact}", json=rename, headers=headers)
            )
            await asyncio.sleep(1.0)
            duplicate = await http.patch(
                f"{survivor.base}/v1/contacts/{contact}", json=rename, headers=headers
            )
            assert duplicate.status_code == 409
            assert duplicate.json()["code"] == "conflict"
            os.kill(doomed.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            with pytest.raises(httpx.TransportError):
                await first
            # PostgreSQL notices the dead client although its statement still waits
            # on the row: the transaction, and the key's lock with it, end.
            while await blocker.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ):
                assert time.monotonic() - killed_at < 5, "the killed request's lock stayed"
                await asyncio.sleep(0.05)
            released = time.monotonic() - killed_at
            await blocking.rollback()
            killed_at = time.monotonic()
            retries = []
            while True:
                retry = await http.patch(
                    f"{survivor.base}/v1/contacts/{contact}", json=rename, headers=headers
                )
                retries.append(retry.status_code)
                if retry.status_code != 409 or time.monotonic() - killed_at > 10:
                    break
                await asyncio.sleep(0.1)
            waited = time.monotonic() - killed_at
    finally:
        await blocker.close()
    assert retry.status_code == 200, retries
    assert retry.json()["last_name"] == "Killed"
    assert retry.json()["version"] == 2  # applied once: the killed attempt left nothing
    assert "idempotent-replayed" not in retry.headers
    assert waited < 3.0
    assert released < 2.5
    async with httpx.AsyncClient(timeout=10) as http:
        replay = await http.patch(
            f"{survivor.base}/v1/contacts/{contact}", json=rename, headers=headers
        )
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == retry.json()


# PostgreSQL away ------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied_server(database_url: str) -> Iterator[tuple[Server, FaultProxy]]:
    with proxy_for(database_url, 5432) as proxy:
        env = server_env(through(proxy, database_url))
        with running_server(env) as server:
            yield server, proxy


async def _write(http: httpx.AsyncClient, headers: dict[str, str], name: str) -> httpx.Response:
    """Create a contact named `name`, with `name` as the idempotency key too."""
    return await http.post(
        "/v1/contacts", json={"first_name": name}, headers={**headers, "Idempotency-Key": name}
    )


async def _phase(
    http: httpx.AsyncClient, headers: dict[str, str], n: int, writes: list[str] | None = None
) -> list[tuple[int, float]]:
    """`n` requests (reads and writes in turn): each one's status and duration.

    The names written are added to `writes`.
    """
    seen = []
    for i in range(n):
        started = time.monotonic()
        if i % 2:
            response = await http.get("/v1/contacts", headers=headers)
        else:
            name = f"Fault-{secrets.token_hex(6)}"
            response = await _write(http, headers, name)
            if writes is not None:
                writes.append(name)
        seen.append((response.status_code, time.monotonic() - started))
        if response.status_code >= 500:
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "service_unavailable"
    return seen


class KeptAlive:
    """One HTTP/1.1 connection kept open across requests, to see it is never dropped."""

    def __init__(self, base: str) -> None:
        self.base = urlsplit(base)

    async def __aenter__(self) -> KeptAlive:
        self.reader, self.writer = await asyncio.open_connection(self.base.hostname, self.base.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()

    async def get(self, path: str, headers: dict[str, str]) -> int:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode())
        await self.writer.drain()
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout=15)
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await self.reader.readexactly(length)
        return status


async def _until_served(kept: KeptAlive, headers: dict[str, str]) -> float:
    """Seconds until a request on `kept` is served again; every answer before is a 503."""
    started = time.monotonic()
    while time.monotonic() - started < 15:
        status = await kept.get("/v1/contacts", headers)
        if status == 200:
            return time.monotonic() - started
        assert status == 503
        await asyncio.sleep(0.1)
    raise AssertionError("not served again within 15 s")


async def _fault_run(
    server: Server,
    headers: dict[str, str],
    begin: Callable[[], None],
    end: Callable[[], None],
    n: int,
) -> dict[str, object]:
    """Requests before, during and after a fault; what each phase saw."""
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        assert (await http.get("/v1/contacts", headers=headers)).status_code == 200
        writes: list[str] = []
        begin()
        ended = False
        try:
            during = await _phase(http, headers, n, writes)
            # A connection opened during the fault and kept alive through its end.
            async with KeptAlive(server.base) as kept:
                kept_during = await kept.get("/v1/contacts", headers)
                started = time.monotonic()
                ready = await kept.get("/health/ready", {})
                ready_seconds = time.monotonic() - started
                end()
                ended = True
                recovered = await _until_served(kept, headers)
        finally:
            if not ended:
                end()
        # Each write refused during the fault, retried with its key: runs now, once.
        retried = [await _write(http, headers, name) for name in writes]
        after = await _phase(http, headers, 4)
    return {
        "retried": [(r.status_code, r.headers.get("idempotent-replayed")) for r in retried],
        "written": writes,
        "during": during,
        "kept_during": kept_during,
        "ready": ready,
        "ready_seconds": ready_seconds,
        "recovered": recovered,
        "after": [status for status, _ in after],
    }


async def _count_each(database_url: str, names: object) -> list[int]:
    conn = await asyncpg.connect(database_url)
    try:
        return [
            await conn.fetchval("SELECT count(*) FROM contacts WHERE first_name = $1", name)
            for name in names  # type: ignore[attr-defined]
        ]
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("fault", "requests", "slowest"),
    [
        # Frozen: the first request waits out its statement's bound, the next ones the pool's.
        pytest.param("freeze", 4, 4.5, id="frozen"),
        # Stopped: refused connections answer at once.
        pytest.param("stop", 6, 1.0, id="stopped"),
    ],
)
async def test_postgresql_away_costs_fast_503s_and_recovery_is_at_once(
    client: httpx.AsyncClient,
    database_url: str,
    proxied_server: tuple[Server, FaultProxy],
    fault: str,
    requests: int,
    slowest: float,
) -> None:
    server, proxy = proxied_server
    begin, end = (proxy.freeze, proxy.thaw) if fault == "freeze" else (proxy.stop, proxy.start)
    tenant = await make_company(client)
    log_offset = server.log_size()
    run = await _fault_run(server, tenant.owner.headers, begin, end, requests)
    during: list[tuple[int, float]] = run["during"]  # type: ignore[assignment]
    assert {status for status, _ in during} == {503}
    assert max(seconds for _, seconds in during) < slowest
    assert run["kept_during"] == 503
    assert run["ready"] == 503
    assert run["ready_seconds"] < 1.0  # type: ignore[operator]
    assert run["recovered"] < 3.0  # type: ignore[operator]
    assert run["after"] == [201, 200, 201, 200]
    assert run["retried"] == [(201, None)] * len(run["written"])  # type: ignore[arg-type]
    assert await _count_each(database_url, run["written"]) == [1] * len(run["written"])  # type: ignore[arg-type]
    assert server.errors_since(log_offset) == []
