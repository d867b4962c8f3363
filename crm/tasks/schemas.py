from __future__ import annotations

from datetime import datetime

import msgspec

from crm.schemas import Id, Input, Name, Timestamp


class Task(msgspec.Struct):
    id: str
    title: str
    contact_id: str | None
    deal_id: str | None
    assignee_id: str
    due_at: datetime | None
    done: bool
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class TaskCreate(Input):
    title: Name
    contact_id: Id | None = None
    deal_id: Id | None = None
    assignee_id: Id | None = None
    due_at: Timestamp | None = None
    done: bool = False


class TaskUpdate(Input):
    """Changes to a task. Setting `done` sets or clears `completed_at`."""

    title: Name | msgspec.UnsetType = msgspec.UNSET
    contact_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    deal_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    assignee_id: Id | msgspec.UnsetType = msgspec.UNSET
    due_at: Timestamp | msgspec.UnsetType | None = msgspec.UNSET
    done: bool | msgspec.UnsetType = msgspec.UNSET


class TaskPage(msgspec.Struct, kw_only=True):
    """One page of tasks; `next_cursor` is null on the last page."""

    data: list[Task]
    next_cursor: str | None
