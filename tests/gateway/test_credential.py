"""Who is calling: client addresses behind proxies, failure limits, and what a refusal tells."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from crm import db
from crm.security import _checksum, generate_api_key
from crm.settings import RateLimit, Settings
from gateway.app import create_app
from gateway.credential import client_address
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, serve
from tests.factories import make_agent, make_company


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def scope_from(peer: str, *forwarded: str) -> dict[str, object]:
    return {
        "client": (peer, 50000),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


PROXIES = Settings(trusted_proxies=("10.0.0.1/32", "192.168.0.0/16")).proxy_networks()


# Client addresses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),  # not a proxy: its header is ignored
        ("127.0.0.1", ["198.51.100.1"], "127.0.0.1"),  # loopback is not trusted by default
        ("10.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.1", ["1.1.1.1, 198.51.100.1"], "198.51.100.1"),  # what the client wrote is left
        ("10.0.0.1", ["198.51.100.1, 192.168.4.4"], "198.51.100.1"),  # proxies are skipped
        ("192.168.9.9", ["1.1.1.1", "198.51.100.2"], "198.51.100.2"),  # headers joined in order
        ("10.0.0.1", [], "10.0.0.1"),
        ("10.0.0.1", ["192.168.1.1"], "192.168.1.1"),  # only proxies: the farthest one
    ],
)
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    peer: str, forwarded: list[str], expected: str
) -> None:
    assert client_address(scope_from(peer, *forwarded), PROXIES) == expected


def test_without_trusted_proxies_the_socket_peer_is_the_address() -> None:
    assert client_address(scope_from("10.0.0.1", "198.51.100.1"), ()) == "10.0.0.1"


@pytest.fixture
async def strict(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app allowing 3 failed authentications a minute per address, trusting no proxy."""
    app: Litestar = create_app(
        Settings(
            database_url=database_url,
            secret_key=SECRET_KEY,
            admin_token=ADMIN_TOKEN,
            rate_limit_free=RateLimit(1000, 60),
            auth_failure_limit=RateLimit(3, 60),
        )
    )
    async with serve(app) as http:
        yield http


async def test_varying_x_forwarded_for_does_not_escape_the_failure_limit(
    strict: httpx.AsyncClient,
) -> None:
    statuses = [
        (
            await strict.get(
                "/v1/me",
                headers={**bearer(generate_api_key().key), "X-Forwarded-For": f"198.51.100.{i}"},
            )
        ).status_code
        for i in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


async def test_a_valid_key_never_seen_before_is_served_from_an_address_over_the_limit(
    strict: httpx.AsyncClient,
) -> None:
    tenant = await make_company(strict)
    for _ in range(4):
        await strict.get("/v1/me", headers=bearer(generate_api_key().key))
    assert (await strict.get("/v1/me", headers=bearer("crm_guess"))).status_code == 429
    # Not cached anywhere yet: verified in the database, and served.
    response = await strict.get("/v1/me", headers=tenant.owner.headers)
    assert response.status_code == 200
    assert response.json()["agent"]["id"] == tenant.owner.id


async def test_admin_token_failures_are_limited_per_address(strict: httpx.AsyncClient) -> None:
    wrong = {"Authorization": "Bearer " + "w" * 40}
    statuses = [
        (await strict.get("/admin/v1/billing-events", headers=wrong)).status_code for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]
    limited = await strict.get("/admin/v1/billing-events", headers=wrong)
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    # The right token is still served from that address.
    right = await strict.get(
        "/admin/v1/billing-events", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert right.status_code == 200


@pytest.mark.parametrize(
    "token",
    ["tökén-with-accents", "é" * 40, ADMIN_TOKEN[:-1] + "\xff"],
    ids=["accented", "all non-ascii", "latin-1 octet"],
)
async def test_a_non_ascii_admin_bearer_is_401(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(
        "/admin/v1/billing-events",
        headers=[(b"Authorization", b"Bearer " + token.encode("utf-8"))],
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


# What a refusal tells --------------------------------------------------------


async def _sql(query: str, *args: object) -> None:
    async with db.transaction() as tx:
        await tx.connection.execute(query, *args)


def _wrong_secret(key: str) -> str:
    """Another secret with a valid checksum behind the same public prefix."""
    prefix = key.split("_")[1]
    body = f"crm_{prefix}_{generate_api_key().key.split('_')[2][:43]}"
    return body + _checksum(body)


async def test_a_wrong_secret_reads_the_same_whatever_the_state_of_the_key(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    states = {}
    for state in ("active", "revoked", "deactivated", "expired"):
        agent = await make_agent(tenant)
        made = await client.post("/v1/api-keys", json={"name": state}, headers=agent.headers)
        key_id, key = made.json()["id"], made.json()["key"]
        if state == "revoked":
            await client.delete(f"/v1/api-keys/{key_id}", headers=tenant.owner.headers)
        elif state == "deactivated":
            await client.patch(
                f"/v1/agents/{agent.id}", json={"is_active": False}, headers=tenant.owner.headers
            )
        elif state == "expired":
            await _sql(
                "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1",
                key_id,
            )
        response = await client.get("/v1/me", headers=bearer(_wrong_secret(key)))
        assert response.status_code == 401
        states[state] = response.json()["detail"]
    unknown = await client.get("/v1/me", headers=bearer(generate_api_key().key))
    assert set(states.values()) == {unknown.json()["detail"]} == {"The API key is not valid."}


async def test_the_holder_of_the_secret_learns_why_it_is_refused(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    agent = await make_agent(tenant)
    await client.patch(
        f"/v1/agents/{agent.id}", json={"is_active": False}, headers=tenant.owner.headers
    )
    response = await client.get("/v1/me", headers=agent.headers)
    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]
