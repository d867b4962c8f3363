"""`/v1/email-templates`: derived variables, owners manage, every role reads."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Tenant, make_agent, make_company
from tests.gateway.test_problems import assert_problem

BODY = {
    "name": "Welcome",
    "subject": "Welcome, {{ contact.first_name }}",
    "html": "<p>{{ agent.name }} of {{company.name}} says hi, {{ contact.first_name }}</p>",
    "text": "{{ agent.name }} says hi",
}


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


async def post_template(
    client: httpx.AsyncClient, tenant: Tenant, **changes: object
) -> httpx.Response:
    return await client.post(
        "/v1/email-templates", json={**BODY, **changes}, headers=tenant.owner.headers
    )


async def test_creates_a_template_with_its_variables_location_and_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await post_template(client, tenant)
    assert response.status_code == 201
    template = response.json()
    assert template["variables"] == ["agent.name", "company.name", "contact.first_name"]
    assert (template["name"], template["is_active"], template["version"]) == (
        "Welcome",
        True,
        1,
    )
    assert response.headers["location"] == f"/v1/email-templates/{template['id']}"
    assert response.headers["etag"] == '"1"'
    fetched = await client.get(response.headers["location"], headers=tenant.owner.headers)
    assert fetched.json() == template


async def test_every_role_reads_but_only_the_owner_manages(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    template = (await post_template(client, tenant)).json()
    agent = await make_agent(tenant)
    listed = await client.get("/v1/email-templates", headers=agent.headers)
    assert [t["id"] for t in listed.json()["data"]] == [template["id"]]
    path = f"/v1/email-templates/{template['id']}"
    assert (await client.get(path, headers=agent.headers)).status_code == 200
    assert_problem(
        await client.post("/v1/email-templates", json=BODY, headers=agent.headers),
        403,
        "forbidden",
    )
    assert_problem(
        await client.patch(path, json={"name": "Mine"}, headers=agent.headers), 403, "forbidden"
    )
    assert_problem(await client.delete(path, headers=agent.headers), 403, "forbidden")


async def test_a_patch_changes_the_variables_and_honours_if_match(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    template = (await post_template(client, tenant)).json()
    path = f"/v1/email-templates/{template['id']}"
    stale = await client.patch(
        path,
        json={"text": "{{ x }}"},
        headers={**tenant.owner.headers, "If-Match": '"7"'},
    )
    assert_problem(stale, 412, "precondition_failed")
    response = await client.patch(
        path,
        json={"subject": "Hello", "html": "", "text": "{{ x }}", "is_active": False},
        headers={**tenant.owner.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    changed = response.json()
    assert (changed["variables"], changed["is_active"], changed["version"]) == (["x"], False, 2)


async def test_a_taken_name_is_409_in_any_case(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await post_template(client, tenant)).status_code == 201
    assert_problem(await post_template(client, tenant, name="WELCOME"), 409, "conflict")


async def test_a_blank_subject_is_422_naming_subject(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = assert_problem(
        await post_template(client, tenant, subject=" "), 422, "validation_failed"
    )
    assert [e["field"] for e in body["errors"]] == ["subject"]


async def test_deleted_and_foreign_templates_are_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    template = (await post_template(client, tenant)).json()
    path = f"/v1/email-templates/{template['id']}"
    other = await make_company(client, plan="enterprise")
    assert_problem(await client.get(path, headers=other.owner.headers), 404, "not_found")
    assert (await client.delete(path, headers=tenant.owner.headers)).status_code == 204
    assert_problem(await client.get(path, headers=tenant.owner.headers), 404, "not_found")


async def test_a_key_without_emails_scopes_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    reader = await make_agent(tenant, role="owner", scopes=["emails:read"])
    refused = await client.post("/v1/email-templates", json=BODY, headers=reader.headers)
    assert_problem(refused, 403, "insufficient_scope")
    blind = await make_agent(tenant, role="owner", scopes=["contacts:read"])
    refused = await client.get("/v1/email-templates", headers=blind.headers)
    assert_problem(refused, 403, "insufficient_scope")
