"""The per-process key cache: what it remembers, and when it must not."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import asyncpg
import httpx
import pytest
from litestar import Litestar

import gateway.keys as keys_module
from crm import db
from crm.api_keys.service import Credential, load_credential
from crm.auth_changes import AUTH_CHANNEL
from crm.errors import Unauthenticated
from tests.factories import make_company


async def test_a_verified_key_is_then_served_from_memory(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    keys = app.state.gateway.keys
    tenant = await make_company(client)
    assert (await client.get("/v1/me", headers=tenant.owner.headers)).status_code == 200
    cached = await keys.cached(tenant.owner.key)
    assert cached is not None
    assert cached.actor.agent_id == tenant.owner.id


async def test_a_wrong_secret_is_never_served_from_memory(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    keys = app.state.gateway.keys
    tenant = await make_company(client)
    await client.get("/v1/me", headers=tenant.owner.headers)
    forged = (
        tenant.owner.key[:-7]
        + ("A" if tenant.owner.key[-7] != "A" else "B")
        + tenant.owner.key[-6:]
    )
    assert await keys.cached(forged) is None


async def test_a_change_heard_during_a_lookup_is_not_remembered(
    client: httpx.AsyncClient, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = app.state.gateway.keys
    tenant = await make_company(client)

    async def revoked_meanwhile(prefix: str) -> Credential:
        credential = await load_credential(prefix)
        keys.forget(f"key:{prefix}:nonce")  # the revocation's notification arrives now
        return credential

    monkeypatch.setattr(keys_module, "load_credential", revoked_meanwhile)
    async with db.pool().acquire() as conn:
        await keys.authenticate(tenant.owner.key, conn)
    assert await keys.cached(tenant.owner.key) is None


async def test_a_malformed_key_is_refused_without_the_database(app: Litestar) -> None:
    keys = app.state.gateway.keys
    with pytest.raises(Unauthenticated):
        await keys.authenticate("crm_nope", conn=None)


def notify_elsewhere(database_url: str, event: str) -> None:
    """Commit an auth notification from another thread, holding this one until it has."""

    async def send() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("SELECT pg_notify($1, $2)", AUTH_CHANNEL, event)
        finally:
            await conn.close()

    thread = threading.Thread(target=asyncio.run, args=(send(),))
    thread.start()
    thread.join()


async def test_a_change_committed_elsewhere_is_heard_before_memory_answers(
    client: httpx.AsyncClient, app: Litestar, database_url: str
) -> None:
    keys = app.state.gateway.keys
    tenant = await make_company(client)
    assert (await client.get("/v1/me", headers=tenant.owner.headers)).status_code == 200
    cached = await keys.cached(tenant.owner.key)
    assert cached is not None
    # Another process revokes: its notification is committed while this event
    # loop is held, so the listener has not run since. Memory must not answer
    # before hearing it.
    notify_elsewhere(database_url, f"key:{cached.prefix}:n")
    assert await keys.cached(tenant.owner.key) is None


async def test_requests_arriving_together_share_one_round_trip(
    client: httpx.AsyncClient, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = app.state.gateway.keys
    tenant = await make_company(client)
    await client.get("/v1/me", headers=tenant.owner.headers)
    sent: list[str] = []
    original = keys._round_trip

    async def counted() -> bool:
        sent.append("SELECT 1")
        return await original()

    monkeypatch.setattr(keys, "_round_trip", counted)
    found = await asyncio.gather(*[keys.cached(tenant.owner.key) for _ in range(50)])
    assert [c.actor.agent_id for c in found if c is not None] == [tenant.owner.id] * 50
    assert sent == ["SELECT 1"]


async def test_a_stalled_listener_sends_requests_to_the_database_not_into_a_wait(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    keys = app.state.gateway.keys
    tenant = await make_company(client)
    assert (await client.get("/v1/me", headers=tenant.owner.headers)).status_code == 200
    assert keys.listening
    backend = keys._connection.get_server_pid()
    try:
        os.kill(backend, signal.SIGSTOP)  # the listening backend stops answering
    except (ProcessLookupError, PermissionError):
        pytest.skip("the database's backends are not processes of this machine")
    try:
        started = time.monotonic()
        assert await keys.cached(tenant.owner.key) is None
        waited = time.monotonic() - started
        me = await client.get("/v1/me", headers=tenant.owner.headers)
        # Unanswered long enough, the listener counts as lost: memory is bypassed.
        for _ in range(100):
            if not keys.listening:
                break
            await asyncio.sleep(0.05)
        assert not keys.listening
    finally:
        os.kill(backend, signal.SIGCONT)
    assert waited < keys_module.BARRIER_SECONDS + 0.5
    assert me.status_code == 200
    assert me.json()["agent"]["id"] == tenant.owner.id
    # The listener comes back by itself, and memory serves again.
    for _ in range(100):
        if keys.listening:
            break
        await asyncio.sleep(0.05)
    assert keys.listening
    assert (await client.get("/v1/me", headers=tenant.owner.headers)).status_code == 200
    assert await keys.cached(tenant.owner.key) is not None
