"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from crm.migrations import pending_ids

# A readiness probe gets its answer within a second, whatever the database does.
READY_SECONDS = 0.8


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
    try:
        async with asyncio.timeout(READY_SECONDS), state.pool.acquire() as conn:
            pending = await pending_ids(conn)
    except Exception:  # any failure to reach the database in time means "not ready"
        return Response(
            Health(status="unavailable", detail="database unreachable"), status_code=503
        )
    if pending:
        return Response(
            Health(status="unavailable", detail=f"{len(pending)} migration(s) pending"),
            status_code=503,
        )
    if not await state.gateway.limiter.probe():
        return Response(
            Health(
                status="degraded",
                detail="rate-limit storage unreachable: limits are counted per process",
            ),
            status_code=200,
        )
    return Response(Health(status="ok"), status_code=200)


ROUTES = [live, ready]
