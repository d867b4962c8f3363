"""`/v1/deals`: stages and `closed_at`, money as decimal strings, filters and sorts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.factories import Member, Tenant, make_agent, make_company, make_contact, make_deal
from tests.gateway.test_problems import assert_problem

STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


async def post_deal(client: httpx.AsyncClient, member: Member, **fields: object) -> dict[str, Any]:
    response = await client.post(
        "/v1/deals", json={"title": "Engine", **fields}, headers=member.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def patch_deal(
    client: httpx.AsyncClient, member: Member, deal_id: str, **fields: object
) -> dict[str, Any]:
    response = await client.patch(f"/v1/deals/{deal_id}", json=fields, headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def ids_of(
    client: httpx.AsyncClient, member: Member, **params: str | int | bool
) -> list[str]:
    response = await client.get("/v1/deals", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["data"]]


def field_of(response: httpx.Response) -> list[str]:
    return [e["field"] for e in assert_problem(response, 422, "validation_failed")["errors"]]


async def test_a_new_deal_is_an_open_lead_owned_by_the_caller(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    deal = await post_deal(client, agent)
    assert (deal["stage"], deal["owner_id"], deal["closed_at"]) == ("lead", agent.id, None)
    assert (deal["amount"], deal["currency"], deal["contact_id"]) == (None, None, None)


async def test_post_answers_201_with_a_location_and_the_version_as_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/deals", json={"title": "Engine"}, headers=tenant.owner.headers
    )
    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/deals/{response.json()['id']}"
    assert response.headers["etag"] == '"1"'


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    deal = await make_deal(tenant.owner, title="Engine")
    await patch_deal(client, tenant.owner, deal["id"], stage="qualified")
    response = await client.patch(
        f"/v1/deals/{deal['id']}",
        json={"title": "Loom"},
        headers={**tenant.owner.headers, "If-Match": '"1"'},
    )
    assert_problem(response, 412, "precondition_failed")
    after = (await client.get(f"/v1/deals/{deal['id']}", headers=tenant.owner.headers)).json()
    assert (after["title"], after["version"]) == ("Engine", 2)


# Stages and closed_at


@pytest.mark.parametrize("stage", STAGES)
async def test_every_stage_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant, stage: str
) -> None:
    deal = await make_deal(tenant.owner)
    assert (await patch_deal(client, tenant.owner, deal["id"], stage=stage))["stage"] == stage


async def test_an_unknown_stage_is_422_naming_stage(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/deals", json={"title": "Engine", "stage": "signed"}, headers=tenant.owner.headers
    )
    assert field_of(response) == ["stage"]


@pytest.mark.parametrize("stage", ["won", "lost"])
async def test_a_deal_created_closed_has_closed_at(
    client: httpx.AsyncClient, tenant: Tenant, stage: str
) -> None:
    deal = await post_deal(client, tenant.owner, stage=stage)
    assert deal["closed_at"] is not None
    assert deal["closed_at"].endswith("Z")


@pytest.mark.parametrize("stage", ["won", "lost"])
async def test_moving_into_won_or_lost_sets_closed_at(
    client: httpx.AsyncClient, tenant: Tenant, stage: str
) -> None:
    deal = await make_deal(tenant.owner, stage="negotiation")
    moved = await patch_deal(client, tenant.owner, deal["id"], stage=stage)
    assert moved["closed_at"] is not None
    assert datetime.fromisoformat(moved["closed_at"]) >= datetime.fromisoformat(deal["created_at"])


@pytest.mark.parametrize("closed", ["won", "lost"])
async def test_moving_out_of_won_or_lost_clears_closed_at(
    client: httpx.AsyncClient, tenant: Tenant, closed: str
) -> None:
    deal = await make_deal(tenant.owner, stage=closed)
    reopened = await patch_deal(client, tenant.owner, deal["id"], stage="negotiation")
    assert reopened["closed_at"] is None


async def test_moving_between_open_stages_leaves_closed_at_null(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    deal = await make_deal(tenant.owner)
    for stage in ["qualified", "proposal", "negotiation"]:
        assert (await patch_deal(client, tenant.owner, deal["id"], stage=stage))[
            "closed_at"
        ] is None


async def test_a_change_other_than_the_stage_keeps_closed_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    deal = await make_deal(tenant.owner, stage="won")
    renamed = await patch_deal(client, tenant.owner, deal["id"], title="Renamed")
    assert renamed["closed_at"] == deal["closed_at"]


# Money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1250", "USD", "1250.00"),
        ("1250.5", "EUR", "1250.50"),
        ("0.99", "GBP", "0.99"),
        ("1250", "JPY", "1250"),
        ("1.234", "KWD", "1.234"),
        ("7", "KWD", "7.000"),
    ],
)
async def test_amount_is_a_decimal_string_in_the_currencys_minor_units(
    client: httpx.AsyncClient, tenant: Tenant, amount: str, currency: str, shown: str
) -> None:
    deal = await post_deal(client, tenant.owner, amount=amount, currency=currency)
    assert (deal["amount"], deal["currency"]) == (shown, currency)
    fetched = await client.get(f"/v1/deals/{deal['id']}", headers=tenant.owner.headers)
    assert fetched.json()["amount"] == shown


@pytest.mark.parametrize(
    ("amount", "currency"), [("12.345", "USD"), ("1250.5", "JPY"), ("1.2345", "KWD")]
)
async def test_more_decimals_than_the_currency_has_is_422_naming_amount(
    client: httpx.AsyncClient, tenant: Tenant, amount: str, currency: str
) -> None:
    response = await client.post(
        "/v1/deals",
        json={"title": "Engine", "amount": amount, "currency": currency},
        headers=tenant.owner.headers,
    )
    assert field_of(response) == ["amount"]


@pytest.mark.parametrize("amount", [1250.5, 1250, "-5.00", "1,250.00", "12e3", ""])
async def test_an_amount_that_is_not_a_non_negative_decimal_string_is_422_naming_amount(
    client: httpx.AsyncClient, tenant: Tenant, amount: object
) -> None:
    response = await client.post(
        "/v1/deals",
        json={"title": "Engine", "amount": amount, "currency": "USD"},
        headers=tenant.owner.headers,
    )
    assert field_of(response) == ["amount"]


async def test_an_amount_without_a_currency_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/deals", json={"title": "Engine", "amount": "1250"}, headers=tenant.owner.headers
    )
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize("currency", ["XYZ", "usd", "US", "EURO"])
async def test_an_unknown_currency_is_422_naming_currency(
    client: httpx.AsyncClient, tenant: Tenant, currency: str
) -> None:
    response = await client.post(
        "/v1/deals",
        json={"title": "Engine", "amount": "1250", "currency": currency},
        headers=tenant.owner.headers,
    )
    assert field_of(response) == ["currency"]


async def test_changing_the_currency_rechecks_the_stored_amount(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    deal = await make_deal(tenant.owner, amount="12.50", currency="USD")
    response = await client.patch(
        f"/v1/deals/{deal['id']}", json={"currency": "JPY"}, headers=tenant.owner.headers
    )
    assert field_of(response) == ["amount"]
    after = (await client.get(f"/v1/deals/{deal['id']}", headers=tenant.owner.headers)).json()
    assert (after["amount"], after["currency"]) == ("12.50", "USD")


async def test_patching_the_amount_keeps_the_currency(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    deal = await make_deal(tenant.owner, amount="10", currency="EUR")
    patched = await patch_deal(client, tenant.owner, deal["id"], amount="99.9")
    assert (patched["amount"], patched["currency"]) == ("99.90", "EUR")


# Filters


async def test_stage_filter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    won = await make_deal(tenant.owner, stage="won")
    await make_deal(tenant.owner, stage="lost")
    await make_deal(tenant.owner)
    assert await ids_of(client, tenant.owner, stage="won") == [won["id"]]


async def test_owner_id_filter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    theirs = await make_deal(agent)
    await make_deal(tenant.owner)
    assert await ids_of(client, tenant.owner, owner_id=agent.id) == [theirs["id"]]


async def test_contact_id_filter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(tenant.owner)
    hers = await make_deal(tenant.owner, contact_id=contact["id"])
    await make_deal(tenant.owner, contact_id=(await make_contact(tenant.owner))["id"])
    await make_deal(tenant.owner)
    assert await ids_of(client, tenant.owner, contact_id=contact["id"]) == [hers["id"]]


# Sorts


async def test_default_order_is_newest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = [(await make_deal(tenant.owner))["id"] for _ in range(3)]
    assert await ids_of(client, tenant.owner) == made[::-1]
    assert await ids_of(client, tenant.owner, sort="created_at") == made


async def test_sort_amount_is_smallest_first_with_deals_without_amount_last(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    none = await make_deal(tenant.owner)
    big = await make_deal(tenant.owner, amount="1000", currency="USD")
    small = await make_deal(tenant.owner, amount="9.99", currency="USD")
    mid = await make_deal(tenant.owner, amount="100", currency="USD")
    assert await ids_of(client, tenant.owner, sort="amount") == [
        small["id"],
        mid["id"],
        big["id"],
        none["id"],
    ]


async def test_sort_minus_amount_is_largest_first_with_deals_without_amount_last(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    none = await make_deal(tenant.owner)
    big = await make_deal(tenant.owner, amount="1000", currency="USD")
    small = await make_deal(tenant.owner, amount="9.99", currency="USD")
    mid = await make_deal(tenant.owner, amount="100", currency="USD")
    assert await ids_of(client, tenant.owner, sort="-amount") == [
        big["id"],
        mid["id"],
        small["id"],
        none["id"],
    ]


async def test_sort_expected_close_date_is_soonest_first_with_undated_deals_last(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    undated = await make_deal(tenant.owner)
    later = await make_deal(tenant.owner, expected_close_date="2031-06-30")
    sooner = await make_deal(tenant.owner, expected_close_date="2031-01-15")
    assert await ids_of(client, tenant.owner, sort="expected_close_date") == [
        sooner["id"],
        later["id"],
        undated["id"],
    ]


@pytest.mark.parametrize("sort", ["amount", "-amount", "expected_close_date"])
async def test_paging_through_a_sort_yields_every_deal_exactly_once(
    client: httpx.AsyncClient, tenant: Tenant, sort: str
) -> None:
    made = [
        (await make_deal(tenant.owner, **fields))["id"]
        for fields in [
            {"amount": "10", "currency": "USD", "expected_close_date": "2031-01-01"},
            {"amount": "10", "currency": "USD", "expected_close_date": "2031-01-01"},
            {"amount": "5.5", "currency": "USD", "expected_close_date": "2030-01-01"},
            {},
            {},
            {"amount": "700", "currency": "JPY"},
        ]
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/deals", params=params, headers=tenant.owner.headers)).json()
        seen += [d["id"] for d in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert seen == await ids_of(client, tenant.owner, sort=sort)


async def test_an_unknown_sort_is_422_naming_sort(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/deals", params={"sort": "title"}, headers=tenant.owner.headers)
    assert field_of(response) == ["sort"]


# References


async def test_a_contact_of_another_company_is_422_naming_contact_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    foreign = await make_contact(other.owner)
    response = await client.post(
        "/v1/deals",
        json={"title": "Engine", "contact_id": foreign["id"]},
        headers=tenant.owner.headers,
    )
    assert field_of(response) == ["contact_id"]


async def test_a_missing_contact_answers_like_a_foreign_one(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    foreign = await make_contact(other.owner)
    contact = await make_contact(tenant.owner)
    await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.owner.headers)

    answers = []
    for contact_id in [foreign["id"], contact["id"], "not-an-id"]:
        response = await client.post(
            "/v1/deals",
            json={"title": "Engine", "contact_id": contact_id},
            headers=tenant.owner.headers,
        )
        body = assert_problem(response, 422, "validation_failed")
        answers.append(body["errors"])
    assert answers[0] == answers[1] == answers[2]


async def test_patching_in_a_contact_of_another_company_is_422_naming_contact_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_company(client, plan="enterprise")
    foreign = await make_contact(other.owner)
    deal = await make_deal(tenant.owner)
    response = await client.patch(
        f"/v1/deals/{deal['id']}", json={"contact_id": foreign["id"]}, headers=tenant.owner.headers
    )
    assert field_of(response) == ["contact_id"]


async def test_a_contact_of_the_company_is_linked(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner)
    deal = await post_deal(client, tenant.owner, contact_id=contact["id"])
    assert deal["contact_id"] == contact["id"]
    unlinked = await patch_deal(client, tenant.owner, deal["id"], contact_id=None)
    assert unlinked["contact_id"] is None


async def test_unknown_field_is_422_naming_it(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/deals", json={"title": "Engine", "value": "10"}, headers=tenant.owner.headers
    )
    assert field_of(response) == ["value"]
