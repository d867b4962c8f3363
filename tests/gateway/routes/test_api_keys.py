"""`/v1/api-keys`: issuing a key (its secret shown once), who it acts as, who sees and
revokes which keys, and revocation that applies to the very next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from crm.policy import KeyScope
from tests.factories import Member, Tenant, make_agent, make_company, make_team
from tests.gateway.test_problems import assert_problem

RECORD_FIELDS = {
    "id",
    "name",
    "agent_id",
    "prefix",
    "scopes",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
}


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def post_key(client: httpx.AsyncClient, member: Member, **fields: object) -> httpx.Response:
    return await client.post(
        "/v1/api-keys", json={"name": "Integration", **fields}, headers=member.headers
    )


async def new_key(client: httpx.AsyncClient, member: Member, **fields: object) -> dict[str, Any]:
    """A key issued through the API: its record plus `key`, the full secret."""
    response = await post_key(client, member, **fields)
    assert response.status_code == 201, response.text
    return response.json()


async def key_id_of(client: httpx.AsyncClient, member: Member) -> str:
    """The id of the key a member's requests use."""
    me = await client.get("/v1/me", headers=member.headers)
    assert me.status_code == 200, me.text
    return me.json()["api_key"]["id"]


async def listed_ids(client: httpx.AsyncClient, member: Member, query: str = "") -> list[str]:
    response = await client.get(f"/v1/api-keys?limit=200{query}", headers=member.headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return [k["id"] for k in response.json()["data"]]


async def team_of_two(tenant: Tenant) -> tuple[Member, Member]:
    """A team leader and an agent of the same team."""
    team_id = await make_team(tenant)
    leader = await make_agent(tenant, role="team_leader", team_id=team_id)
    agent = await make_agent(tenant, role="agent", team_id=team_id)
    return leader, agent


# Creating a key ---------------------------------------------------------------


async def test_creates_a_key_with_a_location_its_record_and_the_full_secret(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await post_key(client, tenant.owner, name="Zapier")
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/v1/api-keys/{created['id']}"
    assert set(created) == RECORD_FIELDS | {"key"}
    assert (created["name"], created["agent_id"]) == ("Zapier", tenant.owner.id)
    assert (created["expires_at"], created["last_used_at"], created["revoked_at"]) == (
        None,
        None,
        None,
    )
    created_at = datetime.fromisoformat(created["created_at"])
    assert abs(datetime.now(UTC) - created_at) < timedelta(minutes=1)


async def test_the_secret_starts_with_crm_and_the_records_prefix(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await new_key(client, tenant.owner)
    assert created["prefix"].startswith("crm_")
    assert created["key"].startswith(created["prefix"] + "_")
    assert len(created["key"]) > len(created["prefix"]) + 40


async def test_the_new_key_authenticates_as_its_creator(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await new_key(client, tenant.owner)
    me = await client.get("/v1/me", headers=bearer(created["key"]))
    assert me.status_code == 200
    assert me.json()["agent"]["id"] == tenant.owner.id
    assert me.json()["api_key"]["id"] == created["id"]


async def test_get_one_answers_the_record_without_the_secret_or_a_hash(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await new_key(client, tenant.owner)
    response = await client.get(f"/v1/api-keys/{created['id']}", headers=tenant.owner.headers)
    assert response.status_code == 200
    record = response.json()
    assert set(record) == RECORD_FIELDS
    assert record == {k: v for k, v in created.items() if k != "key"}
    assert created["key"] not in response.text
    assert "hash" not in response.text


async def test_the_list_never_shows_a_secret_or_a_hash(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await new_key(client, tenant.owner)
    response = await client.get("/v1/api-keys", headers=tenant.owner.headers)
    assert response.status_code == 200
    records = response.json()["data"]
    assert len(records) == 2
    assert all(set(record) == RECORD_FIELDS for record in records)
    assert created["key"] not in response.text
    assert tenant.owner.key not in response.text
    assert "hash" not in response.text


async def test_a_key_created_without_scopes_has_all_ten(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await new_key(client, tenant.owner)
    assert sorted(created["scopes"]) == sorted(KeyScope)
    assert len(KeyScope) == 12


async def test_a_key_has_exactly_the_scopes_asked_for_each_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await new_key(
        client, tenant.owner, scopes=["deals:read", "contacts:write", "deals:read"]
    )
    assert sorted(created["scopes"]) == ["contacts:write", "deals:read"]
    stored = await client.get(f"/v1/api-keys/{created['id']}", headers=tenant.owner.headers)
    assert sorted(stored.json()["scopes"]) == ["contacts:write", "deals:read"]
    me = await client.get("/v1/me", headers=bearer(created["key"]))
    assert sorted(me.json()["api_key"]["scopes"]) == ["contacts:write", "deals:read"]


async def test_an_unknown_scope_is_422_naming_scopes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await post_key(client, tenant.owner, scopes=["contacts:read", "contacts:admin"])
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["scopes[1]"]


async def test_expires_at_in_the_future_is_kept(client: httpx.AsyncClient, tenant: Tenant) -> None:
    expires_at = rfc3339(datetime.now(UTC) + timedelta(days=30))
    created = await new_key(client, tenant.owner, expires_at=expires_at)
    assert created["expires_at"] == expires_at
    assert (await client.get("/v1/me", headers=bearer(created["key"]))).status_code == 200


async def test_expires_at_in_the_past_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    expires_at = rfc3339(datetime.now(UTC) - timedelta(minutes=1))
    response = await post_key(client, tenant.owner, expires_at=expires_at)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["expires_at"]
    assert await listed_ids(client, tenant.owner) == [await key_id_of(client, tenant.owner)]


async def test_expires_at_without_a_time_zone_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    naive = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")
    response = await post_key(client, tenant.owner, expires_at=naive)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["expires_at"]


# A key never makes a key that outlives it -----------------------------------------


async def expiring_member(client: httpx.AsyncClient, tenant: Tenant, days: int = 7) -> Member:
    """The owner, acting through a key that expires in `days` days."""
    expires_at = rfc3339(datetime.now(UTC) + timedelta(days=days))
    key = await new_key(client, tenant.owner, expires_at=expires_at)
    return Member(actor=tenant.owner.actor, key=key["key"])


async def expiry_of(client: httpx.AsyncClient, member: Member) -> str:
    me = await client.get("/v1/me", headers=member.headers)
    return me.json()["api_key"]["expires_at"]


@pytest.mark.parametrize("for_another_agent", [False, True], ids=["own", "another agent's"])
async def test_from_an_expiring_key_a_new_key_expires_with_it_by_default(
    client: httpx.AsyncClient, tenant: Tenant, for_another_agent: bool
) -> None:
    weekly = await expiring_member(client, tenant)
    fields = {"agent_id": (await make_agent(tenant)).id} if for_another_agent else {}
    created = await new_key(client, weekly, **fields)
    assert created["expires_at"] == await expiry_of(client, weekly)
    stored = await client.get(f"/v1/api-keys/{created['id']}", headers=tenant.owner.headers)
    assert stored.json()["expires_at"] == created["expires_at"]


@pytest.mark.parametrize("for_another_agent", [False, True], ids=["own", "another agent's"])
@pytest.mark.parametrize("later", [timedelta(seconds=1), timedelta(days=3650)], ids=["1 s", "10 y"])
async def test_from_an_expiring_key_a_later_expiry_is_422_and_makes_no_key(
    client: httpx.AsyncClient, tenant: Tenant, for_another_agent: bool, later: timedelta
) -> None:
    weekly = await expiring_member(client, tenant)
    limit = datetime.fromisoformat(await expiry_of(client, weekly))
    fields = {"agent_id": (await make_agent(tenant)).id} if for_another_agent else {}
    before = await listed_ids(client, tenant.owner)
    response = await post_key(client, weekly, expires_at=rfc3339(limit + later), **fields)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["expires_at"]
    assert await listed_ids(client, tenant.owner) == before


@pytest.mark.parametrize("sooner", [timedelta(0), timedelta(days=1)], ids=["the same", "sooner"])
async def test_from_an_expiring_key_the_same_or_a_sooner_expiry_is_kept(
    client: httpx.AsyncClient, tenant: Tenant, sooner: timedelta
) -> None:
    weekly = await expiring_member(client, tenant)
    expires_at = rfc3339(datetime.fromisoformat(await expiry_of(client, weekly)) - sooner)
    created = await new_key(client, weekly, expires_at=expires_at)
    assert created["expires_at"] == expires_at


async def test_a_key_made_by_a_key_made_by_an_expiring_key_still_expires_with_the_first(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    weekly = await expiring_member(client, tenant)
    child = await new_key(client, weekly)
    grandchild = await new_key(client, Member(actor=tenant.owner.actor, key=child["key"]))
    assert grandchild["expires_at"] == child["expires_at"] == await expiry_of(client, weekly)


async def test_a_key_without_expiry_may_make_a_key_that_never_expires_or_expires_any_time(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert await expiry_of(client, tenant.owner) is None
    assert (await new_key(client, tenant.owner))["expires_at"] is None
    far = "2999-01-01T00:00:00Z"
    assert (await new_key(client, tenant.owner, expires_at=far))["expires_at"] == far


@pytest.mark.parametrize("for_another_agent", [False, True], ids=["own", "another agent's"])
async def test_a_key_cannot_give_a_new_key_scopes_it_lacks(
    client: httpx.AsyncClient, tenant: Tenant, for_another_agent: bool
) -> None:
    narrow = await new_key(client, tenant.owner, scopes=["agents:write", "contacts:read"])
    member = Member(actor=tenant.owner.actor, key=narrow["key"])
    fields = {"agent_id": (await make_agent(tenant)).id} if for_another_agent else {}
    before = await listed_ids(client, tenant.owner)
    for scopes in (["contacts:write"], None):  # named, or every scope by default
        body = {**fields, **({"scopes": scopes} if scopes else {})}
        response = await post_key(client, member, **body)
        assert_problem(response, 403, "insufficient_scope")
    assert await listed_ids(client, tenant.owner) == before
    created = await new_key(client, member, scopes=["contacts:read"], **fields)
    assert created["scopes"] == ["contacts:read"]


# A key for another agent ------------------------------------------------------


async def test_an_owner_may_issue_a_key_that_acts_as_another_agent(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    team_id = await make_team(tenant)
    agent = await make_agent(tenant, role="agent", team_id=team_id)
    created = await new_key(client, tenant.owner, agent_id=agent.id)
    assert created["agent_id"] == agent.id
    me = await client.get("/v1/me", headers=bearer(created["key"]))
    assert me.status_code == 200
    assert (me.json()["agent"]["id"], me.json()["agent"]["role"]) == (agent.id, "agent")
    # It acts with the agent's rights, not the owner's who issued it.
    company = await client.patch(
        "/v1/company", json={"name": "Renamed"}, headers=bearer(created["key"])
    )
    assert_problem(company, 403, "forbidden")


@pytest.mark.parametrize(
    ("role", "other"),
    [("team_leader", "its team's agent"), ("agent", "its team leader"), ("agent", "the owner")],
)
async def test_a_non_owner_naming_another_agent_is_403(
    client: httpx.AsyncClient, tenant: Tenant, role: str, other: str
) -> None:
    leader, agent = await team_of_two(tenant)
    caller = leader if role == "team_leader" else agent
    target = {"its team's agent": agent, "its team leader": leader, "the owner": tenant.owner}
    response = await post_key(client, caller, agent_id=target[other].id)
    assert_problem(response, 403, "forbidden")
    assert await listed_ids(client, tenant.owner, f"&agent_id={target[other].id}") == [
        await key_id_of(client, target[other])
    ]


@pytest.mark.parametrize("role", ["team_leader", "agent"])
async def test_a_non_owner_may_name_itself(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    leader, agent = await team_of_two(tenant)
    caller = leader if role == "team_leader" else agent
    created = await new_key(client, caller, agent_id=caller.id)
    assert created["agent_id"] == caller.id


@pytest.mark.parametrize("which", ["another company's agent", "a missing id", "a malformed id"])
async def test_an_owner_naming_an_agent_outside_the_company_is_422_naming_agent_id(
    client: httpx.AsyncClient, tenant: Tenant, which: str
) -> None:
    other = await make_company(client)
    agent_id = {
        "another company's agent": other.owner.id,
        "a missing id": "01900000-0000-7000-8000-000000000000",
        "a malformed id": "not-an-id",
    }[which]
    response = await post_key(client, tenant.owner, agent_id=agent_id)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["agent_id"]
    assert await listed_ids(client, other.owner) == [await key_id_of(client, other.owner)]


@pytest.mark.parametrize("which", ["another company's agent", "a missing id"])
async def test_a_non_owner_naming_an_agent_outside_the_company_is_422_naming_agent_id(
    client: httpx.AsyncClient, tenant: Tenant, which: str
) -> None:
    leader, _ = await team_of_two(tenant)
    other = await make_company(client)
    agent_id = {
        "another company's agent": other.owner.id,
        "a missing id": "01900000-0000-7000-8000-000000000000",
    }[which]
    response = await post_key(client, leader, agent_id=agent_id)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["agent_id"]


async def test_a_deactivated_agent_gets_no_key_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    deactivate = await client.patch(
        f"/v1/agents/{agent.id}", json={"is_active": False}, headers=tenant.owner.headers
    )
    assert deactivate.status_code == 200
    response = await post_key(client, tenant.owner, agent_id=agent.id)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["agent_id"]


# Who sees which keys ----------------------------------------------------------


async def test_an_owner_lists_every_key_of_the_company(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    leader, agent = await team_of_two(tenant)
    extra = await new_key(client, tenant.owner, agent_id=agent.id)
    other = await make_company(client)
    expected = {
        await key_id_of(client, tenant.owner),
        await key_id_of(client, leader),
        await key_id_of(client, agent),
        extra["id"],
    }
    listed = await listed_ids(client, tenant.owner)
    assert sorted(listed) == sorted(expected)
    assert await key_id_of(client, other.owner) not in listed


async def test_the_agent_id_filter_lists_that_agents_keys(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    leader, agent = await team_of_two(tenant)
    extra = await new_key(client, tenant.owner, agent_id=agent.id)
    listed = await listed_ids(client, tenant.owner, f"&agent_id={agent.id}")
    assert sorted(listed) == sorted([await key_id_of(client, agent), extra["id"]])
    assert await listed_ids(client, tenant.owner, f"&agent_id={leader.id}") == [
        await key_id_of(client, leader)
    ]


@pytest.mark.parametrize("role", ["team_leader", "agent"])
async def test_a_non_owner_lists_only_its_own_keys(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    leader, agent = await team_of_two(tenant)
    caller, teammate = (leader, agent) if role == "team_leader" else (agent, leader)
    second = await new_key(client, caller)
    await new_key(client, teammate)
    own = sorted([await key_id_of(client, caller), second["id"]])
    assert sorted(await listed_ids(client, caller)) == own
    assert await listed_ids(client, caller, f"&agent_id={teammate.id}") == []
    assert await listed_ids(client, caller, f"&agent_id={tenant.owner.id}") == []


@pytest.mark.parametrize("role", ["team_leader", "agent"])
async def test_another_agents_key_is_404_for_a_non_owner(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    leader, agent = await team_of_two(tenant)
    caller, teammate = (leader, agent) if role == "team_leader" else (agent, leader)
    for key_id in (await key_id_of(client, teammate), await key_id_of(client, tenant.owner)):
        response = await client.get(f"/v1/api-keys/{key_id}", headers=caller.headers)
        assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("role", ["team_leader", "agent"])
async def test_a_non_owner_gets_its_own_key(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    leader, agent = await team_of_two(tenant)
    caller = leader if role == "team_leader" else agent
    key_id = await key_id_of(client, caller)
    response = await client.get(f"/v1/api-keys/{key_id}", headers=caller.headers)
    assert response.status_code == 200
    assert response.json()["agent_id"] == caller.id


async def test_an_owner_gets_any_key_of_the_company(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    key_id = await key_id_of(client, agent)
    response = await client.get(f"/v1/api-keys/{key_id}", headers=tenant.owner.headers)
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["agent_id"]) == (key_id, agent.id)


@pytest.mark.parametrize("role", ["owner", "team_leader", "agent"])
async def test_another_companys_key_is_404_for_everyone(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    leader, agent = await team_of_two(tenant)
    caller = {"owner": tenant.owner, "team_leader": leader, "agent": agent}[role]
    other = await make_company(client)
    key_id = await key_id_of(client, other.owner)
    got = await client.get(f"/v1/api-keys/{key_id}", headers=caller.headers)
    assert_problem(got, 404, "not_found")
    revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=caller.headers)
    assert_problem(revoked, 404, "not_found")
    assert (await client.get("/v1/me", headers=other.owner.headers)).status_code == 200


async def test_a_missing_or_malformed_key_id_is_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for key_id in ("01900000-0000-7000-8000-000000000000", "not-an-id"):
        response = await client.get(f"/v1/api-keys/{key_id}", headers=tenant.owner.headers)
        assert_problem(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "scopes"),
    [("GET", ["agents:write", "contacts:read"]), ("POST", ["agents:read", "contacts:read"])],
    ids=["list without agents:read", "create without agents:write"],
)
async def test_api_keys_need_the_agents_scopes(
    client: httpx.AsyncClient, tenant: Tenant, method: str, scopes: list[str]
) -> None:
    narrow = await new_key(client, tenant.owner, scopes=scopes)
    response = await client.request(
        method,
        "/v1/api-keys",
        json={"name": "x", "scopes": ["contacts:read"]} if method == "POST" else None,
        headers=bearer(narrow["key"]),
    )
    assert_problem(response, 403, "insufficient_scope")


# Revoking ---------------------------------------------------------------------


async def test_revoking_answers_204_and_sets_revoked_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await new_key(client, tenant.owner)
    response = await client.delete(f"/v1/api-keys/{created['id']}", headers=tenant.owner.headers)
    assert response.status_code == 204
    assert response.content == b""
    record = await client.get(f"/v1/api-keys/{created['id']}", headers=tenant.owner.headers)
    assert record.status_code == 200
    revoked_at = datetime.fromisoformat(record.json()["revoked_at"])
    assert abs(datetime.now(UTC) - revoked_at) < timedelta(minutes=1)


async def test_a_key_revoked_by_the_owner_is_401_on_its_very_next_request(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    created = await new_key(client, tenant.owner, agent_id=agent.id)
    # Used first, so a verified copy of it is held in memory.
    assert (await client.get("/v1/me", headers=bearer(created["key"]))).status_code == 200
    revoke = await client.delete(f"/v1/api-keys/{created['id']}", headers=tenant.owner.headers)
    assert revoke.status_code == 204
    response = await client.get("/v1/contacts", headers=bearer(created["key"]))
    assert_problem(response, 401, "unauthenticated")
    # The agent's other key is untouched.
    assert (await client.get("/v1/me", headers=agent.headers)).status_code == 200


async def test_revoking_twice_is_204_and_keeps_the_first_revoked_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await new_key(client, tenant.owner)
    path = f"/v1/api-keys/{created['id']}"
    assert (await client.delete(path, headers=tenant.owner.headers)).status_code == 204
    first = (await client.get(path, headers=tenant.owner.headers)).json()["revoked_at"]
    again = await client.delete(path, headers=tenant.owner.headers)
    assert again.status_code == 204
    assert (await client.get(path, headers=tenant.owner.headers)).json()["revoked_at"] == first


@pytest.mark.parametrize("role", ["team_leader", "agent"])
async def test_a_non_owner_revoking_another_agents_key_is_404(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    leader, agent = await team_of_two(tenant)
    caller, teammate = (leader, agent) if role == "team_leader" else (agent, leader)
    for victim in (teammate, tenant.owner):
        key_id = await key_id_of(client, victim)
        response = await client.delete(f"/v1/api-keys/{key_id}", headers=caller.headers)
        assert_problem(response, 404, "not_found")
        assert (await client.get("/v1/me", headers=victim.headers)).status_code == 200
        record = await client.get(f"/v1/api-keys/{key_id}", headers=tenant.owner.headers)
        assert record.json()["revoked_at"] is None


async def test_an_agent_may_revoke_its_own_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    spare = await new_key(client, agent)
    response = await client.delete(f"/v1/api-keys/{spare['id']}", headers=agent.headers)
    assert response.status_code == 204
    assert_problem(await client.get("/v1/me", headers=bearer(spare["key"])), 401, "unauthenticated")
    assert (await client.get("/v1/me", headers=agent.headers)).status_code == 200


async def test_an_agent_may_revoke_the_key_it_is_using(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    key_id = await key_id_of(client, agent)
    response = await client.delete(f"/v1/api-keys/{key_id}", headers=agent.headers)
    assert response.status_code == 204
    after = await client.get("/v1/me", headers=agent.headers)
    assert_problem(after, 401, "unauthenticated")
    record = await client.get(f"/v1/api-keys/{key_id}", headers=tenant.owner.headers)
    assert record.json()["revoked_at"] is not None


async def test_revoking_a_missing_key_is_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.delete(
        "/v1/api-keys/01900000-0000-7000-8000-000000000000", headers=tenant.owner.headers
    )
    assert_problem(response, 404, "not_found")


# Pagination -------------------------------------------------------------------


async def test_pages_through_keys_newest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for n in range(4):
        await new_key(client, tenant.owner, name=f"Key {n}")
    everything = await listed_ids(client, tenant.owner)
    assert len(everything) == 5
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get("/v1/api-keys", params=params, headers=tenant.owner.headers)
        assert response.status_code == 200
        page = response.json()
        pages.append([k["id"] for k in page["data"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [key_id for page in pages for key_id in page] == everything
    created_at = [
        (await client.get(f"/v1/api-keys/{i}", headers=tenant.owner.headers)).json()["created_at"]
        for i in everything
    ]
    assert [datetime.fromisoformat(c) for c in created_at] == sorted(
        (datetime.fromisoformat(c) for c in created_at), reverse=True
    )


async def test_a_full_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await new_key(client, tenant.owner)
    response = await client.get("/v1/api-keys?limit=2", headers=tenant.owner.headers)
    assert len(response.json()["data"]) == 2
    assert response.json()["next_cursor"] is None


@pytest.mark.parametrize("limit", [0, 201])
async def test_a_limit_out_of_range_is_422(
    client: httpx.AsyncClient, tenant: Tenant, limit: int
) -> None:
    response = await client.get(f"/v1/api-keys?limit={limit}", headers=tenant.owner.headers)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["limit"]


async def test_an_invalid_cursor_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/api-keys?cursor=garbage", headers=tenant.owner.headers)
    assert_problem(response, 400, "bad_request")
