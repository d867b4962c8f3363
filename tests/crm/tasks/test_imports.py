"""Task imports: the checks of single creates, one error per bad item."""

from __future__ import annotations

import httpx
import pytest

from crm import db
from crm.errors import ValidationFailed
from crm.tasks.schemas import TaskCreate
from crm.tasks.service import import_tasks
from tests.factories import make_agent, make_company, make_contact


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
