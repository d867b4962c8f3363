"""`/v1/teams`: unique names, and only empty teams may be deleted."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Tenant, make_agent, make_company, make_team, unique
from tests.gateway.test_problems import assert_problem


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


async def post_team(client: httpx.AsyncClient, tenant: Tenant, name: str) -> httpx.Response:
    return await client.post("/v1/teams", json={"name": name}, headers=tenant.owner.headers)


async def test_creates_a_team_with_a_location_and_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await post_team(client, tenant, "Sales")
    assert response.status_code == 201
    team = response.json()
    assert (team["name"], team["version"]) == ("Sales", 1)
    assert response.headers["location"] == f"/v1/teams/{team['id']}"
    assert response.headers["etag"] == '"1"'


async def test_a_taken_name_is_409(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await post_team(client, tenant, "Sales")).status_code == 201
    assert_problem(await post_team(client, tenant, "Sales"), 409, "conflict")


async def test_a_name_differing_only_in_case_is_taken_too(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert (await post_team(client, tenant, "Sales")).status_code == 201
    assert_problem(await post_team(client, tenant, "SALES"), 409, "conflict")


async def test_a_blank_name_is_422_naming_name(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = assert_problem(await post_team(client, tenant, "   "), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["name"]


async def test_the_same_name_is_allowed_in_another_company(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    assert (await post_team(client, tenant, "Sales")).status_code == 201
    assert (await post_team(client, other, "Sales")).status_code == 201


async def test_renaming_to_a_taken_name_is_409_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_team(tenant, "Sales")
    support = await make_team(tenant, "Support")
    response = await client.patch(
        f"/v1/teams/{support}", json={"name": "Sales"}, headers=tenant.owner.headers
    )
    assert_problem(response, 409, "conflict")
    after = await client.get(f"/v1/teams/{support}", headers=tenant.owner.headers)
    assert after.json()["name"] == "Support"


async def test_renaming_answers_the_new_version(client: httpx.AsyncClient, tenant: Tenant) -> None:
    team = await make_team(tenant, "Sales")
    response = await client.patch(
        f"/v1/teams/{team}", json={"name": "Field sales"}, headers=tenant.owner.headers
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["version"]) == ("Field sales", 2)
    assert response.headers["etag"] == '"2"'


async def test_patch_with_a_stale_if_match_is_412(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await make_team(tenant)
    response = await client.patch(
        f"/v1/teams/{team}",
        json={"name": unique("Team")},
        headers={**tenant.owner.headers, "If-Match": '"7"'},
    )
    assert_problem(response, 412, "precondition_failed")


async def test_deleting_a_team_with_agents_is_409_and_keeps_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await make_team(tenant)
    await make_agent(tenant, team_id=team)
    response = await client.delete(f"/v1/teams/{team}", headers=tenant.owner.headers)
    assert_problem(response, 409, "conflict")
    assert (await client.get(f"/v1/teams/{team}", headers=tenant.owner.headers)).status_code == 200


async def test_a_team_with_only_deactivated_agents_still_has_agents(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await make_team(tenant)
    agent = await make_agent(tenant, team_id=team)
    await client.patch(
        f"/v1/agents/{agent.id}", json={"is_active": False}, headers=tenant.owner.headers
    )
    response = await client.delete(f"/v1/teams/{team}", headers=tenant.owner.headers)
    assert_problem(response, 409, "conflict")


async def test_deleting_an_empty_team_answers_204_and_it_is_gone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await make_team(tenant)
    response = await client.delete(f"/v1/teams/{team}", headers=tenant.owner.headers)
    assert response.status_code == 204
    assert response.content == b""
    gone = await client.get(f"/v1/teams/{team}", headers=tenant.owner.headers)
    assert_problem(gone, 404, "not_found")


async def test_a_team_whose_agents_moved_out_can_be_deleted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team = await make_team(tenant)
    agent = await make_agent(tenant, team_id=team)
    await client.patch(
        f"/v1/agents/{agent.id}", json={"team_id": None}, headers=tenant.owner.headers
    )
    response = await client.delete(f"/v1/teams/{team}", headers=tenant.owner.headers)
    assert response.status_code == 204


async def test_every_agent_reads_the_teams(client: httpx.AsyncClient, tenant: Tenant) -> None:
    teams = {await make_team(tenant), await make_team(tenant)}
    agent = await make_agent(tenant)
    response = await client.get("/v1/teams", headers=agent.headers)
    assert {t["id"] for t in response.json()["data"]} == teams


async def test_unknown_field_is_422_naming_it(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/teams", json={"name": "Sales", "leader_id": "x"}, headers=tenant.owner.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["leader_id"]
