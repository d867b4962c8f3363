"""`/v1/tasks`: the default assignee, `done` and `completed_at`, filters, time zones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.factories import (
    Member,
    Tenant,
    make_agent,
    make_company,
    make_contact,
    make_deal,
    make_task,
)
from tests.gateway.test_problems import assert_problem


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


async def post_task(client: httpx.AsyncClient, member: Member, **fields: object) -> dict[str, Any]:
    response = await client.post(
        "/v1/tasks", json={"title": "Call", **fields}, headers=member.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def patch_task(
    client: httpx.AsyncClient, member: Member, task_id: str, **fields: object
) -> dict[str, Any]:
    response = await client.patch(f"/v1/tasks/{task_id}", json=fields, headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def ids_of(
    client: httpx.AsyncClient, member: Member, **params: str | int | bool
) -> list[str]:
    response = await client.get("/v1/tasks", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["data"]]


def fields_of(response: httpx.Response) -> list[str]:
    return [e["field"] for e in assert_problem(response, 422, "validation_failed")["errors"]]


async def test_assignee_defaults_to_the_caller(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    task = await post_task(client, agent)
    assert task["assignee_id"] == agent.id


async def test_a_task_may_be_assigned_to_another_agent(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    task = await post_task(client, tenant.owner, assignee_id=agent.id)
    assert task["assignee_id"] == agent.id


async def test_post_answers_201_with_a_location_and_the_version_as_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post("/v1/tasks", json={"title": "Call"}, headers=tenant.owner.headers)
    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/tasks/{response.json()['id']}"
    assert response.headers["etag"] == '"1"'


async def test_a_new_task_is_open_without_completed_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    task = await post_task(client, tenant.owner)
    assert (task["done"], task["completed_at"]) == (False, None)


async def test_a_task_created_done_has_completed_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    task = await post_task(client, tenant.owner, done=True)
    assert task["done"] is True
    assert task["completed_at"] is not None


async def test_marking_a_task_done_sets_completed_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    task = await make_task(tenant.owner)
    done = await patch_task(client, tenant.owner, task["id"], done=True)
    assert done["done"] is True
    assert datetime.fromisoformat(done["completed_at"]) >= datetime.fromisoformat(
        task["created_at"]
    )


async def test_reopening_a_task_clears_completed_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    task = await make_task(tenant.owner, done=True)
    reopened = await patch_task(client, tenant.owner, task["id"], done=False)
    assert (reopened["done"], reopened["completed_at"]) == (False, None)


async def test_a_change_other_than_done_keeps_completed_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    task = await make_task(tenant.owner, done=True)
    renamed = await patch_task(client, tenant.owner, task["id"], title="Call back")
    assert renamed["completed_at"] == task["completed_at"]


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    task = await make_task(tenant.owner, title="Call")
    await patch_task(client, tenant.owner, task["id"], done=True)
    response = await client.patch(
        f"/v1/tasks/{task['id']}",
        json={"title": "Email"},
        headers={**tenant.owner.headers, "If-Match": '"1"'},
    )
    assert_problem(response, 412, "precondition_failed")
    after = (await client.get(f"/v1/tasks/{task['id']}", headers=tenant.owner.headers)).json()
    assert (after["title"], after["version"]) == ("Call", 2)


# Filters


async def test_assignee_id_filter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    theirs = await make_task(tenant.owner, assignee_id=agent.id)
    await make_task(tenant.owner)
    assert await ids_of(client, tenant.owner, assignee_id=agent.id) == [theirs["id"]]


async def test_contact_id_filter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(tenant.owner)
    hers = await make_task(tenant.owner, contact_id=contact["id"])
    await make_task(tenant.owner, contact_id=(await make_contact(tenant.owner))["id"])
    await make_task(tenant.owner)
    assert await ids_of(client, tenant.owner, contact_id=contact["id"]) == [hers["id"]]


async def test_deal_id_filter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    deal = await make_deal(tenant.owner)
    its = await make_task(tenant.owner, deal_id=deal["id"])
    await make_task(tenant.owner, deal_id=(await make_deal(tenant.owner))["id"])
    await make_task(tenant.owner)
    assert await ids_of(client, tenant.owner, deal_id=deal["id"]) == [its["id"]]


async def test_done_filter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    done = await make_task(tenant.owner, done=True)
    open_ = await make_task(tenant.owner)
    assert await ids_of(client, tenant.owner, done="true") == [done["id"]]
    assert await ids_of(client, tenant.owner, done="false") == [open_["id"]]


async def test_due_before_keeps_tasks_due_strictly_before_the_time(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    early = await make_task(tenant.owner, due_at="2031-01-01T08:59:59Z")
    await make_task(tenant.owner, due_at="2031-01-01T09:00:00Z")
    await make_task(tenant.owner, due_at="2031-06-01T09:00:00Z")
    await make_task(tenant.owner)
    assert await ids_of(client, tenant.owner, due_before="2031-01-01T09:00:00Z") == [early["id"]]


async def test_due_before_reads_its_time_zone(client: httpx.AsyncClient, tenant: Tenant) -> None:
    task = await make_task(tenant.owner, due_at="2031-01-01T09:00:00Z")
    # 10:30 in Paris in winter is 09:30 UTC: after the task's due time.
    assert await ids_of(client, tenant.owner, due_before="2031-01-01T10:30:00+01:00") == [
        task["id"]
    ]
    assert await ids_of(client, tenant.owner, due_before="2031-01-01T09:30:00+01:00") == []


async def test_due_before_without_a_time_zone_is_422_naming_due_before(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(
        "/v1/tasks", params={"due_before": "2031-01-01T09:00:00"}, headers=tenant.owner.headers
    )
    assert fields_of(response) == ["due_before"]


# Time zones


async def test_due_at_without_a_time_zone_is_422_naming_due_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/tasks",
        json={"title": "Call", "due_at": "2031-01-01T09:00:00"},
        headers=tenant.owner.headers,
    )
    assert fields_of(response) == ["due_at"]


async def test_patching_due_at_without_a_time_zone_is_422_naming_due_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    task = await make_task(tenant.owner)
    response = await client.patch(
        f"/v1/tasks/{task['id']}",
        json={"due_at": "2031-01-01T09:00:00"},
        headers=tenant.owner.headers,
    )
    assert fields_of(response) == ["due_at"]


async def test_due_at_is_answered_in_utc(client: httpx.AsyncClient, tenant: Tenant) -> None:
    task = await post_task(client, tenant.owner, due_at="2031-07-01T18:30:00+02:00")
    assert task["due_at"] == "2031-07-01T16:30:00Z"


# References


async def test_a_contact_of_another_company_is_422_naming_contact_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    foreign = await make_contact(other.owner)
    response = await client.post(
        "/v1/tasks",
        json={"title": "Call", "contact_id": foreign["id"]},
        headers=tenant.owner.headers,
    )
    assert fields_of(response) == ["contact_id"]


async def test_a_deal_of_another_company_is_422_naming_deal_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    foreign = await make_deal(other.owner)
    response = await client.post(
        "/v1/tasks",
        json={"title": "Call", "deal_id": foreign["id"]},
        headers=tenant.owner.headers,
    )
    assert fields_of(response) == ["deal_id"]


async def test_an_assignee_of_another_company_is_422_naming_assignee_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    response = await client.post(
        "/v1/tasks",
        json={"title": "Call", "assignee_id": other.owner.id},
        headers=tenant.owner.headers,
    )
    assert fields_of(response) == ["assignee_id"]


async def test_unknown_field_is_422_naming_it(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/tasks", json={"title": "Call", "priority": "high"}, headers=tenant.owner.headers
    )
    assert fields_of(response) == ["priority"]
