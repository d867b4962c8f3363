"""`/v1/me`: the caller's agent, its company and the key it used."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Tenant, make_agent, make_company, make_team


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


async def test_answers_the_agent_the_company_and_the_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/me", headers=tenant.owner.headers)
    assert response.status_code == 200
    me = response.json()
    assert set(me) == {"agent", "company", "api_key"}
    assert me["agent"]["id"] == tenant.owner.id
    assert me["agent"]["role"] == "owner"
    assert me["company"] == (await client.get("/v1/company", headers=tenant.owner.headers)).json()


async def test_the_key_shows_only_id_name_scopes_and_expiry(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    keys = await client.get("/v1/api-keys", headers=tenant.owner.headers)
    (bootstrap,) = keys.json()["data"]
    me = (await client.get("/v1/me", headers=tenant.owner.headers)).json()
    assert me["api_key"] == {
        "id": bootstrap["id"],
        "name": bootstrap["name"],
        "scopes": bootstrap["scopes"],
        "expires_at": None,
    }


async def test_the_key_is_the_one_the_request_used(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(
        "/v1/api-keys",
        json={
            "name": "Reporting",
            "scopes": ["contacts:read", "deals:read"],
            "expires_at": "2031-01-01T00:00:00Z",
        },
        headers=tenant.owner.headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {key['key']}"})
    assert me.json()["api_key"] == {
        "id": key["id"],
        "name": "Reporting",
        "scopes": ["contacts:read", "deals:read"],
        "expires_at": "2031-01-01T00:00:00Z",
    }


async def test_answers_an_agent_its_own_record(client: httpx.AsyncClient, tenant: Tenant) -> None:
    team_id = await make_team(tenant)
    agent = await make_agent(tenant, role="team_leader", team_id=team_id)
    me = (await client.get("/v1/me", headers=agent.headers)).json()
    assert (me["agent"]["id"], me["agent"]["role"], me["agent"]["team_id"]) == (
        agent.id,
        "team_leader",
        team_id,
    )
    assert me["company"]["id"] == tenant.id


async def test_shows_the_current_role_after_a_change(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    await client.patch(
        f"/v1/agents/{agent.id}", json={"role": "owner"}, headers=tenant.owner.headers
    )
    me = (await client.get("/v1/me", headers=agent.headers)).json()
    assert me["agent"]["role"] == "owner"


async def scoped_key(
    client: httpx.AsyncClient, tenant: Tenant, scopes: list[str]
) -> dict[str, Any]:
    created = await client.post(
        "/v1/api-keys", json={"name": "Scoped", "scopes": scopes}, headers=tenant.owner.headers
    )
    assert created.status_code == 201, created.text
    return created.json()


@pytest.mark.parametrize(
    "scopes",
    [["tasks:read"], ["company:write"], ["contacts:read", "agents:read", "agents:write"]],
    ids=["tasks:read", "company:write alone", "every scope but company's"],
)
async def test_a_key_without_company_read_sees_no_company(
    client: httpx.AsyncClient, tenant: Tenant, scopes: list[str]
) -> None:
    key = await scoped_key(client, tenant, scopes)
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {key['key']}"})
    assert response.status_code == 200
    me = response.json()
    assert me["company"] is None
    assert "plan" not in response.text
    assert "billing" not in response.text
    assert me["agent"]["id"] == tenant.owner.id
    assert me["api_key"] == {
        "id": key["id"],
        "name": "Scoped",
        "scopes": scopes,
        "expires_at": None,
    }


async def test_a_key_with_company_read_alone_sees_the_company(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    key = await scoped_key(client, tenant, ["company:read"])
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {key['key']}"})
    company = await client.get("/v1/company", headers={"Authorization": f"Bearer {key['key']}"})
    assert me.json()["company"] == company.json()
    assert company.json()["id"] == tenant.id
