"""What must hold across server processes: revocation, role changes, shared rate limits.

These start real `crm serve` processes against the test database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, SECRET_KEY
from tests.factories import make_agent, make_company, make_team
from tests.servers import clean_env, running_server

REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "").strip()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def two_servers(database_url: str) -> Iterator[tuple[str, str]]:
    env = clean_env(
        CRM_DATABASE_URL=database_url,
        CRM_SECRET_KEY=SECRET_KEY,
        CRM_ADMIN_TOKEN=ADMIN_TOKEN,
        CRM_RATE_LIMIT_FREE="100000/minute",
        CRM_AUTH_FAILURE_LIMIT="100000/minute",
    )
    with running_server(env) as first, running_server(env) as second:
        yield first.base, second.base


async def test_a_key_revoked_on_one_process_is_refused_by_another_at_once(
    client: httpx.AsyncClient, two_servers: tuple[str, str]
) -> None:
    a, b = two_servers
    tenant = await make_company(client)
    async with httpx.AsyncClient() as http:
        # Several keys, revoked one after the other: each try is a race lost only
        # if the other process answers from memory before hearing the change.
        for attempt in range(5):
            created = await http.post(
                f"{a}/v1/api-keys", json={"name": f"doomed {attempt}"}, headers=tenant.owner.headers
            )
            key = created.json()["key"]
            # Both processes have verified (and cached) the key.
            assert (await http.get(f"{a}/v1/me", headers=bearer(key))).status_code == 200
            assert (await http.get(f"{b}/v1/me", headers=bearer(key))).status_code == 200
            revoke = await http.delete(
                f"{a}/v1/api-keys/{created.json()['id']}", headers=tenant.owner.headers
            )
            assert revoke.status_code == 204
            on_b = await http.get(f"{b}/v1/me", headers=bearer(key))
            on_a = await http.get(f"{a}/v1/me", headers=bearer(key))
            assert (attempt, on_b.status_code, on_a.status_code) == (attempt, 401, 401)


async def test_a_role_change_on_one_process_applies_on_another_at_once(
    client: httpx.AsyncClient, two_servers: tuple[str, str]
) -> None:
    a, b = two_servers
    tenant = await make_company(client)
    team = await make_team(tenant)
    leader = await make_agent(tenant, role="team_leader", team_id=team)
    mate = await make_agent(tenant, role="agent", team_id=team)
    async with httpx.AsyncClient() as http:
        made = await http.post(f"{a}/v1/contacts", json={"first_name": "M"}, headers=mate.headers)
        path = f"/v1/contacts/{made.json()['id']}"
        # Down and up again, a few times: the leader reads a teammate's contact,
        # the same leader made a plain agent does not, on the other process.
        for attempt in range(3):
            assert (await http.get(f"{b}{path}", headers=leader.headers)).status_code == 200
            demote = await http.patch(
                f"{a}/v1/agents/{leader.id}", json={"role": "agent"}, headers=tenant.owner.headers
            )
            assert demote.status_code == 200
            after = await http.get(f"{b}{path}", headers=leader.headers)
            assert (attempt, after.status_code) == (attempt, 404)
            promote = await http.patch(
                f"{a}/v1/agents/{leader.id}",
                json={"role": "team_leader"},
                headers=tenant.owner.headers,
            )
            assert promote.status_code == 200


@pytest.fixture(scope="module")
def two_servers_sharing_redis(database_url: str) -> Iterator[tuple[str, str]]:
    if not REDIS_URL:
        pytest.skip("CRM_TEST_REDIS_URL is not set: no Redis to share rate limits through")
    env = clean_env(
        CRM_DATABASE_URL=database_url,
        CRM_SECRET_KEY=SECRET_KEY,
        CRM_RATE_LIMIT_FREE="10/minute",
        CRM_RATE_LIMIT_STORAGE=REDIS_URL,
    )
    with running_server(env) as first, running_server(env) as second:
        yield first.base, second.base


async def test_two_processes_sharing_redis_enforce_one_limit_exactly(
    client: httpx.AsyncClient, two_servers_sharing_redis: tuple[str, str]
) -> None:
    a, b = two_servers_sharing_redis
    tenant = await make_company(client)
    async with httpx.AsyncClient() as http:
        responses = await asyncio.gather(
            *[http.get(f"{(a, b)[i % 2]}/v1/me", headers=tenant.owner.headers) for i in range(16)]
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 10 + [429] * 6
    assert {r.headers["ratelimit-policy"] for r in responses} == {'"plan";q=10;w=60'}
