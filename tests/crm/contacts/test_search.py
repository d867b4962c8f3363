"""Search quality: prefixes, folding, fields, ranking, scope."""

from __future__ import annotations

import httpx

from crm import db
from crm.contacts.service import list_contacts
from tests.factories import Member, make_agent, make_company, make_contact


async def search(member: Member, q: str) -> list[str]:
    async with db.transaction():
        page = await list_contacts(member.actor, q=q, limit=200)
    return [c.full_name or c.email or c.company_name or "" for c in page.data]


async def test_an_exact_full_name_match_ranks_first(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    # This one mentions the words more often, so its text rank is higher...
    await make_contact(
        tenant.owner,
        first_name="Maria Garcia",
        last_name="Garcia Maria",
        email="maria.garcia@garcia-maria.example",
        company_name="Garcia Maria Ltd",
    )
    # ...but this one is exactly the name searched for.
    await make_contact(tenant.owner, first_name="María", last_name="García")
    assert (await search(tenant.owner, "maria garcia"))[0] == "María García"
    assert (await search(tenant.owner, "MARIA GARCÍA"))[0] == "María García"


async def test_every_word_matches_as_a_prefix(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    await make_contact(tenant.owner, first_name="Jonathan", last_name="Smithers")
    await make_contact(tenant.owner, first_name="Joanna", last_name="Smith")
    assert sorted(await search(tenant.owner, "jo smith")) == ["Joanna Smith", "Jonathan Smithers"]
    assert await search(tenant.owner, "jon smi") == ["Jonathan Smithers"]


async def test_email_and_company_name_are_searchable(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    await make_contact(tenant.owner, first_name="Ann", email="ann.lee@northwind.example")
    await make_contact(tenant.owner, first_name="Bo", company_name="Northwind Traders")
    assert sorted(await search(tenant.owner, "northwind")) == ["Ann", "Bo"]
    assert await search(tenant.owner, "ann.lee") == ["Ann"]
    assert await search(tenant.owner, "trader") == ["Bo"]


async def test_names_rank_above_emails_above_company_names(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    await make_contact(tenant.owner, first_name="Ccc", company_name="Quartz Ltd")
    await make_contact(tenant.owner, first_name="Bbb", email="quartz@example.com")
    await make_contact(tenant.owner, first_name="Quartz")
    assert await search(tenant.owner, "quartz") == ["Quartz", "Bbb", "Ccc"]


async def test_search_stays_inside_the_callers_scope(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    agent, other = await make_agent(tenant), await make_agent(tenant)
    await make_contact(agent, first_name="Xavier", last_name="Mine")
    await make_contact(other, first_name="Xavier", last_name="Theirs")
    stranger = await make_company(client)
    await make_contact(stranger.owner, first_name="Xavier", last_name="Foreign")
    assert await search(agent, "xavier") == ["Xavier Mine"]
    assert sorted(await search(tenant.owner, "xavier")) == ["Xavier Mine", "Xavier Theirs"]
