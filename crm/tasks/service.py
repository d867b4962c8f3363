"""Tasks: things to do by a due date, assigned to an agent, under the owned-record policy.

Every task change keeps its contacts' `next_task_due_at` exact in the same
transaction: the contacts are locked first, so two concurrent task changes on
one contact are applied one after the other and the second computes its
minimum over what the first committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crm import db
from crm.contacts.service import CONTACTS
from crm.deals.service import DEALS
from crm.errors import FieldError, ValidationFailed
from crm.ids import new_id, parse_id
from crm.pagination import Sort, check_limit, pick_sort
from crm.policy import Actor, Permission
from crm.query import check_version, update_row
from crm.records import Owned, filter_id, require_visible
from crm.tasks.schemas import Task, TaskCreate, TaskPage, TaskUpdate

TASKS = Owned(
    table="tasks",
    alias="t",
    owner_column="assignee_id",
    noun="task",
    view=Permission.TASKS_VIEW,
    create=Permission.TASKS_CREATE,
    update=Permission.TASKS_UPDATE,
    delete=Permission.TASKS_DELETE,
    reassign=Permission.TASKS_REASSIGN,
)
FIELDS = (
    "id, title, contact_id, deal_id, assignee_id, due_at, done, completed_at, created_at, "
    "updated_at, version"
)
COLUMNS = ", ".join(f"t.{name.strip()}" for name in FIELDS.split(","))
SORTS = {
    "-created_at": Sort("-created_at", "t.created_at", datetime),
    "created_at": Sort("created_at", "t.created_at", datetime),
    "due_at": Sort("due_at", "t.due_at", datetime, nullable=True),
}


def _task(row: Any) -> Task:
    # By position: FIELDS lists the struct's fields in its own order.
    return Task(*row[:11])


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
    query = TASKS.select(actor, COLUMNS)
    filter_id(query, "t.assignee_id", assignee_id)
    filter_id(query, "t.contact_id", contact_id)
    filter_id(query, "t.deal_id", deal_id)
    if done is not None:
        query.filter(f"t.done = {query.placeholder(done)}")
    if due_before is not None:
        if due_before.tzinfo is None:
            raise ValidationFailed.one("due_before", "must carry a time zone, e.g. Z")
        query.filter(f"t.due_at < {query.placeholder(due_before)}")
    return await query.page(
        sort=order, limit=check_limit(limit), cursor=cursor, build=_task, page=TaskPage
    )


async def get_task(actor: Actor, task_id: str) -> Task:
    return _task(await TASKS.fetch_visible(actor, task_id, COLUMNS))


async def _lock_contacts(company_id: str, contact_ids: set[str | None]) -> list[str]:
    """Lock the contacts whose next task may change, in id order (no deadlocks between us)."""
    ids = sorted(i for i in contact_ids if i is not None)
    if ids:
        await db.connection().execute(
            "SELECT id FROM contacts WHERE company_id = $1 AND id = ANY($2::uuid[]) "
            "ORDER BY id FOR UPDATE",
            company_id,
            ids,
        )
    return ids


async def _refresh_next_task(company_id: str, contact_ids: list[str]) -> None:
    """Set each contact's `next_task_due_at` to the earliest due date of its open tasks.

    One statement for any number of contacts; only contacts whose value changes
    are written (and get a new version).
    """
    if not contact_ids:
        return
    await db.connection().execute(
        """UPDATE contacts c
           SET next_task_due_at = s.due, version = c.version + 1, updated_at = now()
           FROM (SELECT ids.id,
                        (SELECT min(t.due_at) FROM tasks t
                         WHERE t.company_id = $1 AND t.contact_id = ids.id AND NOT t.done) AS due
                 FROM unnest($2::uuid[]) AS ids(id)) s
           WHERE c.company_id = $1 AND c.id = s.id
             AND c.next_task_due_at IS DISTINCT FROM s.due""",
        company_id,
        contact_ids,
    )


_INSERT_TASKS = f"""
    INSERT INTO tasks (id, company_id, assignee_id, contact_id, deal_id, title, due_at, done,
        completed_at, created_at, updated_at, version)
    SELECT t.id, $1, t.assignee_id, t.contact_id, t.deal_id, t.title, t.due_at, t.done,
        CASE WHEN t.done THEN now() END, now(), now(), 1
    FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[],
                $7::timestamptz[], $8::bool[])
        AS t(id, assignee_id, contact_id, deal_id, title, due_at, done)
    RETURNING {FIELDS}
"""


async def _create(actor: Actor, items: Sequence[TaskCreate], prefix: str) -> list[Any]:
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
    contacts = await CONTACTS.visible_ids(actor, {i.contact_id for i in items if i.contact_id})
    deals = await DEALS.visible_ids(actor, {i.deal_id for i in items if i.deal_id})
    errors = [
        FieldError(f"{prefix.format(index=index)}{field}", f"No such {noun}.")
        for index, item in enumerate(items)
        for field, noun, value, visible in (
            ("contact_id", "contact", item.contact_id, contacts),
            ("deal_id", "deal", item.deal_id, deals),
        )
        if value is not None and parse_id(value) not in visible
    ]
    if errors:
        raise ValidationFailed(errors)
    contact_ids = [parse_id(i.contact_id) if i.contact_id else None for i in items]
    locked = await _lock_contacts(actor.company_id, set(contact_ids))
    rows = await db.connection().fetch(
        _INSERT_TASKS,
        actor.company_id,
        [new_id() for _ in items],
        [assignees[i.assignee_id or actor.agent_id] for i in items],
        contact_ids,
        [parse_id(i.deal_id) if i.deal_id else None for i in items],
        [i.title for i in items],
        [i.due_at for i in items],
        [i.done for i in items],
    )
    await _refresh_next_task(actor.company_id, locked)
    return list(rows)


async def create_task(actor: Actor, data: TaskCreate) -> Task:
    [row] = await _create(actor, [data], prefix="")
    return _task(row)


async def import_tasks(actor: Actor, items: Sequence[TaskCreate]) -> list[str]:
    """Create many tasks at once, with the checks of `create_task`; all or nothing."""
    return [row["id"] for row in await _create(actor, items, prefix="items[{index}].")]


async def update_task(
    actor: Actor, task_id: str, changes: TaskUpdate, *, expected_version: int | None = None
) -> Task:
    row = await TASKS.fetch_for_change(actor, task_id, COLUMNS, TASKS.update)
    check_version(row["version"], expected_version)
    values = changes.given()
    await TASKS.check_reassignment(actor, row, values)
    if values.get("contact_id") is not None and values["contact_id"] != row["contact_id"]:
        values["contact_id"] = await require_visible(
            actor, CONTACTS, values["contact_id"], "contact_id"
        )
    if values.get("deal_id") is not None and values["deal_id"] != row["deal_id"]:
        values["deal_id"] = await require_visible(actor, DEALS, values["deal_id"], "deal_id")
    changed = {k: v for k, v in values.items() if row[k] != v}
    if "done" in changed:
        changed["completed_at"] = (
            await db.connection().fetchval("SELECT now()") if changed["done"] else None
        )
    if not changed:
        return _task(row)
    affects_contacts = {"contact_id", "due_at", "done"} & set(changed)
    locked = await _lock_contacts(
        actor.company_id,
        {row["contact_id"], changed.get("contact_id")} if affects_contacts else set(),
    )
    updated = await update_row("tasks", actor.company_id, row["id"], changed, returning=FIELDS)
    await _refresh_next_task(actor.company_id, locked)
    return _task(updated)


async def delete_task(actor: Actor, task_id: str) -> None:
    row = await TASKS.fetch_for_change(actor, task_id, COLUMNS, TASKS.delete)
    locked = await _lock_contacts(actor.company_id, {row["contact_id"]})
    await db.connection().execute(
        "DELETE FROM tasks WHERE company_id = $1 AND id = $2", actor.company_id, row["id"]
    )
    await _refresh_next_task(actor.company_id, locked)
