"""The contract's permission table, cell by cell, over HTTP.

One company holds an owner, a team leader and an agent of team "red", and an
agent of team "blue" (team "green" stays empty); a second company holds a
stranger. Each of them owns a contact, a deal and a task. Every role then tries
every action on every record: a record it may not see answers 404, one it sees
but may not change 403, an allowed action 2xx, and nothing of the other company
is ever anything but 404.

The expectations come from `OWNED`, `AGENTS_VIEW` and `in_scope` below, a
transcription of the contract's "Roles and visibility" table (docs/roles-and-visibility.md), not from `crm.policy`. Lists
are compared with what the database holds, filtered by that transcription.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from crm import db
from tests.factories import Member, Tenant, make_agent, make_company, make_team, unique

ALL, TEAM, OWN, NONE = "all", "team", "own", "none"

# The contacts / deals / tasks rows of the table: action -> role -> scope.
OWNED = {
    "view": {"owner": ALL, "team_leader": TEAM, "agent": OWN},
    "create": {"owner": ALL, "team_leader": TEAM, "agent": OWN},
    "update": {"owner": ALL, "team_leader": TEAM, "agent": OWN},
    "delete": {"owner": ALL, "team_leader": TEAM, "agent": NONE},
    "reassign": {"owner": ALL, "team_leader": TEAM, "agent": NONE},
}
AGENTS_VIEW = {"owner": ALL, "team_leader": TEAM, "agent": OWN}

# The four agents of the company, by the names the tests use, and their roles.
CALLERS = ["owner", "leader", "red", "blue"]
ROLE = {"owner": "owner", "leader": "team_leader", "red": "agent", "blue": "agent"}
CODES = {403: "forbidden", 404: "not_found", 422: "validation_failed"}


@dataclass(frozen=True)
class Resource:
    path: str
    owner_field: str
    new: dict[str, object]  # the body of a new record, but for its owner
    renamed: str  # the field a plain update changes


RESOURCES = {
    "contacts": Resource(
        "/v1/contacts", "owner_id", {"first_name": "Mia", "company_name": "Matrixco"}, "first_name"
    ),
    "deals": Resource("/v1/deals", "owner_id", {"title": "Matrix deal"}, "title"),
    "tasks": Resource("/v1/tasks", "assignee_id", {"title": "Matrix task"}, "title"),
}


def in_scope(scope: str, caller: Member, agent_id: str, agent_team: str | None) -> bool:
    """Whether an agent of the caller's company (`agent_id`, in `agent_team`) is in `scope`."""
    if scope == ALL:
        return True
    if scope == TEAM:
        return caller.actor.team_id is not None and agent_team == caller.actor.team_id
    if scope == OWN:
        return agent_id == caller.id
    return False


@dataclass(frozen=True)
class World:
    company: Tenant
    members: dict[str, Member]  # the CALLERS, and "stranger", the other company's owner
    teams: dict[str, str]  # red, blue, green, and "stranger": a team of the other company
    records: dict[str, dict[str, str]]  # resource -> owner's name -> record id
    key_ids: dict[str, str]  # member's name -> the id of its API key

    def may(self, caller: str, action: str, owner: str) -> bool:
        """Whether the table lets `caller` do `action` to a record owned by `owner`."""
        if owner == "stranger":
            return False
        target = self.members[owner]
        scope = OWNED[action][ROLE[caller]]
        return in_scope(scope, self.members[caller], target.id, target.actor.team_id)

    def status(self, caller: str, action: str, owner: str, success: int) -> int:
        """`success` where allowed; else 403 where the record is visible, 404 where hidden."""
        if not self.may(caller, "view", owner):
            return 404
        return success if self.may(caller, action, owner) else 403

    def sees_agent(self, caller: str, agent: str) -> bool:
        if agent == "stranger":
            return False
        target = self.members[agent]
        scope = AGENTS_VIEW[ROLE[caller]]
        return in_scope(scope, self.members[caller], target.id, target.actor.team_id)

    def agent_id(self, name: str) -> str:
        """A member's id; "nobody" is an id no agent has."""
        return str(uuid.uuid4()) if name == "nobody" else self.members[name].id


@pytest.fixture(scope="module")
async def world(client: httpx.AsyncClient) -> World:
    # Enterprise: the matrix sends many requests, far from any rate limit.
    company = await make_company(client, plan="enterprise")
    other = await make_company(client, plan="enterprise")
    teams = {name: await make_team(company, name) for name in ("red", "blue", "green")}
    teams["stranger"] = await make_team(other, "red")
    members = {
        "owner": company.owner,
        "leader": await make_agent(company, role="team_leader", team_id=teams["red"]),
        "red": await make_agent(company, role="agent", team_id=teams["red"]),
        "blue": await make_agent(company, role="agent", team_id=teams["blue"]),
        "stranger": other.owner,
    }
    records: dict[str, dict[str, str]] = {name: {} for name in RESOURCES}
    key_ids = {}
    for name, member in members.items():
        for resource, spec in RESOURCES.items():
            response = await client.post(spec.path, json=spec.new, headers=member.headers)
            assert response.status_code == 201, response.text
            records[resource][name] = response.json()["id"]
        me = await client.get("/v1/me", headers=member.headers)
        key_ids[name] = me.json()["api_key"]["id"]
    return World(company, members, teams, records, key_ids)


async def call(
    client: httpx.AsyncClient, caller: Member, method: str, path: str, body: Any = None
) -> httpx.Response:
    return await client.request(method, path, json=body, headers=caller.headers)


def assert_status(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    if status in CODES:
        assert response.json()["code"] == CODES[status]
    if field is not None:
        assert [error["field"] for error in response.json()["errors"]] == [field]


async def fresh_record(client: httpx.AsyncClient, world: World, resource: str, owner: str) -> str:
    """A new record owned by `owner`, made by the owner of `owner`'s company."""
    spec = RESOURCES[resource]
    maker = world.members["stranger" if owner == "stranger" else "owner"]
    body = {**spec.new, spec.owner_field: world.members[owner].id}
    response = await call(client, maker, "POST", spec.path, body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def as_owner_sees_it(
    client: httpx.AsyncClient, world: World, resource: str, record_id: str
) -> dict[str, Any] | None:
    """The record as the company's owner sees it now; None once it is gone."""
    owner = world.members["owner"]
    response = await call(client, owner, "GET", f"{RESOURCES[resource].path}/{record_id}")
    return None if response.status_code == 404 else response.json()


async def listed_ids(
    client: httpx.AsyncClient, caller: Member, path: str, **params: str
) -> set[str]:
    """The ids of every page of a list."""
    ids: set[str] = set()
    cursor = None
    while True:
        query = {"limit": "200", **params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=caller.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        ids |= {row["id"] for row in page["data"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


async def stored(sql: str, *args: object) -> list[Any]:
    """What the database holds: the oracle lists are checked against."""
    async with db.transaction():
        return list(await db.connection().fetch(sql, *args))


def pairs(firsts: list[str], seconds: list[str]) -> list[Any]:
    return [pytest.param(a, b, id=f"{a}-{b}") for a in firsts for b in seconds if a != b]


# Contacts, deals and tasks ---------------------------------------------------------------


@pytest.mark.parametrize("owner", CALLERS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_get_answers_records_in_view_scope_and_404_for_the_others(
    client: httpx.AsyncClient, world: World, resource: str, caller: str, owner: str
) -> None:
    record_id = world.records[resource][owner]
    response = await call(
        client, world.members[caller], "GET", f"{RESOURCES[resource].path}/{record_id}"
    )
    assert_status(response, 200 if world.may(caller, "view", owner) else 404)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_list_holds_exactly_the_company_records_in_view_scope(
    client: httpx.AsyncClient, world: World, resource: str, caller: str
) -> None:
    spec = RESOURCES[resource]
    member = world.members[caller]
    rows = await stored(
        f"SELECT r.id, a.id AS owner, a.team_id FROM {resource} r "
        f"JOIN agents a ON a.company_id = r.company_id AND a.id = r.{spec.owner_field} "
        "WHERE r.company_id = $1",
        world.company.id,
    )
    scope = OWNED["view"][ROLE[caller]]
    expected = {row["id"] for row in rows if in_scope(scope, member, row["owner"], row["team_id"])}
    listed = await listed_ids(client, member, spec.path)
    assert listed == expected
    assert {world.records[resource][o] for o in CALLERS if world.may(caller, "view", o)} <= listed
    assert world.records[resource]["stranger"] not in listed


@pytest.mark.parametrize("caller", CALLERS)
async def test_search_finds_only_contacts_in_view_scope(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    member = world.members[caller]
    rows = await stored(
        "SELECT c.id, a.id AS owner, a.team_id FROM contacts c "
        "JOIN agents a ON a.company_id = c.company_id AND a.id = c.owner_id "
        "WHERE c.company_id = $1 AND c.company_name = 'Matrixco'",
        world.company.id,
    )
    scope = OWNED["view"][ROLE[caller]]
    expected = {row["id"] for row in rows if in_scope(scope, member, row["owner"], row["team_id"])}
    assert await listed_ids(client, member, "/v1/contacts", q="matrixco") == expected


@pytest.mark.parametrize("target", CALLERS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_create_for_an_agent_in_create_scope_is_201_and_outside_it_403(
    client: httpx.AsyncClient, world: World, resource: str, caller: str, target: str
) -> None:
    spec = RESOURCES[resource]
    body = {**spec.new, spec.owner_field: world.members[target].id}
    response = await call(client, world.members[caller], "POST", spec.path, body)
    allowed = world.may(caller, "create", target)
    assert_status(response, 201 if allowed else 403)
    if allowed:
        assert response.json()[spec.owner_field] == world.members[target].id


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_create_without_an_owner_gives_the_record_to_the_caller(
    client: httpx.AsyncClient, world: World, resource: str, caller: str
) -> None:
    spec = RESOURCES[resource]
    response = await call(client, world.members[caller], "POST", spec.path, spec.new)
    assert_status(response, 201)
    assert response.json()[spec.owner_field] == world.members[caller].id


@pytest.mark.parametrize("target", ["stranger", "nobody"])
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_create_for_an_agent_of_another_company_or_none_is_422_naming_the_field(
    client: httpx.AsyncClient, world: World, resource: str, caller: str, target: str
) -> None:
    spec = RESOURCES[resource]
    body = {**spec.new, spec.owner_field: world.agent_id(target)}
    response = await call(client, world.members[caller], "POST", spec.path, body)
    assert_status(response, 422, field=spec.owner_field)


@pytest.mark.parametrize("owner", CALLERS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_update_is_200_in_update_scope_and_404_where_hidden(
    client: httpx.AsyncClient, world: World, resource: str, caller: str, owner: str
) -> None:
    spec = RESOURCES[resource]
    record_id = world.records[resource][owner]
    name = unique("Renamed")
    response = await call(
        client, world.members[caller], "PATCH", f"{spec.path}/{record_id}", {spec.renamed: name}
    )
    assert_status(response, world.status(caller, "update", owner, 200))
    if response.status_code == 200:
        assert response.json()[spec.renamed] == name


@pytest.mark.parametrize("owner", CALLERS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_delete_is_204_in_delete_scope_403_where_only_visible_and_404_where_hidden(
    client: httpx.AsyncClient, world: World, resource: str, caller: str, owner: str
) -> None:
    record_id = await fresh_record(client, world, resource, owner)
    response = await call(
        client, world.members[caller], "DELETE", f"{RESOURCES[resource].path}/{record_id}"
    )
    assert_status(response, world.status(caller, "delete", owner, 204))
    remaining = await as_owner_sees_it(client, world, resource, record_id)
    assert (remaining is None) == (response.status_code == 204)


@pytest.mark.parametrize(
    ("caller", "old", "new"),
    [
        pytest.param(caller, old, new, id=f"{caller}-{old}-to-{new}")
        for caller in CALLERS
        for old in CALLERS
        for new in CALLERS
        if old != new
    ],
)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_reassign_needs_the_old_and_the_new_owner_in_reassign_scope(
    client: httpx.AsyncClient, world: World, resource: str, caller: str, old: str, new: str
) -> None:
    spec = RESOURCES[resource]
    record_id = await fresh_record(client, world, resource, old)
    body = {spec.owner_field: world.members[new].id}
    response = await call(client, world.members[caller], "PATCH", f"{spec.path}/{record_id}", body)
    if not world.may(caller, "view", old):
        expected = 404
    elif world.may(caller, "reassign", old) and world.may(caller, "reassign", new):
        expected = 200
    else:
        expected = 403
    assert_status(response, expected)
    record = await as_owner_sees_it(client, world, resource, record_id)
    assert record is not None
    assert record[spec.owner_field] == world.members[new if expected == 200 else old].id


@pytest.mark.parametrize("target", ["stranger", "nobody"])
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_reassign_of_an_own_record_to_an_agent_of_another_company_or_none(
    client: httpx.AsyncClient, world: World, resource: str, caller: str, target: str
) -> None:
    """422 naming the field for a role that may reassign; 403 for one that never may."""
    spec = RESOURCES[resource]
    record_id = await fresh_record(client, world, resource, caller)
    body = {spec.owner_field: world.agent_id(target)}
    response = await call(client, world.members[caller], "PATCH", f"{spec.path}/{record_id}", body)
    if world.may(caller, "reassign", caller):
        assert_status(response, 422, field=spec.owner_field)
    else:
        assert_status(response, 403)


@pytest.mark.parametrize("action", ["view", "update", "delete", "reassign"])
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("resource", RESOURCES)
async def test_a_record_of_another_company_is_404_for_every_role_and_action(
    client: httpx.AsyncClient, world: World, resource: str, caller: str, action: str
) -> None:
    spec = RESOURCES[resource]
    member = world.members[caller]
    path = f"{spec.path}/{await fresh_record(client, world, resource, 'stranger')}"
    method, body = {
        "view": ("GET", None),
        "update": ("PATCH", {spec.renamed: unique("Renamed")}),
        "delete": ("DELETE", None),
        "reassign": ("PATCH", {spec.owner_field: member.id}),
    }[action]
    assert_status(await call(client, member, method, path, body), 404)


@pytest.mark.parametrize("owner", [*CALLERS, "stranger"])
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("resource", "field", "named"),
    [
        ("deals", "contact_id", "contacts"),
        ("tasks", "contact_id", "contacts"),
        ("tasks", "deal_id", "deals"),
    ],
)
async def test_a_record_named_in_a_body_must_be_visible_else_422_naming_the_field(
    client: httpx.AsyncClient,
    world: World,
    resource: str,
    field: str,
    named: str,
    caller: str,
    owner: str,
) -> None:
    body = {**RESOURCES[resource].new, field: world.records[named][owner]}
    response = await call(client, world.members[caller], "POST", RESOURCES[resource].path, body)
    if world.may(caller, "view", owner):
        assert_status(response, 201)
        assert response.json()[field] == world.records[named][owner]
    else:
        assert_status(response, 422, field=field)


async def test_a_role_change_applies_to_the_agents_very_next_request(
    client: httpx.AsyncClient, world: World
) -> None:
    member = await make_agent(world.company, role="agent", team_id=world.teams["red"])
    path = f"/v1/contacts/{world.records['contacts']['leader']}"
    owner = world.members["owner"]
    assert_status(await call(client, member, "GET", path), 404)
    promote = {"role": "team_leader"}
    assert_status(await call(client, owner, "PATCH", f"/v1/agents/{member.id}", promote), 200)
    assert_status(await call(client, member, "GET", path), 200)


async def test_a_team_change_applies_to_the_agents_very_next_request(
    client: httpx.AsyncClient, world: World
) -> None:
    member = await make_agent(world.company, role="team_leader", team_id=world.teams["red"])
    path = f"/v1/deals/{world.records['deals']['blue']}"
    owner = world.members["owner"]
    assert_status(await call(client, member, "GET", path), 404)
    move = {"team_id": world.teams["blue"]}
    assert_status(await call(client, owner, "PATCH", f"/v1/agents/{member.id}", move), 200)
    assert_status(await call(client, member, "GET", path), 200)


# Agents ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [*CALLERS, "stranger"])
@pytest.mark.parametrize("caller", CALLERS)
async def test_agent_is_visible_all_to_owner_team_to_leader_own_to_agent(
    client: httpx.AsyncClient, world: World, caller: str, target: str
) -> None:
    path = f"/v1/agents/{world.members[target].id}"
    response = await call(client, world.members[caller], "GET", path)
    assert_status(response, 200 if world.sees_agent(caller, target) else 404)


@pytest.mark.parametrize("caller", CALLERS)
async def test_agent_list_holds_exactly_the_agents_in_view_scope(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    member = world.members[caller]
    rows = await stored("SELECT id, team_id FROM agents WHERE company_id = $1", world.company.id)
    scope = AGENTS_VIEW[ROLE[caller]]
    expected = {row["id"] for row in rows if in_scope(scope, member, row["id"], row["team_id"])}
    assert await listed_ids(client, member, "/v1/agents") == expected


@pytest.mark.parametrize("caller", CALLERS)
async def test_only_the_owner_adds_agents(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    body = {
        "email": f"{unique('new')}@example.com",
        "name": "Nova Agent",
        "role": "agent",
        "team_id": world.teams["green"],
    }
    response = await call(client, world.members[caller], "POST", "/v1/agents", body)
    assert_status(response, 201 if caller == "owner" else 403)


@pytest.mark.parametrize(("caller", "target"), pairs(CALLERS, [*CALLERS, "stranger"]))
async def test_renaming_another_agent_is_for_the_owner_only(
    client: httpx.AsyncClient, world: World, caller: str, target: str
) -> None:
    path = f"/v1/agents/{world.members[target].id}"
    response = await call(client, world.members[caller], "PATCH", path, {"name": unique("Name")})
    if not world.sees_agent(caller, target):
        assert_status(response, 404)
    else:
        assert_status(response, 200 if caller == "owner" else 403)


@pytest.mark.parametrize("caller", CALLERS)
async def test_every_agent_may_rename_itself(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    member = world.members[caller]
    name = unique("Name")
    response = await call(client, member, "PATCH", f"/v1/agents/{member.id}", {"name": name})
    assert_status(response, 200)
    assert response.json()["name"] == name


def agent_changes(world: World) -> dict[str, dict[str, object]]:
    return {
        "role": {"role": "owner"},
        "team": {"team_id": world.teams["green"]},
        "activity": {"is_active": False},
    }


@pytest.mark.parametrize("change", ["role", "team", "activity"])
@pytest.mark.parametrize(("role", "team"), [("team_leader", "red"), ("agent", "blue")])
async def test_a_non_owner_may_not_change_its_own_role_team_or_activity(
    client: httpx.AsyncClient, world: World, role: str, team: str, change: str
) -> None:
    # A new agent each time: were the change let through, the world would stay intact.
    member = await make_agent(world.company, role=role, team_id=world.teams[team])
    body = agent_changes(world)[change]
    assert_status(await call(client, member, "PATCH", f"/v1/agents/{member.id}", body), 403)


@pytest.mark.parametrize("change", ["role", "team", "activity"])
async def test_the_owner_changes_role_team_and_activity_of_an_agent(
    client: httpx.AsyncClient, world: World, change: str
) -> None:
    member = await make_agent(world.company, role="agent", team_id=world.teams["blue"])
    body = agent_changes(world)[change]
    response = await call(client, world.members["owner"], "PATCH", f"/v1/agents/{member.id}", body)
    assert_status(response, 200)
    assert response.json().items() >= body.items()


@pytest.mark.parametrize("team", ["stranger", "nobody"])
async def test_moving_an_agent_to_a_team_of_another_company_or_none_is_422(
    client: httpx.AsyncClient, world: World, team: str
) -> None:
    team_id = str(uuid.uuid4()) if team == "nobody" else world.teams[team]
    member = await make_agent(world.company, role="agent", team_id=world.teams["red"])
    path = f"/v1/agents/{member.id}"
    response = await call(client, world.members["owner"], "PATCH", path, {"team_id": team_id})
    assert_status(response, 422, field="team_id")


# Teams -----------------------------------------------------------------------------------


@pytest.mark.parametrize("team", ["red", "blue", "green"])
@pytest.mark.parametrize("caller", CALLERS)
async def test_every_role_views_every_team_of_its_company(
    client: httpx.AsyncClient, world: World, caller: str, team: str
) -> None:
    path = f"/v1/teams/{world.teams[team]}"
    assert_status(await call(client, world.members[caller], "GET", path), 200)


@pytest.mark.parametrize("caller", CALLERS)
async def test_team_list_is_the_whole_company_for_every_role(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    rows = await stored("SELECT id FROM teams WHERE company_id = $1", world.company.id)
    listed = await listed_ids(client, world.members[caller], "/v1/teams")
    assert listed == {row["id"] for row in rows}


@pytest.mark.parametrize("caller", CALLERS)
async def test_only_the_owner_creates_teams(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    body = {"name": unique("Team")}
    response = await call(client, world.members[caller], "POST", "/v1/teams", body)
    assert_status(response, 201 if caller == "owner" else 403)


@pytest.mark.parametrize("caller", CALLERS)
async def test_only_the_owner_renames_teams(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    path = f"/v1/teams/{await make_team(world.company)}"
    response = await call(client, world.members[caller], "PATCH", path, {"name": unique("Team")})
    assert_status(response, 200 if caller == "owner" else 403)


@pytest.mark.parametrize("caller", CALLERS)
async def test_only_the_owner_deletes_teams(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    path = f"/v1/teams/{await make_team(world.company)}"
    response = await call(client, world.members[caller], "DELETE", path)
    assert_status(response, 204 if caller == "owner" else 403)
    after = await call(client, world.members["owner"], "GET", path)
    assert after.status_code == (404 if caller == "owner" else 200)


@pytest.mark.parametrize("action", ["view", "rename", "delete"])
@pytest.mark.parametrize("caller", CALLERS)
async def test_a_team_of_another_company_is_404_for_every_role_and_action(
    client: httpx.AsyncClient, world: World, caller: str, action: str
) -> None:
    path = f"/v1/teams/{world.teams['stranger']}"
    method, body = {
        "view": ("GET", None),
        "rename": ("PATCH", {"name": unique("Team")}),
        "delete": ("DELETE", None),
    }[action]
    assert_status(await call(client, world.members[caller], method, path, body), 404)


# Company ---------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
async def test_every_role_views_its_own_company(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    response = await call(client, world.members[caller], "GET", "/v1/company")
    assert_status(response, 200)
    assert response.json()["id"] == world.company.id


@pytest.mark.parametrize("caller", CALLERS)
async def test_only_the_owner_updates_the_company(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    body = {"name": unique("Company")}
    response = await call(client, world.members[caller], "PATCH", "/v1/company", body)
    assert_status(response, 200 if caller == "owner" else 403)


# API keys --------------------------------------------------------------------------------


def sees_key(caller: str, holder: str) -> bool:
    """The owner sees every key of its company; everyone else only its own."""
    return holder != "stranger" and (caller == "owner" or caller == holder)


async def fresh_key(client: httpx.AsyncClient, world: World, holder: str) -> dict[str, Any]:
    """A new key of `holder`, issued by the owner of `holder`'s company."""
    issuer = world.members["stranger" if holder == "stranger" else "owner"]
    body = {"name": unique("key"), "agent_id": world.members[holder].id}
    response = await call(client, issuer, "POST", "/v1/api-keys", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize("holder", [*CALLERS, "stranger"])
@pytest.mark.parametrize("caller", CALLERS)
async def test_api_key_is_visible_to_the_owner_and_to_its_own_agent(
    client: httpx.AsyncClient, world: World, caller: str, holder: str
) -> None:
    path = f"/v1/api-keys/{world.key_ids[holder]}"
    response = await call(client, world.members[caller], "GET", path)
    assert_status(response, 200 if sees_key(caller, holder) else 404)


@pytest.mark.parametrize("caller", CALLERS)
async def test_api_key_list_is_every_company_key_for_the_owner_and_own_keys_for_others(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    member = world.members[caller]
    rows = await stored("SELECT id, agent_id FROM api_keys WHERE company_id = $1", world.company.id)
    expected = {row["id"] for row in rows if caller == "owner" or row["agent_id"] == member.id}
    assert await listed_ids(client, member, "/v1/api-keys") == expected


@pytest.mark.parametrize("holder", [*CALLERS, "stranger"])
@pytest.mark.parametrize("caller", CALLERS)
async def test_api_key_is_revoked_by_the_owner_or_its_own_agent_only(
    client: httpx.AsyncClient, world: World, caller: str, holder: str
) -> None:
    key = await fresh_key(client, world, holder)
    response = await call(client, world.members[caller], "DELETE", f"/v1/api-keys/{key['id']}")
    revoked = sees_key(caller, holder)
    assert_status(response, 204 if revoked else 404)
    # Read back by the key's company owner: a 401 probe would count as a failed login.
    reader = world.members["stranger" if holder == "stranger" else "owner"]
    after = await call(client, reader, "GET", f"/v1/api-keys/{key['id']}")
    assert (after.json()["revoked_at"] is not None) == revoked


@pytest.mark.parametrize("caller", CALLERS)
async def test_every_agent_issues_keys_for_itself(
    client: httpx.AsyncClient, world: World, caller: str
) -> None:
    member = world.members[caller]
    body = {"name": unique("key"), "agent_id": member.id}
    response = await call(client, member, "POST", "/v1/api-keys", body)
    assert_status(response, 201)
    assert response.json()["agent_id"] == member.id


@pytest.mark.parametrize(("caller", "target"), pairs(CALLERS, CALLERS))
async def test_only_the_owner_issues_keys_for_another_agent_of_the_company(
    client: httpx.AsyncClient, world: World, caller: str, target: str
) -> None:
    body = {"name": unique("key"), "agent_id": world.members[target].id}
    response = await call(client, world.members[caller], "POST", "/v1/api-keys", body)
    assert_status(response, 201 if caller == "owner" else 403)
    if caller == "owner":
        assert response.json()["agent_id"] == world.members[target].id


@pytest.mark.parametrize("target", ["stranger", "nobody"])
@pytest.mark.parametrize("caller", CALLERS)
async def test_a_key_for_an_agent_of_another_company_or_none_is_422_naming_the_field(
    client: httpx.AsyncClient, world: World, caller: str, target: str
) -> None:
    body = {"name": unique("key"), "agent_id": world.agent_id(target)}
    response = await call(client, world.members[caller], "POST", "/v1/api-keys", body)
    assert_status(response, 422, field="agent_id")
