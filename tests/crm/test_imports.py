"""Bulk imports: the checks and normalisation of single creates, in a fixed number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from crm import db
from crm.contacts.schemas import ContactCreate
from crm.contacts.service import get_contact, import_contacts, list_contacts
from crm.deals.schemas import DealCreate
from crm.deals.service import import_deals
from crm.errors import ValidationFailed
from crm.tasks.schemas import TaskCreate
from crm.tasks.service import import_tasks
from tests.factories import make_agent, make_company, make_contact


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
    from crm.errors import Forbidden

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


async def test_imported_tasks_keep_next_task_due_at_exact(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    first = await make_contact(tenant.owner)
    second = await make_contact(tenant.owner)
    soon = datetime(2030, 1, 1, tzinfo=UTC)
    items = [
        TaskCreate(title="a", contact_id=first["id"], due_at=soon + timedelta(days=3)),
        TaskCreate(title="b", contact_id=first["id"], due_at=soon),
        TaskCreate(title="c", contact_id=first["id"], due_at=soon - timedelta(days=1), done=True),
        TaskCreate(title="d", contact_id=second["id"], due_at=soon + timedelta(days=9)),
        TaskCreate(title="e"),
    ]
    async with db.transaction():
        ids = await import_tasks(tenant.owner.actor, items)
        one = await get_contact(tenant.owner.actor, first["id"])
        two = await get_contact(tenant.owner.actor, second["id"])
    assert len(ids) == 5
    assert one.next_task_due_at == soon
    assert two.next_task_due_at == soon + timedelta(days=9)


async def test_an_import_of_tasks_naming_a_hidden_contact_names_the_item(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_company(client)
    agent, other = await make_agent(tenant), await make_agent(tenant)
    hidden = await make_contact(other)
    with pytest.raises(ValidationFailed) as refused:
        async with db.transaction():
            await import_tasks(
                agent.actor,
                [TaskCreate(title="ok"), TaskCreate(title="x", contact_id=hidden["id"])],
            )
    assert [e.field for e in refused.value.errors] == ["items[1].contact_id"]


async def test_imported_deals_are_checked_like_created_ones(client: httpx.AsyncClient) -> None:
    tenant = await make_company(client)
    contact = await make_contact(tenant.owner)
    async with db.transaction():
        ids = await import_deals(
            tenant.owner.actor,
            [
                DealCreate(title="a", contact_id=contact["id"], amount="10", currency="EUR"),
                DealCreate(title="b", stage="won"),
            ],
        )
    assert len(ids) == 2
    assert (
        await count(
            "SELECT count(*) FROM deals WHERE company_id = $1 AND closed_at IS NOT NULL", tenant.id
        )
        == 1
    )
    with pytest.raises(ValidationFailed) as refused:
        async with db.transaction():
            await import_deals(
                tenant.owner.actor, [DealCreate(title="c", amount="1.234", currency="USD")]
            )
    assert [e.field for e in refused.value.errors] == ["items[0].amount"]
