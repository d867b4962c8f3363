"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TypeVar

import asyncpg
import msgspec
from litestar import get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from crm import db
from crm.migrations import pending_ids

# A readiness probe gets its answer within a second, whatever the database does.
READY_SECONDS = 0.8
T = TypeVar("T")
# Checks still running when their probe has answered: they finish (bounded by the
# pool's own timeouts) so a slow first connection still warms the pool.
_running: set[asyncio.Task[object]] = set()


def _in_background(coroutine: Coroutine[object, object, T]) -> asyncio.Task[T]:
    task = asyncio.ensure_future(coroutine)
    _running.add(task)
    task.add_done_callback(_running.discard)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def _pending_migrations(pool: asyncpg.Pool) -> list[str]:
    async with db.acquired(pool) as conn:
        return await pending_ids(conn)


class Health(msgspec.Struct):
    status: str
    detail: str | None = None


@get("/health/live", tags=["health"], operation_id="getLiveness", summary="Liveness")
async def live() -> Health:
    """Answers 200 while the process runs."""
    return Health(status="ok")


@get(
    "/health/ready",
    tags=["health"],
    operation_id="getReadiness",
    summary="Readiness",
    responses={503: ResponseSpec(data_container=Health, description="Not ready")},
)
async def ready(state: State) -> Response[Health]:
    """Answers 200 when the database answers and every migration is applied, else 503,
    within a second. A rate-limit store (Redis) that is away does not make the server
    unready (limits are then counted per process): the answer is 200 with
    `"status": "degraded"` and a `detail` saying so."""
    database = _in_background(_pending_migrations(state.pool))
    storage = _in_background(state.gateway.limiter.probe())
    await asyncio.wait({database, storage}, timeout=READY_SECONDS)
    if not database.done() or database.cancelled() or database.exception() is not None:
        # Unreachable, or no answer in time: "not ready".
        return Response(
            Health(status="unavailable", detail="database unreachable"), status_code=503
        )
    pending = database.result()
    if pending:
        return Response(
            Health(status="unavailable", detail=f"{len(pending)} migration(s) pending"),
            status_code=503,
        )
    if not storage.done() or not storage.result():
        return Response(
            Health(
                status="degraded",
                detail="rate-limit storage unreachable: limits are counted per process",
            ),
            status_code=200,
        )
    return Response(Health(status="ok"), status_code=200)


ROUTES = [live, ready]
