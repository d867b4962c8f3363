"""Contact imports: the checks and normalisation of single creates, in a fixed number of queries."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from crm import db
from crm.contacts.schemas import ContactCreate
from crm.contacts.service import get_contact, import_contacts, list_contacts
from crm.errors import Forbidden, ValidationFailed
from tests.factories import make_agent, make_company


def contacts(*items: dict[str, Any]) -> list[ContactCreate]:
    return [msgspec.convert(item, ContactCreate) for item in items]


async def count(sql: str, *args: object) -> int:
    async with db.transaction() as tx:
        value = await tx.connection.fetchval(sql, *args)
    assert isinstance(value, int)
    return value


async def test_imported_contacts_are_normalised_like_created_ones(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client, default_region="GB")
    async with db.transaction():
        ids = await import_contacts(
            tenant.owner.actor,
            contacts(
                {
                    "first_name": " Zoë ",
                    "last_name": "Ångström",
                    "phones": [{"number": "020 7946 0958"}],
                },
                {"company_name": "Acme", "tags": ["vip", "vip", " "]},
            ),
        )
    async with db.transaction():
        first = await get_contact(tenant.owner.actor, ids[0])
        second = await get_contact(tenant.owner.actor, ids[1])
        found = await list_contacts(tenant.owner.actor, q="zoe angstrom")
    assert first.full_name == "Zoë Ångström"
    assert [p.number for p in first.phones] == ["+442079460958"]
    assert second.tags == ["vip"]
    assert [c.id for c in found.data] == [ids[0]]


async def test_an_import_with_one_bad_item_imports_nothing_and_names_it(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    items = contacts(
        {"first_name": "Ok", "phones": [{"number": "+15550102000"}]},
        {"first_name": "Bad", "phones": [{"number": "+15550102000"}, {"number": "12"}]},
        {"first_name": "", "last_name": ""},
    )
    with pytest.raises(ValidationFailed) as refused:
        async with db.transaction():
            await import_contacts(tenant.owner.actor, items)
    fields = [e.field for e in refused.value.errors]
    assert fields == ["items[1].phones[1].number", "items[2].first_name"]
    assert await count("SELECT count(*) FROM contacts WHERE company_id = $1", tenant.id) == 0


async def test_an_import_for_an_agent_outside_the_scope_is_refused(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    agent, other = await make_agent(tenant), await make_agent(tenant)
    with pytest.raises(Forbidden):
        async with db.transaction():
            await import_contacts(agent.actor, contacts({"first_name": "X", "owner_id": other.id}))


async def test_an_import_takes_the_same_few_queries_for_ten_or_a_thousand(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    statements: list[str] = []

    def log(record: asyncpg.connection.LoggedQuery) -> None:
        statements.append(record.query)

    async def queries_for(n: int) -> int:
        statements.clear()
        items = contacts(
            *({"first_name": f"P{i}", "phones": [{"number": "+15550102000"}]} for i in range(n))
        )
        async with db.transaction() as tx:
            tx.connection.add_query_logger(log)
            try:
                await import_contacts(tenant.owner.actor, items)
            finally:
                tx.connection.remove_query_logger(log)
        return len(statements)

    assert await queries_for(10) == await queries_for(1000)
