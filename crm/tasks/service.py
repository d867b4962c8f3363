"""Tasks: things to do by a due date, assigned to an agent, under the owned-record policy.

Every task change keeps its contacts' `next_task_due_at` exact in the same
transaction: the contacts are locked first, so two concurrent task changes on
one contact are applied one after the other and the second computes its
minimum over what the first committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crm.contacts import service as contacts
from crm.deals import service as deals
from crm.errors import FieldError, ValidationFailed
from crm.ids import new_id, parse_id
from crm.pagination import check_limit, pick_sort
from crm.policy import Actor
from crm.query import check_version, transaction_time
from crm.tasks import queries
from crm.tasks.queries import SORTS, TASKS, NewTask
from crm.tasks.schemas import Task, TaskCreate, TaskPage, TaskUpdate


async def list_tasks(
    actor: Actor,
    *,
    assignee_id: str | None = None,
    contact_id: str | None = None,
    deal_id: str | None = None,
    done: bool | None = None,
    due_before: datetime | None = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> TaskPage:
    order = pick_sort(SORTS, sort, "-created_at")
    if due_before is not None and due_before.tzinfo is None:
        raise ValidationFailed.one("due_before", "must carry a time zone, e.g. Z")
    return await queries.list_page(
        actor,
        assignee_id=assignee_id,
        contact_id=contact_id,
        deal_id=deal_id,
        done=done,
        due_before=due_before,
        sort=order,
        limit=check_limit(limit),
        cursor=cursor,
    )


async def get_task(actor: Actor, task_id: str) -> Task:
    return await queries.get_visible(actor, task_id)


async def _create(actor: Actor, items: Sequence[TaskCreate], prefix: str) -> list[Task]:
    """Check and insert tasks; keeps their contacts' next_task_due_at exact.

    A fixed number of queries per distinct assignee, whatever the number of tasks.
    """
    actor.require_key_scope(TASKS.create)
    assignees: dict[str, str] = {}
    for index, item in enumerate(items):
        wanted = item.assignee_id or actor.agent_id
        if wanted not in assignees:
            field = f"{prefix.format(index=index)}assignee_id"
            assignees[wanted] = await TASKS.require_owner(actor, wanted, field, TASKS.create)
    visible_contacts = await contacts.visible_contact_ids(
        actor, {i.contact_id for i in items if i.contact_id}
    )
    visible_deals = await deals.visible_deal_ids(actor, {i.deal_id for i in items if i.deal_id})
    errors = [
        FieldError(f"{prefix.format(index=index)}{field}", f"No such {noun}.")
        for index, item in enumerate(items)
        for field, noun, value, visible in (
            ("contact_id", "contact", item.contact_id, visible_contacts),
            ("deal_id", "deal", item.deal_id, visible_deals),
        )
        if value is not None and parse_id(value) not in visible
    ]
    if errors:
        raise ValidationFailed(errors)
    contact_ids = [parse_id(i.contact_id) if i.contact_id else None for i in items]
    locked = await contacts.lock_for_next_task_due(actor, set(contact_ids))
    created = await queries.insert_many(
        actor.company_id,
        [
            NewTask(
                id=new_id(),
                assignee_id=assignees[item.assignee_id or actor.agent_id],
                contact_id=contact_id,
                deal_id=parse_id(item.deal_id) if item.deal_id else None,
                title=item.title,
                due_at=item.due_at,
                done=item.done,
            )
            for item, contact_id in zip(items, contact_ids, strict=True)
        ],
    )
    await contacts.refresh_next_task_due(actor, locked)
    return created


async def create_task(actor: Actor, data: TaskCreate) -> Task:
    [task] = await _create(actor, [data], prefix="")
    return task


async def import_tasks(actor: Actor, items: Sequence[TaskCreate]) -> list[str]:
    """Create many tasks at once, with the checks of `create_task`; all or nothing."""
    return [task.id for task in await _create(actor, items, prefix="items[{index}].")]


async def update_task(
    actor: Actor, task_id: str, changes: TaskUpdate, *, expected_version: int | None = None
) -> Task:
    locked = await queries.lock_for_change(actor, task_id, TASKS.update)
    current = locked.record
    check_version(current.version, expected_version)
    values = changes.given()
    await TASKS.check_reassignment(actor, locked, values)
    if values.get("contact_id") is not None and values["contact_id"] != current.contact_id:
        values["contact_id"] = await contacts.require_visible_contact(
            actor, values["contact_id"], "contact_id"
        )
    if values.get("deal_id") is not None and values["deal_id"] != current.deal_id:
        values["deal_id"] = await deals.require_visible_deal(actor, values["deal_id"], "deal_id")
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    if "done" in changed:
        changed["completed_at"] = await transaction_time() if changed["done"] else None
    if not changed:
        return current
    affects_contacts = {"contact_id", "due_at", "done"} & set(changed)
    contact_ids = {current.contact_id, changed.get("contact_id")} if affects_contacts else set()
    locked_contacts = await contacts.lock_for_next_task_due(actor, contact_ids)
    updated = await queries.update(actor.company_id, current.id, changed)
    await contacts.refresh_next_task_due(actor, locked_contacts)
    return updated


async def delete_task(actor: Actor, task_id: str) -> None:
    locked = await queries.lock_for_change(actor, task_id, TASKS.delete)
    task = locked.record
    locked_contacts = await contacts.lock_for_next_task_due(actor, {task.contact_id})
    await queries.delete(actor.company_id, task.id)
    await contacts.refresh_next_task_due(actor, locked_contacts)


async def delete_for_contact(actor: Actor, contact_id: str) -> None:
    """A contact is being deleted: its tasks go with it."""
    await queries.delete_for_contact(actor.company_id, contact_id)


async def unlink_deal(actor: Actor, deal_id: str) -> None:
    """A deal is being deleted: its tasks stay, without a deal."""
    await queries.unlink_deal(actor.company_id, deal_id)
