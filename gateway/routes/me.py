"""`/v1/me`: who the caller is."""

from __future__ import annotations

from litestar import get

from crm.agents import service
from crm.agents.schemas import Me
from gateway.responses import CurrentActor, problems


@get("/me", operation_id="getMe", summary="Who am I", responses=problems(401, 429))
async def get_me(actor: CurrentActor) -> Me:
    """Returns the caller's agent, its company and the API key it used. Any credential may
    read who it is; `company` is null for a key without `company:read`."""
    return await service.get_me(actor)


ROUTES = [get_me]
