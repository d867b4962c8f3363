"""The per-process key cache: what it remembers, and when it must not."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

import gateway.keys as keys_module
from crm import db
from crm.api_keys.service import Credential, load_credential
from crm.errors import Unauthenticated
from tests.factories import make_company


async def test_a_verified_key_is_then_served_from_memory(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    keys = app.state.gateway.keys
    tenant = await make_company(client)
    assert (await client.get("/v1/me", headers=tenant.owner.headers)).status_code == 200
    cached = keys.cached(tenant.owner.key)
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
    assert keys.cached(forged) is None


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
    assert keys.cached(tenant.owner.key) is None


async def test_a_malformed_key_is_refused_without_the_database(app: Litestar) -> None:
    keys = app.state.gateway.keys
    with pytest.raises(Unauthenticated):
        await keys.authenticate("crm_nope", conn=None)
