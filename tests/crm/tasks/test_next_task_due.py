"""A contact's `next_task_due_at`, kept exact by every task change.

It is the earliest due date of the contact's open tasks, null when there is
none; the task service recomputes it in the transaction of each change.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from crm import db
from crm.contacts.service import get_contact
from crm.tasks.schemas import TaskUpdate
from crm.tasks.service import delete_task, update_task
from tests.factories import Member, Tenant, make_company, make_contact, make_task

FEB = datetime(2031, 2, 1, 9, tzinfo=UTC)
MAY = datetime(2031, 5, 1, 9, tzinfo=UTC)


@pytest.fixture
async def tenant(client: httpx.AsyncClient) -> Tenant:
    return await make_company(client)


async def add_task(member: Member, contact_id: str, **fields: object) -> str:
    return str((await make_task(member, contact_id=contact_id, **fields))["id"])


async def change(member: Member, task_id: str, **changes: object) -> None:
    async with db.transaction():
        await update_task(member.actor, task_id, TaskUpdate(**changes))  # type: ignore[arg-type]


async def next_due(member: Member, contact_id: str) -> datetime | None:
    async with db.transaction():
        return (await get_contact(member.actor, contact_id)).next_task_due_at


async def test_next_task_due_at_is_null_without_tasks(tenant: Tenant) -> None:
    contact = await make_contact(tenant.owner)
    assert contact["next_task_due_at"] is None
    assert await next_due(tenant.owner, contact["id"]) is None


async def test_next_task_due_at_is_the_earliest_due_date_of_the_open_tasks(
    tenant: Tenant,
) -> None:
    contact = (await make_contact(tenant.owner))["id"]
    await add_task(tenant.owner, contact, due_at=MAY)
    await add_task(tenant.owner, contact, due_at=FEB)
    await add_task(tenant.owner, contact)
    await add_task(tenant.owner, contact, due_at=FEB - timedelta(days=31), done=True)
    assert await next_due(tenant.owner, contact) == FEB


async def test_next_task_due_at_follows_a_changed_due_date(tenant: Tenant) -> None:
    contact = (await make_contact(tenant.owner))["id"]
    soon = await add_task(tenant.owner, contact, due_at=FEB)
    await add_task(tenant.owner, contact, due_at=MAY)

    await change(tenant.owner, soon, due_at=datetime(2031, 9, 1, 9, tzinfo=UTC))
    assert await next_due(tenant.owner, contact) == MAY

    plus_two = timezone(timedelta(hours=2))
    await change(tenant.owner, soon, due_at=datetime(2030, 12, 24, 18, 30, tzinfo=plus_two))
    assert await next_due(tenant.owner, contact) == datetime(2030, 12, 24, 16, 30, tzinfo=UTC)


async def test_next_task_due_at_skips_a_task_marked_done_and_returns_when_it_reopens(
    tenant: Tenant,
) -> None:
    contact = (await make_contact(tenant.owner))["id"]
    task = await add_task(tenant.owner, contact, due_at=FEB)

    await change(tenant.owner, task, done=True)
    assert await next_due(tenant.owner, contact) is None

    await change(tenant.owner, task, done=False)
    assert await next_due(tenant.owner, contact) == FEB


async def test_next_task_due_at_moves_with_a_task_given_to_another_contact(
    tenant: Tenant,
) -> None:
    old = (await make_contact(tenant.owner))["id"]
    new = (await make_contact(tenant.owner))["id"]
    task = await add_task(tenant.owner, old, due_at=FEB)

    await change(tenant.owner, task, contact_id=new)

    assert await next_due(tenant.owner, old) is None
    assert await next_due(tenant.owner, new) == FEB


async def test_next_task_due_at_clears_when_a_task_leaves_its_contact(tenant: Tenant) -> None:
    contact = (await make_contact(tenant.owner))["id"]
    task = await add_task(tenant.owner, contact, due_at=FEB)
    await change(tenant.owner, task, contact_id=None)
    assert await next_due(tenant.owner, contact) is None


async def test_next_task_due_at_is_exact_after_concurrent_task_changes(tenant: Tenant) -> None:
    """Five creations, each in its own transaction at once: none overwrites another's minimum."""
    contact = (await make_contact(tenant.owner))["id"]
    dues = [datetime(2031, month, 1, 9, tzinfo=UTC) for month in (5, 3, 9, 4, 6)]
    await asyncio.gather(*(add_task(tenant.owner, contact, due_at=due) for due in dues))
    assert await next_due(tenant.owner, contact) == datetime(2031, 3, 1, 9, tzinfo=UTC)


async def lock_waiters() -> int:
    """How many sessions of the test database wait on a lock."""
    async with db.acquired() as conn:
        value = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    assert isinstance(value, int)
    return value


async def test_a_task_change_waits_for_one_in_flight_on_the_same_contact(tenant: Tenant) -> None:
    """The second waits on the contact until the first commits, then computes its
    minimum over what the first committed (no lost update of the earlier date)."""
    contact = (await make_contact(tenant.owner))["id"]
    written, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with db.transaction():
            await add_task(tenant.owner, contact, due_at=FEB)
            written.set()
            await release.wait()

    async def second() -> None:
        await written.wait()
        await add_task(tenant.owner, contact, due_at=MAY)

    both = asyncio.gather(first(), second())
    try:
        await written.wait()
        for _ in range(500):
            if await lock_waiters() == 1:
                break
            await asyncio.sleep(0.01)
        assert await lock_waiters() == 1
    finally:
        release.set()
        await both
    assert await next_due(tenant.owner, contact) == FEB


async def test_next_task_due_at_follows_a_deleted_task(tenant: Tenant) -> None:
    contact = (await make_contact(tenant.owner))["id"]
    soon = await add_task(tenant.owner, contact, due_at=FEB)
    await add_task(tenant.owner, contact, due_at=MAY)

    async with db.transaction():
        await delete_task(tenant.owner.actor, soon)

    assert await next_due(tenant.owner, contact) == MAY
