"""`/v1/tasks`: things to do, by a due date."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from crm.tasks import service
from crm.tasks.schemas import Task, TaskCreate, TaskPage, TaskUpdate
from gateway.responses import (
    CREATE,
    DELETE,
    ETAG,
    LIST,
    LOCATION,
    READ_ONE,
    UPDATE,
    CurrentActor,
    Cursor,
    IfMatch,
    Limit,
    TimestampQuery,
    created,
    expected_version,
    sort_parameter,
    timestamp_query,
    with_etag,
)

Sort = Annotated[str | None, sort_parameter(list(service.SORTS), "-created_at")]


@get("/tasks", operation_id="listTasks", summary="List tasks", responses=LIST)
async def list_tasks(
    actor: CurrentActor,
    assignee_id: FromQuery[str | None] = None,
    contact_id: FromQuery[str | None] = None,
    deal_id: FromQuery[str | None] = None,
    done: FromQuery[bool | None] = None,
    due_before: TimestampQuery = None,
    sort: Sort = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TaskPage:
    """Lists the tasks the caller may see; `due_before` keeps those due before a time."""
    return await service.list_tasks(
        actor,
        assignee_id=assignee_id,
        contact_id=contact_id,
        deal_id=deal_id,
        done=done,
        due_before=timestamp_query("due_before", due_before),
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


@post(
    "/tasks",
    operation_id="createTask",
    summary="Create a task",
    responses=CREATE,
    response_headers=[LOCATION, ETAG],
)
async def create_task(actor: CurrentActor, data: JSONBody[TaskCreate]) -> Response[Task]:
    """Creates a task, assigned to the caller unless `assignee_id` names another agent."""
    task = await service.create_task(actor, data)
    return created(task, f"/v1/tasks/{task.id}")


@get(
    "/tasks/{task_id:str}",
    operation_id="getTask",
    summary="Get a task",
    responses=READ_ONE,
    response_headers=[ETAG],
)
async def get_task(actor: CurrentActor, task_id: FromPath[str]) -> Response[Task]:
    """Returns one task the caller may see."""
    return with_etag(await service.get_task(actor, task_id))


@patch(
    "/tasks/{task_id:str}",
    operation_id="updateTask",
    summary="Update a task",
    responses=UPDATE,
    response_headers=[ETAG],
)
async def update_task(
    actor: CurrentActor,
    task_id: FromPath[str],
    data: JSONBody[TaskUpdate],
    if_match: IfMatch = None,
) -> Response[Task]:
    """Changes a task; setting `done` sets or clears `completed_at`."""
    task = await service.update_task(
        actor, task_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(task)


@delete(
    "/tasks/{task_id:str}",
    operation_id="deleteTask",
    summary="Delete a task",
    responses=DELETE,
)
async def delete_task(actor: CurrentActor, task_id: FromPath[str]) -> None:
    """Deletes a task."""
    await service.delete_task(actor, task_id)


ROUTES = [list_tasks, create_task, get_task, update_task, delete_task]
