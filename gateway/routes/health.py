"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from crm.migrations import pending_ids


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
    """Answers 200 when the database answers and every migration is applied, else 503."""
    try:
        async with state.pool.acquire(timeout=2) as conn:
            pending = await pending_ids(conn)
    except Exception:  # any failure to reach the database means "not ready"
        return Response(
            Health(status="unavailable", detail="database unreachable"), status_code=503
        )
    if pending:
        return Response(
            Health(status="unavailable", detail=f"{len(pending)} migration(s) pending"),
            status_code=503,
        )
    return Response(Health(status="ok"), status_code=200)


ROUTES = [live, ready]
