"""`/v1/contacts`: derived names, phones in E.164, search, filters, sorts, deletion,
versions, and the list pagination every collection shares.

The rules of `next_task_due_at` belong to tasks: tests/crm/tasks/test_next_task_due.py."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.factories import Member, Tenant, make_agent, make_company, make_contact, make_task
from tests.gateway.test_problems import assert_problem


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client, plan="enterprise")


@pytest.fixture
async def gb(client: httpx.AsyncClient) -> Tenant:
    """A company whose numbers without a country code are British."""
    return await make_company(client, plan="enterprise", default_region="GB")


async def post_contact(
    client: httpx.AsyncClient, member: Member, **fields: object
) -> dict[str, Any]:
    response = await client.post("/v1/contacts", json=fields, headers=member.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def post_task(client: httpx.AsyncClient, member: Member, **fields: object) -> dict[str, Any]:
    response = await client.post(
        "/v1/tasks", json={"title": "Call", **fields}, headers=member.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def get_contact(client: httpx.AsyncClient, member: Member, contact_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/contacts/{contact_id}", headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def list_contacts(
    client: httpx.AsyncClient, member: Member, **params: str | int | bool
) -> dict[str, Any]:
    response = await client.get("/v1/contacts", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def ids_of(
    client: httpx.AsyncClient, member: Member, **params: str | int | bool
) -> list[str]:
    return [c["id"] for c in (await list_contacts(client, member, **params))["data"]]


async def all_pages(
    client: httpx.AsyncClient, member: Member, **params: str | int | bool
) -> list[str]:
    """Every id of a list, page after page, following `next_cursor`."""
    seen: list[str] = []
    cursor = None
    while True:
        page = await list_contacts(
            client, member, **params, **({"cursor": cursor} if cursor else {})
        )
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def forged_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).rstrip(b"=").decode()


# full_name


async def test_full_name_joins_first_and_last_name_with_one_space(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await post_contact(client, tenant.owner, first_name="Ada", last_name="Lovelace")
    assert contact["full_name"] == "Ada Lovelace"


async def test_full_name_is_the_first_name_alone_without_a_last_name(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await post_contact(client, tenant.owner, first_name="Ada")
    assert contact["full_name"] == "Ada"


async def test_full_name_is_the_last_name_alone_without_a_first_name(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await post_contact(client, tenant.owner, last_name="Lovelace")
    assert contact["full_name"] == "Lovelace"


async def test_full_name_follows_a_changed_name(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await post_contact(client, tenant.owner, first_name="Ada", last_name="Lovelace")
    response = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"last_name": "King"}, headers=tenant.owner.headers
    )
    assert response.json()["full_name"] == "Ada King"


async def test_owner_defaults_to_the_caller(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    contact = await post_contact(client, agent, first_name="Ada")
    assert contact["owner_id"] == agent.id


# Phones


async def test_phones_are_stored_in_e164_reading_national_numbers_with_the_default_region(
    client: httpx.AsyncClient, gb: Tenant
) -> None:
    contact = await post_contact(
        client,
        gb.owner,
        first_name="Ada",
        phones=[
            {"number": "020 7946 0018", "label": "work"},
            {"number": "+1 (555) 010-2000", "label": "mobile"},
            {"number": "07700 900123"},
        ],
    )
    assert contact["phones"] == [
        {"number": "+442079460018", "label": "work"},
        {"number": "+15550102000", "label": "mobile"},
        {"number": "+447700900123", "label": None},
    ]


async def test_a_national_number_without_a_default_region_is_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "Ada", "phones": [{"number": "020 7946 0018"}]},
        headers=tenant.owner.headers,
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "phones[0].number"


@pytest.mark.parametrize("invalid", ["12", "not a number", "+44 20 7946 0018 1234 5678"])
async def test_an_invalid_number_is_422_naming_its_place_in_the_list(
    client: httpx.AsyncClient, gb: Tenant, invalid: str
) -> None:
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "Ada", "phones": [{"number": "020 7946 0018"}, {"number": invalid}]},
        headers=gb.owner.headers,
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["phones[1].number"]


@pytest.mark.parametrize(
    "written", ["+442079460018", "+44 20 7946 0018", "020 7946 0018", "(020) 7946-0018"]
)
async def test_phone_filter_finds_the_contact_whatever_the_format(
    client: httpx.AsyncClient, gb: Tenant, written: str
) -> None:
    wanted = await post_contact(
        client, gb.owner, first_name="Ada", phones=[{"number": "02079460018"}]
    )
    await post_contact(client, gb.owner, first_name="Bob", phones=[{"number": "02079460019"}])
    assert await ids_of(client, gb.owner, phone=written) == [wanted["id"]]


async def test_phone_filter_with_an_invalid_number_is_422_naming_phone(
    client: httpx.AsyncClient, gb: Tenant
) -> None:
    response = await client.get("/v1/contacts", params={"phone": "12"}, headers=gb.owner.headers)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["phone"]


async def test_patching_phones_replaces_the_whole_list(
    client: httpx.AsyncClient, gb: Tenant
) -> None:
    contact = await post_contact(
        client, gb.owner, first_name="Ada", phones=[{"number": "020 7946 0018"}]
    )
    response = await client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"phones": [{"number": "07700 900123", "label": "mobile"}]},
        headers=gb.owner.headers,
    )
    assert response.json()["phones"] == [{"number": "+447700900123", "label": "mobile"}]
    assert await ids_of(client, gb.owner, phone="020 7946 0018") == []


# Search


async def test_search_matches_word_prefixes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    wanted = await make_contact(tenant.owner, first_name="Ada", last_name="Lovelace")
    await make_contact(tenant.owner, first_name="Grace", last_name="Hopper")
    assert await ids_of(client, tenant.owner, q="lov") == [wanted["id"]]
    assert await ids_of(client, tenant.owner, q="ad lo") == [wanted["id"]]


@pytest.mark.parametrize("q", ["zoe", "ZOE", "Zoë", "zoë"])
async def test_search_ignores_case_and_accents(
    client: httpx.AsyncClient, tenant: Tenant, q: str
) -> None:
    wanted = await make_contact(tenant.owner, first_name="Zoë", last_name="Ångström")
    await make_contact(tenant.owner, first_name="Zack")
    assert await ids_of(client, tenant.owner, q=q) == [wanted["id"]]
    assert await ids_of(client, tenant.owner, q="angstrom") == [wanted["id"]]


async def test_search_finds_a_contact_by_email(client: httpx.AsyncClient, tenant: Tenant) -> None:
    wanted = await make_contact(tenant.owner, first_name="Ada", email="countess@analytical.org")
    await make_contact(tenant.owner, first_name="Grace", email="grace@navy.mil")
    assert await ids_of(client, tenant.owner, q="countess") == [wanted["id"]]
    assert await ids_of(client, tenant.owner, q="countess@analytical.org") == [wanted["id"]]


async def test_search_finds_a_contact_by_company_name(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wanted = await make_contact(tenant.owner, first_name="Ada", company_name="Babbage Engines Ltd")
    await make_contact(tenant.owner, first_name="Grace", company_name="US Navy")
    assert await ids_of(client, tenant.owner, q="engines") == [wanted["id"]]


async def test_search_ranks_a_name_match_above_a_company_name_match(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    # The name match is the older one: newest-first order alone would put it second.
    by_name = await make_contact(tenant.owner, first_name="Ada", last_name="Smith")
    by_company = await make_contact(tenant.owner, first_name="Grace", company_name="Smith & Sons")
    assert await ids_of(client, tenant.owner, q="smith") == [by_name["id"], by_company["id"]]


async def test_search_returns_only_visible_contacts(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    own = await make_contact(agent, first_name="Ada", last_name="Own")
    await make_contact(tenant.owner, first_name="Ada", last_name="Hidden")
    assert await ids_of(client, agent, q="ada") == [own["id"]]


async def test_search_finds_a_contact_by_its_new_name_after_a_rename(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner, first_name="Ada", last_name="Byron")
    await client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"last_name": "Lovelace"},
        headers=tenant.owner.headers,
    )
    assert await ids_of(client, tenant.owner, q="lovelace") == [contact["id"]]
    assert await ids_of(client, tenant.owner, q="byron") == []


async def test_search_without_a_letter_or_digit_is_422_naming_q(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get("/v1/contacts", params={"q": "&!*"}, headers=tenant.owner.headers)
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["q"]


async def test_search_results_page_through_every_match_exactly_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matches = [
        await make_contact(tenant.owner, first_name="Ada", last_name=last)
        for last in ["Lovelace", "King", "Byron", "Ada", "Smith"]
    ]
    await make_contact(tenant.owner, first_name="Grace")
    seen = await all_pages(client, tenant.owner, q="ada", limit=2)
    assert sorted(seen) == sorted(c["id"] for c in matches)


# Tags


async def test_tag_filter_keeps_only_contacts_with_that_tag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    vip = await make_contact(tenant.owner, tags=["vip", "press"])
    await make_contact(tenant.owner, tags=["press"])
    await make_contact(tenant.owner)
    assert await ids_of(client, tenant.owner, tag="vip") == [vip["id"]]


# Sorts


async def test_default_order_is_newest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = [(await make_contact(tenant.owner))["id"] for _ in range(3)]
    assert await ids_of(client, tenant.owner) == made[::-1]


async def test_sort_created_at_is_oldest_first(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = [(await make_contact(tenant.owner))["id"] for _ in range(3)]
    assert await ids_of(client, tenant.owner, sort="created_at") == made


async def test_sort_updated_at_follows_the_latest_change(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first, second, third = [(await make_contact(tenant.owner))["id"] for _ in range(3)]
    await client.patch(
        f"/v1/contacts/{first}", json={"notes": "called"}, headers=tenant.owner.headers
    )
    assert await ids_of(client, tenant.owner, sort="updated_at") == [second, third, first]
    assert await ids_of(client, tenant.owner, sort="-updated_at") == [first, third, second]


async def test_sort_next_task_due_at_is_soonest_first_with_contacts_without_tasks_last(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    no_task = await make_contact(tenant.owner)
    later = await make_contact(tenant.owner)
    sooner = await make_contact(tenant.owner)
    only_done = await make_contact(tenant.owner)
    await make_task(tenant.owner, contact_id=later["id"], due_at="2031-03-01T09:00:00Z")
    await make_task(tenant.owner, contact_id=sooner["id"], due_at="2031-01-01T09:00:00Z")
    await make_task(tenant.owner, contact_id=only_done["id"], due_at="2030-01-01T09:00:00Z")
    await make_task(
        tenant.owner, contact_id=only_done["id"], due_at="2029-01-01T09:00:00Z", done=True
    )

    order = await ids_of(client, tenant.owner, sort="next_task_due_at")

    assert order[:3] == [only_done["id"], sooner["id"], later["id"]]
    assert order[3:] == [no_task["id"]]


async def test_unknown_sort_is_422_naming_sort(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(
        "/v1/contacts", params={"sort": "first_name"}, headers=tenant.owner.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["sort"]


# Deleting


async def test_delete_answers_204_and_the_contact_is_gone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner)
    response = await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.owner.headers)
    assert response.status_code == 204
    gone = await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.owner.headers)
    assert_problem(gone, 404, "not_found")


async def test_deleting_a_contact_deletes_its_tasks(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner)
    task = await make_task(tenant.owner, contact_id=contact["id"])
    other = await make_task(tenant.owner)

    await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.owner.headers)

    gone = await client.get(f"/v1/tasks/{task['id']}", headers=tenant.owner.headers)
    assert_problem(gone, 404, "not_found")
    kept = await client.get(f"/v1/tasks/{other['id']}", headers=tenant.owner.headers)
    assert kept.status_code == 200


async def test_deleting_a_contact_clears_it_from_its_deals_and_bumps_their_version(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner)
    deal = (
        await client.post(
            "/v1/deals",
            json={"title": "Engine", "contact_id": contact["id"]},
            headers=tenant.owner.headers,
        )
    ).json()

    await client.delete(f"/v1/contacts/{contact['id']}", headers=tenant.owner.headers)

    after = (await client.get(f"/v1/deals/{deal['id']}", headers=tenant.owner.headers)).json()
    assert after["contact_id"] is None
    assert after["version"] == deal["version"] + 1


# The request and the answer


async def test_unknown_field_is_422_naming_it(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/contacts", json={"first_name": "Ada", "nickname": "A"}, headers=tenant.owner.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [{"field": "nickname", "message": "unknown field"}]


async def test_unknown_field_inside_a_phone_is_422_naming_its_path(
    client: httpx.AsyncClient, gb: Tenant
) -> None:
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "Ada", "phones": [{"number": "020 7946 0018", "kind": "work"}]},
        headers=gb.owner.headers,
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["phones[0].kind"]


async def test_unknown_field_in_a_patch_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(tenant.owner)
    response = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"nickname": "A"}, headers=tenant.owner.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["nickname"]


async def test_post_answers_201_with_a_location_and_the_version_as_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/v1/contacts", json={"first_name": "Ada"}, headers=tenant.owner.headers
    )
    assert response.status_code == 201
    contact = response.json()
    assert response.headers["location"] == f"/v1/contacts/{contact['id']}"
    assert response.headers["etag"] == '"1"'
    assert contact["version"] == 1
    fetched = await client.get(response.headers["location"], headers=tenant.owner.headers)
    assert fetched.json() == contact


async def test_get_and_patch_answer_the_version_as_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner)
    fetched = await client.get(f"/v1/contacts/{contact['id']}", headers=tenant.owner.headers)
    assert fetched.headers["etag"] == '"1"'
    patched = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"notes": "met"}, headers=tenant.owner.headers
    )
    assert patched.headers["etag"] == '"2"'
    assert patched.json()["version"] == 2


async def test_patch_with_the_current_if_match_applies(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner)
    response = await client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"notes": "met"},
        headers={**tenant.owner.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.json()["notes"] == "met"


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner, first_name="Ada")
    await client.patch(
        f"/v1/contacts/{contact['id']}", json={"notes": "v2"}, headers=tenant.owner.headers
    )

    response = await client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"first_name": "Grace"},
        headers={**tenant.owner.headers, "If-Match": '"1"'},
    )

    assert_problem(response, 412, "precondition_failed")
    after = await get_contact(client, tenant.owner, contact["id"])
    assert (after["first_name"], after["version"]) == ("Ada", 2)


async def test_version_grows_on_every_change(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await post_contact(client, tenant.owner, first_name="Ada")
    versions = [contact["version"]]
    for change in [{"last_name": "Lovelace"}, {"tags": ["vip"]}, {"email": "ada@example.org"}]:
        response = await client.patch(
            f"/v1/contacts/{contact['id']}", json=change, headers=tenant.owner.headers
        )
        versions.append(response.json()["version"])
    assert versions == [1, 2, 3, 4]


async def test_a_task_that_changes_the_next_due_date_grows_the_contacts_version(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner)
    await post_task(client, tenant.owner, contact_id=contact["id"], due_at="2031-02-01T09:00:00Z")
    after = await get_contact(client, tenant.owner, contact["id"])
    assert after["version"] > contact["version"]
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(
        contact["updated_at"]
    )


async def test_a_patch_with_one_invalid_phone_leaves_the_contact_unchanged(
    client: httpx.AsyncClient, gb: Tenant
) -> None:
    contact = await post_contact(
        client, gb.owner, first_name="Ada", phones=[{"number": "020 7946 0018"}]
    )

    response = await client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"first_name": "Grace", "phones": [{"number": "07700 900123"}, {"number": "12"}]},
        headers=gb.owner.headers,
    )

    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["phones[1].number"]
    assert await get_contact(client, gb.owner, contact["id"]) == contact


async def test_a_refused_post_creates_nothing(client: httpx.AsyncClient, gb: Tenant) -> None:
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "Ada", "phones": [{"number": "020 7946 0018"}, {"number": "12"}]},
        headers=gb.owner.headers,
    )
    assert_problem(response, 422, "validation_failed")
    assert await ids_of(client, gb.owner) == []


# Pagination (the same machinery serves every collection)


async def test_limit_defaults_to_50(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for _ in range(51):
        await make_contact(tenant.owner)
    page = await list_contacts(client, tenant.owner)
    assert len(page["data"]) == 50
    assert page["next_cursor"] is not None


@pytest.mark.parametrize("limit", [1, 200])
async def test_limit_accepts_1_to_200(
    client: httpx.AsyncClient, tenant: Tenant, limit: int
) -> None:
    await make_contact(tenant.owner)
    await make_contact(tenant.owner)
    page = await list_contacts(client, tenant.owner, limit=limit)
    assert len(page["data"]) == min(limit, 2)


@pytest.mark.parametrize("limit", [0, -1, 201, 1000])
async def test_limit_out_of_range_is_422_naming_limit(
    client: httpx.AsyncClient, tenant: Tenant, limit: int
) -> None:
    response = await client.get(
        "/v1/contacts", params={"limit": limit}, headers=tenant.owner.headers
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["limit"]


async def test_next_cursor_is_null_on_the_last_page(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(3):
        await make_contact(tenant.owner)
    first = await list_contacts(client, tenant.owner, limit=2)
    last = await list_contacts(client, tenant.owner, limit=2, cursor=first["next_cursor"])
    assert first["next_cursor"] is not None
    assert len(last["data"]) == 1
    assert last["next_cursor"] is None


async def test_a_page_that_ends_exactly_at_the_last_record_has_no_next_cursor(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(2):
        await make_contact(tenant.owner)
    page = await list_contacts(client, tenant.owner, limit=2)
    assert len(page["data"]) == 2
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    "sort", ["-created_at", "created_at", "-updated_at", "updated_at", "next_task_due_at"]
)
async def test_paging_yields_every_contact_exactly_once(
    client: httpx.AsyncClient, tenant: Tenant, sort: str
) -> None:
    made = [(await make_contact(tenant.owner))["id"] for _ in range(7)]
    # Some with a next task (two sharing one due date), the rest without.
    dues = ["2031-01-01T09:00:00Z", "2031-01-01T09:00:00Z", "2030-01-01T09:00:00Z"]
    for contact_id, due in zip(made[:3], dues, strict=True):
        await make_task(tenant.owner, contact_id=contact_id, due_at=due)

    seen = await all_pages(client, tenant.owner, sort=sort, limit=2)

    assert sorted(seen) == sorted(made)
    assert seen == await ids_of(client, tenant.owner, sort=sort, limit=200)


@pytest.mark.parametrize("sort", ["-created_at", "created_at"])
async def test_paging_is_stable_under_concurrent_inserts(
    client: httpx.AsyncClient, tenant: Tenant, sort: str
) -> None:
    original = [(await make_contact(tenant.owner))["id"] for _ in range(6)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await list_contacts(client, tenant.owner, **params)
        seen += [c["id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        await make_contact(tenant.owner, first_name="Inserted meanwhile")

    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in original] == (
        original[::-1] if sort == "-created_at" else original
    )


@pytest.mark.parametrize("cursor", ["garbage", "!!!", forged_cursor("-created_at")])
async def test_an_invalid_cursor_is_400(
    client: httpx.AsyncClient, tenant: Tenant, cursor: str
) -> None:
    response = await client.get(
        "/v1/contacts", params={"cursor": cursor}, headers=tenant.owner.headers
    )
    assert_problem(response, 400, "bad_request")


async def test_a_cursor_with_an_id_that_is_not_ours_is_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cursor = forged_cursor("-created_at", "2030-01-01T00:00:00+00:00", "not-an-id")
    response = await client.get(
        "/v1/contacts", params={"cursor": cursor}, headers=tenant.owner.headers
    )
    assert_problem(response, 400, "bad_request")


async def test_a_cursor_with_a_value_of_the_wrong_type_is_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(tenant.owner)
    cursor = forged_cursor("-created_at", 5, contact["id"])
    response = await client.get(
        "/v1/contacts", params={"cursor": cursor}, headers=tenant.owner.headers
    )
    assert_problem(response, 400, "bad_request")


async def test_a_cursor_used_with_another_sort_is_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(3):
        await make_contact(tenant.owner)
    page = await list_contacts(client, tenant.owner, sort="created_at", limit=1)
    response = await client.get(
        "/v1/contacts",
        params={"sort": "-updated_at", "cursor": page["next_cursor"]},
        headers=tenant.owner.headers,
    )
    assert_problem(response, 400, "bad_request")


async def test_a_list_cursor_used_for_a_search_is_400(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(3):
        await make_contact(tenant.owner, first_name="Ada")
    page = await list_contacts(client, tenant.owner, limit=1)
    response = await client.get(
        "/v1/contacts",
        params={"q": "ada", "cursor": page["next_cursor"]},
        headers=tenant.owner.headers,
    )
    assert_problem(response, 400, "bad_request")


async def test_lists_only_the_callers_company(client: httpx.AsyncClient, tenant: Tenant) -> None:
    other = await make_company(client, plan="enterprise")
    await make_contact(other.owner)
    mine = await make_contact(tenant.owner)
    assert await ids_of(client, tenant.owner) == [mine["id"]]
