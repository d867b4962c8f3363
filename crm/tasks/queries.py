"""The tasks' queries: every statement that reads or writes `tasks`.

Each one is scoped to a company; those that start from the actor also apply
the policy (`TASKS`). The rules, and keeping contacts' `next_task_due_at`
exact, are in `crm.tasks.service`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from crm import db
from crm.pagination import Sort
from crm.policy import Actor, Permission
from crm.query import update_row
from crm.records import Locked, Owned, filter_id
from crm.sql import Columns
from crm.tasks.schemas import Task, TaskPage

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
COLUMNS = Columns(Task, "t")
SORTS = {
    "-created_at": Sort("-created_at", "t.created_at", datetime),
    "created_at": Sort("created_at", "t.created_at", datetime),
    "due_at": Sort("due_at", "t.due_at", datetime, nullable=True),
}


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task checked, ready to insert."""

    id: str
    assignee_id: str
    contact_id: str | None
    deal_id: str | None
    title: str
    due_at: datetime | None
    done: bool


async def list_page(
    actor: Actor,
    *,
    assignee_id: str | None,
    contact_id: str | None,
    deal_id: str | None,
    done: bool | None,
    due_before: datetime | None,
    sort: Sort,
    limit: int,
    cursor: str | None,
) -> TaskPage:
    """A page of the visible tasks matching every filter given."""
    query = TASKS.select(actor, COLUMNS.sql)
    filter_id(query, "t.assignee_id", assignee_id)
    filter_id(query, "t.contact_id", contact_id)
    filter_id(query, "t.deal_id", deal_id)
    if done is not None:
        query.filter(f"t.done = {query.placeholder(done)}")
    if due_before is not None:
        query.filter(f"t.due_at < {query.placeholder(due_before)}")
    return await query.page(
        sort=sort, limit=limit, cursor=cursor, build=COLUMNS.build, page=TaskPage
    )


async def get_visible(actor: Actor, task_id: str) -> Task:
    """The task if the actor may view it, else 404."""
    return await TASKS.fetch_visible(actor, task_id, COLUMNS)


async def lock_for_change(actor: Actor, task_id: str, action: Permission) -> Locked[Task]:
    """The task, locked, if the actor may view it (else 404) and do `action` (else 403)."""
    return await TASKS.fetch_for_change(actor, task_id, COLUMNS, action)


_INSERT_TASKS = f"""
    INSERT INTO tasks (id, company_id, assignee_id, contact_id, deal_id, title, due_at, done,
        completed_at, created_at, updated_at, version)
    SELECT t.id, $1, t.assignee_id, t.contact_id, t.deal_id, t.title, t.due_at, t.done,
        CASE WHEN t.done THEN now() END, now(), now(), 1
    FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[],
                $7::timestamptz[], $8::bool[])
        AS t(id, assignee_id, contact_id, deal_id, title, due_at, done)
    RETURNING {COLUMNS.returning}
"""


async def insert_many(company_id: str, tasks: Sequence[NewTask]) -> list[Task]:
    """Insert tasks, completed now if done: one statement."""
    rows = await db.connection().fetch(
        _INSERT_TASKS,
        company_id,
        [t.id for t in tasks],
        [t.assignee_id for t in tasks],
        [t.contact_id for t in tasks],
        [t.deal_id for t in tasks],
        [t.title for t in tasks],
        [t.due_at for t in tasks],
        [t.done for t in tasks],
    )
    return [COLUMNS.build(row) for row in rows]


async def update(company_id: str, task_id: str, changes: dict[str, object]) -> Task:
    """Write `changes` to a task, with a new version."""
    row = await update_row("tasks", company_id, task_id, changes, returning=COLUMNS.returning)
    return COLUMNS.build(row)


async def delete(company_id: str, task_id: str) -> None:
    await db.connection().execute(
        "DELETE FROM tasks WHERE company_id = $1 AND id = $2", company_id, task_id
    )


async def delete_for_contact(company_id: str, contact_id: str) -> None:
    await db.connection().execute(
        "DELETE FROM tasks WHERE company_id = $1 AND contact_id = $2", company_id, contact_id
    )


async def unlink_deal(company_id: str, deal_id: str) -> None:
    """The deal's tasks stay, without a deal (and with a new version)."""
    await db.connection().execute(
        """UPDATE tasks SET deal_id = NULL, version = version + 1, updated_at = now()
           WHERE company_id = $1 AND deal_id = $2""",
        company_id,
        deal_id,
    )
