"""`/v1/company`: the owner changes its name, billing email and default region; the plan,
the subscription and the billing customer are set by payment webhooks and the operator only."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Tenant, make_company, unique
from tests.gateway.test_problems import assert_problem


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


async def patch_company(
    client: httpx.AsyncClient, tenant: Tenant, **fields: object
) -> httpx.Response:
    return await client.patch("/v1/company", json=fields, headers=tenant.owner.headers)


def fields_of(response: httpx.Response) -> list[str]:
    return [e["field"] for e in assert_problem(response, 422, "validation_failed")["errors"]]


async def test_get_answers_the_callers_company_with_its_version_as_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/company", headers=tenant.owner.headers)
    assert response.status_code == 200
    company = response.json()
    assert company["id"] == tenant.id
    assert set(company) == {
        "id",
        "name",
        "slug",
        "plan",
        "subscription_status",
        "billing_email",
        "billing_customer_id",
        "default_region",
        "created_at",
        "updated_at",
        "version",
    }
    assert response.headers["etag"] == f'"{company["version"]}"'


async def test_owner_changes_name_billing_email_and_default_region(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await patch_company(
        client,
        tenant,
        name="Analytical Engines",
        billing_email="bills@example.com",
        default_region="FR",
    )
    assert response.status_code == 200
    company = response.json()
    assert (company["name"], company["billing_email"], company["default_region"]) == (
        "Analytical Engines",
        "bills@example.com",
        "FR",
    )
    assert company["version"] == tenant.company["version"] + 1
    assert response.headers["etag"] == f'"{company["version"]}"'
    assert (await client.get("/v1/company", headers=tenant.owner.headers)).json() == company


async def test_the_new_default_region_reads_the_next_phone_number(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await patch_company(client, tenant, default_region="FR")
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "Ada", "phones": [{"number": "01 23 45 67 89"}]},
        headers=tenant.owner.headers,
    )
    assert response.json()["phones"][0]["number"] == "+33123456789"


async def test_default_region_may_be_cleared(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client, plan="enterprise", default_region="GB")
    response = await patch_company(client, tenant, default_region=None)
    assert response.json()["default_region"] is None


# What payment events and the operator set: refused alike, whatever the value.
BILLING_FIELDS = [
    ("plan", "free"),
    ("plan", "enterprise"),
    ("subscription_status", "cancelled"),
    ("subscription_status", "active"),
    ("billing_customer_id", None),
    ("billing_customer_id", "cus_unused"),
    ("billing_customer_id", "cus_of_this_company"),
    ("billing_customer_id", "cus_of_another_company"),
]


@pytest.mark.parametrize(
    ("field", "value"), BILLING_FIELDS, ids=[f"{f}={v}" for f, v in BILLING_FIELDS]
)
async def test_plan_status_and_billing_customer_cannot_be_patched(
    client: httpx.AsyncClient, field: str, value: object
) -> None:
    customer, others = unique("cus"), unique("cus")
    tenant = await make_company(client, plan="enterprise", billing_customer_id=customer)
    await make_company(client, billing_customer_id=others)
    value = {"cus_of_this_company": customer, "cus_of_another_company": others}.get(
        str(value), value
    )
    response = await patch_company(client, tenant, **{field: value})
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [{"field": field, "message": "unknown field"}]
    company = (await client.get("/v1/company", headers=tenant.owner.headers)).json()
    assert company == {**tenant.company, "updated_at": company["updated_at"]}
    assert (company["plan"], company["billing_customer_id"], company["version"]) == (
        "enterprise",
        customer,
        1,
    )


async def test_another_companys_customer_id_answers_as_an_unused_one_does(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    taken = unique("cus")
    await make_company(client, billing_customer_id=taken)
    answers = [
        await patch_company(client, tenant, billing_customer_id=customer)
        for customer in (taken, unique("cus"))
    ]
    bodies = [assert_problem(r, 422, "validation_failed") for r in answers]
    assert [b["errors"] for b in bodies] == [
        [{"field": "billing_customer_id", "message": "unknown field"}]
    ] * 2
    assert bodies[0]["detail"] == bodies[1]["detail"]


async def test_a_refused_patch_changes_nothing_else(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await patch_company(client, tenant, name="Renamed", plan="pro")
    assert_problem(response, 422, "validation_failed")
    company = (await client.get("/v1/company", headers=tenant.owner.headers)).json()
    assert (company["name"], company["version"]) == (tenant.company["name"], 1)


@pytest.mark.parametrize("region", ["gb", "GBR", "G", "", "44"])
async def test_a_default_region_that_is_not_alpha_2_is_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant, region: str
) -> None:
    assert fields_of(await patch_company(client, tenant, default_region=region)) == [
        "default_region"
    ]


async def test_a_default_region_that_is_no_country_is_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert fields_of(await patch_company(client, tenant, default_region="QQ")) == ["default_region"]


async def test_an_invalid_billing_email_is_422_naming_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert fields_of(await patch_company(client, tenant, billing_email="billing")) == [
        "billing_email"
    ]


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await patch_company(client, tenant, name="Second name")
    response = await client.patch(
        "/v1/company",
        json={"name": "Third name"},
        headers={**tenant.owner.headers, "If-Match": '"1"'},
    )
    assert_problem(response, 412, "precondition_failed")
    company = (await client.get("/v1/company", headers=tenant.owner.headers)).json()
    assert (company["name"], company["version"]) == ("Second name", 2)


async def test_patch_with_the_current_if_match_applies(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.patch(
        "/v1/company",
        json={"name": "Second name"},
        headers={**tenant.owner.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
