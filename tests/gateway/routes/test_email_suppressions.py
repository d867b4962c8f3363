"""`/v1/email-suppressions`: per company, case-insensitive, owners only."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Tenant, make_agent, make_company
from tests.gateway.test_problems import assert_problem

PATH = "/v1/email-suppressions"


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


async def test_an_owner_suppresses_an_address_in_lower_case(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        PATH, json={"email": "Mia@Example.COM"}, headers=tenant.owner.headers
    )
    assert response.status_code == 201
    created = response.json()
    assert (created["email"], created["reason"]) == ("mia@example.com", "manual")
    listed = await client.get(PATH, headers=tenant.owner.headers)
    assert listed.json() == {"data": [created], "next_cursor": None}


async def test_the_same_address_in_another_case_is_409(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await client.post(PATH, json={"email": "mia@example.com"}, headers=tenant.owner.headers)
    assert first.status_code == 201
    again = await client.post(PATH, json={"email": "MIA@example.com"}, headers=tenant.owner.headers)
    assert_problem(again, 409, "conflict")


async def test_suppressions_are_per_company(client: httpx.AsyncClient, tenant: Tenant) -> None:
    other = await make_company(client, plan="enterprise")
    for company in (tenant, other):
        response = await client.post(
            PATH, json={"email": "mia@example.com"}, headers=company.owner.headers
        )
        assert response.status_code == 201
    assert (
        await client.delete(f"{PATH}/mia@example.com", headers=other.owner.headers)
    ).status_code == 204
    listed = await client.get(PATH, headers=tenant.owner.headers)
    assert [s["email"] for s in listed.json()["data"]] == ["mia@example.com"]
    assert (await client.get(PATH, headers=other.owner.headers)).json()["data"] == []


async def test_delete_in_any_case_then_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.post(PATH, json={"email": "mia@example.com"}, headers=tenant.owner.headers)
    assert (
        await client.delete(f"{PATH}/Mia@Example.com", headers=tenant.owner.headers)
    ).status_code == 204
    assert_problem(
        await client.delete(f"{PATH}/mia@example.com", headers=tenant.owner.headers),
        404,
        "not_found",
    )


async def test_an_invalid_address_is_422_naming_email(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = assert_problem(
        await client.post(PATH, json={"email": "not an address"}, headers=tenant.owner.headers),
        422,
        "validation_failed",
    )
    assert [e["field"] for e in body["errors"]] == ["email"]


@pytest.mark.parametrize("role", ["team_leader", "agent"])
async def test_only_owners_see_or_manage_suppressions(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    await client.post(PATH, json={"email": "mia@example.com"}, headers=tenant.owner.headers)
    member = await make_agent(tenant, role=role)
    assert_problem(await client.get(PATH, headers=member.headers), 403, "forbidden")
    assert_problem(
        await client.post(PATH, json={"email": "zoe@example.com"}, headers=member.headers),
        403,
        "forbidden",
    )
    assert_problem(
        await client.delete(f"{PATH}/mia@example.com", headers=member.headers), 403, "forbidden"
    )
    listed = await client.get(PATH, headers=tenant.owner.headers)
    assert [s["email"] for s in listed.json()["data"]] == ["mia@example.com"]


async def test_the_list_pages_newest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for name in ("ann", "bob", "cy"):
        response = await client.post(
            PATH, json={"email": f"{name}@example.com"}, headers=tenant.owner.headers
        )
        assert response.status_code == 201
    first = (await client.get(f"{PATH}?limit=2", headers=tenant.owner.headers)).json()
    assert [s["email"] for s in first["data"]] == ["cy@example.com", "bob@example.com"]
    rest = await client.get(
        PATH, params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.owner.headers
    )
    assert rest.json() == {
        "data": [{**rest.json()["data"][0], "email": "ann@example.com"}],
        "next_cursor": None,
    }
