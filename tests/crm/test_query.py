"""The scoped page query: one statement per page whatever its length (no N+1), in every domain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from crm import db
from crm.contacts.schemas import ContactCreate, PhoneInput
from crm.contacts.service import import_contacts, list_contacts
from crm.deals.schemas import DealCreate
from crm.deals.service import import_deals, list_deals
from crm.tasks.schemas import TaskCreate
from crm.tasks.service import import_tasks, list_tasks
from tests.factories import make_company


async def queries(call: Callable[[], Awaitable[Any]]) -> int:
    """How many statements `call` sends (transaction control aside)."""
    statements: list[str] = []
    async with db.transaction() as tx:
        tx.connection.add_query_logger(lambda record: statements.append(record.query))
        await call()
    return len(
        [s for s in statements if s.split()[0].strip(";").upper() not in ("BEGIN", "COMMIT")]
    )


@pytest.mark.parametrize("lister", [list_contacts, list_deals, list_tasks])
async def test_a_page_of_fifty_costs_what_a_page_of_two_does(
    client: httpx.AsyncClient, lister: Callable[..., Awaitable[Any]]
) -> None:
    tenant = await make_company(client)
    owner = tenant.owner.actor
    async with db.transaction():
        ids = await import_contacts(
            owner,
            [
                ContactCreate(first_name=f"C{i}", phones=[PhoneInput(number="+15550102000")] * 3)
                for i in range(60)
            ],
        )
        await import_deals(owner, [DealCreate(title=f"D{i}", contact_id=ids[i]) for i in range(60)])
        await import_tasks(owner, [TaskCreate(title=f"T{i}", contact_id=ids[i]) for i in range(60)])
    small = await queries(lambda: lister(owner, limit=2))
    large = await queries(lambda: lister(owner, limit=50))
    assert small == large == 1
