from typing import Any

import httpx
import pytest

from crm.settings import Settings
from gateway.app import create_app
from tests.conftest import ADMIN_TOKEN, SECRET_KEY, serve
from tests.factories import make_company, unique

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def body(**fields: object) -> dict[str, object]:
    return {
        "name": unique("Acme"),
        "owner_email": f"{unique('ann')}@example.com",
        "owner_name": "Ann Owner",
        **fields,
    }


async def test_creates_company_owner_and_a_working_key(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/v1/companies",
        json=body(plan="pro", default_region="GB", billing_customer_id=unique("cus")),
        headers=ADMIN,
    )
    assert response.status_code == 201
    result = response.json()
    assert result["company"]["plan"] == "pro"
    assert result["company"]["default_region"] == "GB"
    assert result["company"]["subscription_status"] == "active"
    assert result["company"]["version"] == 1
    assert result["owner"]["role"] == "owner"
    assert result["owner"]["is_active"] is True
    assert result["api_key"].startswith("crm_")
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {result['api_key']}"})
    assert me.status_code == 200
    assert me.json()["agent"]["id"] == result["owner"]["id"]


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/v1/companies", json=body())
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_wrong_token_is_401_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/v1/companies", content=b"{not json", headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401


async def test_without_a_configured_token_every_admin_route_is_404(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, secret_key=SECRET_KEY))
    async with serve(app) as no_admin:
        routes = [
            ("POST", "/admin/v1/companies"),
            ("GET", "/admin/v1/companies"),
            ("PATCH", "/admin/v1/companies/01900000-0000-7000-8000-000000000000"),
            ("GET", "/admin/v1/billing-events"),
        ]
        for method, path in routes:
            response = await no_admin.request(method, path, json=body(), headers=ADMIN)
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"


async def test_duplicate_billing_customer_is_409_and_creates_nothing(
    client: httpx.AsyncClient,
) -> None:
    customer = unique("cus")
    first = await client.post(
        "/admin/v1/companies", json=body(billing_customer_id=customer), headers=ADMIN
    )
    assert first.status_code == 201
    name = unique("Second")
    second = await client.post(
        "/admin/v1/companies", json=body(name=name, billing_customer_id=customer), headers=ADMIN
    )
    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    from crm import db

    async with db.transaction() as tx:
        count = await tx.connection.fetchval("SELECT count(*) FROM companies WHERE name = $1", name)
    assert count == 0


async def test_invalid_plan_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/admin/v1/companies", json=body(plan="platinum"), headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "plan"


# Linking a company to its billing customer -------------------------------------


async def link(
    client: httpx.AsyncClient,
    company_id: str,
    customer: object,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.patch(
        f"/admin/v1/companies/{company_id}",
        json={"billing_customer_id": customer},
        headers=ADMIN if headers is None else headers,
    )


async def stored_company(company_id: str) -> tuple[str | None, int]:
    from crm import db

    async with db.transaction() as tx:
        row = await tx.connection.fetchrow(
            "SELECT billing_customer_id, version FROM companies WHERE id = $1", company_id
        )
    assert row is not None
    return row["billing_customer_id"], row["version"]


async def test_the_operator_links_a_company_to_a_customer(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    customer = unique("cus")
    response = await link(client, tenant.id, customer)
    assert response.status_code == 200
    company = response.json()
    assert company == {
        **tenant.company,
        "billing_customer_id": customer,
        "version": 2,
        "updated_at": company["updated_at"],
    }
    assert (await client.get("/v1/company", headers=tenant.owner.headers)).json() == company


async def test_the_operator_moves_a_company_to_another_customer(client: httpx.AsyncClient) -> None:
    first, second = unique("cus"), unique("cus")
    tenant = await make_company(client, billing_customer_id=first)
    response = await link(client, tenant.id, second)
    assert response.json()["billing_customer_id"] == second
    assert await stored_company(tenant.id) == (second, 2)


async def test_null_unlinks_the_customer_and_frees_it_for_another_company(
    client: httpx.AsyncClient,
) -> None:
    customer = unique("cus")
    mistaken = await make_company(client, plan="pro", billing_customer_id=customer)
    right = await make_company(client)
    response = await link(client, mistaken.id, None)
    assert response.status_code == 200
    assert (response.json()["billing_customer_id"], response.json()["plan"]) == (None, "pro")
    assert (await link(client, right.id, customer)).json()["billing_customer_id"] == customer


async def test_linking_the_customer_it_has_changes_nothing(client: httpx.AsyncClient) -> None:
    customer = unique("cus")
    tenant = await make_company(client, billing_customer_id=customer)
    response = await link(client, tenant.id, customer)
    assert response.json() == tenant.company
    assert await stored_company(tenant.id) == (customer, 1)


async def test_another_companys_customer_is_409_naming_it_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    customer = unique("cus")
    holder = await make_company(client, billing_customer_id=customer)
    tenant = await make_company(client)
    response = await link(client, tenant.id, customer)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert holder.id in response.json()["detail"]
    assert await stored_company(tenant.id) == (None, 1)
    assert await stored_company(holder.id) == (customer, 1)


@pytest.mark.parametrize(
    "company_id",
    ["01900000-0000-7000-8000-000000000000", "not-a-company", "0" * 5000],
    ids=["unknown id", "malformed id", "absurdly long id"],
)
async def test_an_unknown_company_is_404(client: httpx.AsyncClient, company_id: str) -> None:
    response = await link(client, company_id, unique("cus"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "payload",
    [{}, {"billing_customer_id": ""}, {"billing_customer_id": 7}, {"plan": "enterprise"}],
    ids=["missing", "empty", "a number", "another field"],
)
async def test_a_body_that_is_not_one_customer_id_is_422_and_changes_nothing(
    client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    customer = unique("cus")
    tenant = await make_company(client, billing_customer_id=customer)
    response = await client.patch(f"/admin/v1/companies/{tenant.id}", json=payload, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == (
        "plan" if "plan" in payload else "billing_customer_id"
    )
    assert await stored_company(tenant.id) == (customer, 1)


@pytest.mark.parametrize("who", ["no token", "a wrong token", "the tenant's owner key"])
async def test_only_the_admin_token_links_a_customer(client: httpx.AsyncClient, who: str) -> None:
    tenant = await make_company(client)
    headers = {
        "no token": {},
        "a wrong token": {"Authorization": "Bearer wrong"},
        "the tenant's owner key": tenant.owner.headers,
    }[who]
    response = await link(client, tenant.id, unique("cus"), headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert await stored_company(tenant.id) == (None, 1)
