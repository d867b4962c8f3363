"""`/v1/agents`: unique emails, the last active owner, roles that apply at once, and
deactivation instead of deletion."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.factories import (
    Member,
    Tenant,
    make_agent,
    make_company,
    make_contact,
    make_team,
    unique,
)
from tests.gateway.test_problems import assert_problem


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


async def post_agent(client: httpx.AsyncClient, tenant: Tenant, **fields: object) -> httpx.Response:
    body = {"email": f"{unique('avery')}@example.com", "name": "Avery", "role": "agent", **fields}
    return await client.post("/v1/agents", json=body, headers=tenant.owner.headers)


async def patch_agent(
    client: httpx.AsyncClient, member: Member, agent_id: str, **fields: object
) -> httpx.Response:
    return await client.patch(f"/v1/agents/{agent_id}", json=fields, headers=member.headers)


async def contact_ids(client: httpx.AsyncClient, member: Member) -> set[str]:
    response = await client.get("/v1/contacts", headers=member.headers)
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["data"]}


async def test_creates_an_active_agent_with_a_location(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team_id = await make_team(tenant)
    response = await post_agent(client, tenant, role="team_leader", team_id=team_id)
    assert response.status_code == 201
    agent = response.json()
    assert response.headers["location"] == f"/v1/agents/{agent['id']}"
    assert (agent["role"], agent["team_id"], agent["is_active"]) == ("team_leader", team_id, True)
    assert agent["version"] == 1


async def test_the_password_is_never_answered(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await post_agent(client, tenant, password="correct horse battery staple")
    assert response.status_code == 201
    assert "password" not in response.text
    assert "password_hash" not in response.json()


async def test_an_email_taken_in_the_company_is_409(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email = f"{unique('sam')}@example.com"
    assert (await post_agent(client, tenant, email=email)).status_code == 201
    assert_problem(await post_agent(client, tenant, email=email), 409, "conflict")


async def test_an_email_differing_only_in_case_is_taken_too(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    email = f"{unique('sam')}@example.com"
    assert (await post_agent(client, tenant, email=email)).status_code == 201
    assert_problem(await post_agent(client, tenant, email=email.upper()), 409, "conflict")


async def test_the_same_email_is_allowed_in_another_company(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    email = f"{unique('sam')}@example.com"
    assert (await post_agent(client, tenant, email=email)).status_code == 201
    assert (await post_agent(client, other, email=email)).status_code == 201


async def test_an_unknown_team_is_422_naming_team_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    foreign_team = await make_team(other)
    response = await post_agent(client, tenant, team_id=foreign_team)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["team_id"]


async def test_an_unknown_role_is_422_naming_role(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = assert_problem(await post_agent(client, tenant, role="admin"), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["role"]


async def test_patch_answers_the_new_version_as_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    response = await patch_agent(client, tenant.owner, agent.id, name="Avery Jones")
    assert response.status_code == 200
    assert response.json()["name"] == "Avery Jones"
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    assert response.json()["version"] == 2


async def test_patch_with_a_stale_if_match_is_412(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    await patch_agent(client, tenant.owner, agent.id, name="Avery Jones")
    response = await client.patch(
        f"/v1/agents/{agent.id}",
        json={"name": "Avery Smith"},
        headers={**tenant.owner.headers, "If-Match": '"1"'},
    )
    assert_problem(response, 412, "precondition_failed")


async def test_an_agent_may_rename_itself(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    response = await patch_agent(client, agent, agent.id, name="Avery Jones")
    assert response.status_code == 200
    assert response.json()["name"] == "Avery Jones"


# The last active owner


async def test_demoting_the_last_active_owner_is_409_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await patch_agent(client, tenant.owner, tenant.owner.id, role="team_leader")
    assert_problem(response, 409, "conflict")
    me = (await client.get("/v1/me", headers=tenant.owner.headers)).json()
    assert me["agent"]["role"] == "owner"


async def test_deactivating_the_last_active_owner_is_409(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await patch_agent(client, tenant.owner, tenant.owner.id, is_active=False)
    assert_problem(response, 409, "conflict")
    assert (await client.get("/v1/me", headers=tenant.owner.headers)).status_code == 200


async def test_an_inactive_owner_does_not_count_as_another_owner(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await make_agent(tenant, role="owner")
    assert (await patch_agent(client, tenant.owner, second.id, is_active=False)).status_code == 200
    response = await patch_agent(client, tenant.owner, tenant.owner.id, role="agent")
    assert_problem(response, 409, "conflict")


async def test_an_owner_may_be_demoted_while_another_active_owner_remains(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    second = await make_agent(tenant, role="owner")
    response = await patch_agent(client, second, tenant.owner.id, role="agent")
    assert response.status_code == 200
    assert response.json()["role"] == "agent"


async def test_two_owners_stepping_down_at_once_leave_one_owner(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # Each demotes itself: both stay visible to themselves and owners whatever the order,
    # so only the last-owner rule can refuse one of them.
    second = await make_agent(tenant, role="owner")

    answers = await asyncio.gather(
        patch_agent(client, tenant.owner, tenant.owner.id, role="agent"),
        patch_agent(client, second, second.id, role="agent"),
    )

    assert sorted(a.status_code for a in answers) == [200, 409]
    survivor = second if answers[0].status_code == 200 else tenant.owner
    owners = await client.get(
        "/v1/agents", params={"role": "owner", "is_active": "true"}, headers=survivor.headers
    )
    assert [a["id"] for a in owners.json()["data"]] == [survivor.id]


# Roles apply to the very next request


async def test_a_demoted_team_leader_sees_only_its_own_contacts_on_its_next_request(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team_id = await make_team(tenant)
    leader = await make_agent(tenant, role="team_leader", team_id=team_id)
    member = await make_agent(tenant, team_id=team_id)
    own = await make_contact(leader)
    teammates = await make_contact(member)
    assert await contact_ids(client, leader) == {own["id"], teammates["id"]}

    response = await patch_agent(client, tenant.owner, leader.id, role="agent")

    assert response.status_code == 200
    assert await contact_ids(client, leader) == {own["id"]}
    hidden = await client.get(f"/v1/contacts/{teammates['id']}", headers=leader.headers)
    assert_problem(hidden, 404, "not_found")


async def test_a_promoted_agent_sees_its_team_on_its_next_request(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team_id = await make_team(tenant)
    agent = await make_agent(tenant, team_id=team_id)
    teammate = await make_agent(tenant, team_id=team_id)
    own = await make_contact(agent)
    teammates = await make_contact(teammate)
    assert await contact_ids(client, agent) == {own["id"]}

    await patch_agent(client, tenant.owner, agent.id, role="team_leader")

    assert await contact_ids(client, agent) == {own["id"], teammates["id"]}


async def test_a_team_leader_moved_to_another_team_sees_that_team_on_its_next_request(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    old_team, new_team = await make_team(tenant), await make_team(tenant)
    leader = await make_agent(tenant, role="team_leader", team_id=old_team)
    old_mate = await make_agent(tenant, team_id=old_team)
    new_mate = await make_agent(tenant, team_id=new_team)
    await make_contact(old_mate)
    theirs = await make_contact(new_mate)

    await patch_agent(client, tenant.owner, leader.id, team_id=new_team)

    assert await contact_ids(client, leader) == {theirs["id"]}


# Deactivation instead of deletion


async def test_a_deactivated_agents_key_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    assert (await client.get("/v1/me", headers=agent.headers)).status_code == 200

    response = await patch_agent(client, tenant.owner, agent.id, is_active=False)

    assert response.json()["is_active"] is False
    assert_problem(await client.get("/v1/me", headers=agent.headers), 401, "unauthenticated")
    assert_problem(await client.get("/v1/contacts", headers=agent.headers), 401, "unauthenticated")


async def test_a_deactivated_agent_stays_listed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    await patch_agent(client, tenant.owner, agent.id, is_active=False)
    response = await client.get(
        "/v1/agents", params={"is_active": "false"}, headers=tenant.owner.headers
    )
    assert [a["id"] for a in response.json()["data"]] == [agent.id]


async def test_there_is_no_delete_route(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    response = await client.delete(f"/v1/agents/{agent.id}", headers=tenant.owner.headers)
    assert_problem(response, 405, "method_not_allowed")
    assert (await client.get(f"/v1/agents/{agent.id}", headers=tenant.owner.headers)).json()[
        "is_active"
    ] is True


async def test_unknown_field_is_422_naming_it(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    response = await patch_agent(client, tenant.owner, agent.id, email="new@example.com")
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["email"]
