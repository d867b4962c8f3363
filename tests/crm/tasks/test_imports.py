"""Task imports: the checks of single creates, and next_task_due_at kept exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from crm import db
from crm.contacts.service import get_contact
from crm.errors import ValidationFailed
from crm.tasks.schemas import TaskCreate
from crm.tasks.service import import_tasks
from tests.factories import make_agent, make_company, make_contact


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
