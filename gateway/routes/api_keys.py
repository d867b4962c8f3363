"""`/v1/api-keys`: the company's API keys. The full key is shown once, at creation."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from crm.api_keys import service
from crm.api_keys.schemas import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPage
from gateway.idempotency import secret_fields
from gateway.responses import (
    CREATE,
    DELETE,
    LIST,
    LOCATION,
    READ_ONE,
    CurrentActor,
    Cursor,
    Limit,
    created,
    sort_parameter,
)

Sort = Annotated[str | None, sort_parameter(list(service.SORTS), "-created_at")]


@get("/api-keys", operation_id="listApiKeys", summary="List API keys", responses=LIST)
async def list_api_keys(
    actor: CurrentActor,
    agent_id: FromQuery[str | None] = None,
    sort: Sort = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ApiKeyPage:
    """Lists API keys: every key of the company for an owner, one's own keys otherwise."""
    return await service.list_api_keys(
        actor, agent_id=agent_id, sort=sort, limit=limit, cursor=cursor
    )


@post(
    "/api-keys",
    operation_id="createApiKey",
    summary="Create an API key",
    responses=CREATE,
    response_headers=[LOCATION],
    opt=secret_fields("key"),
)
async def create_api_key(
    actor: CurrentActor, data: JSONBody[ApiKeyCreate]
) -> Response[ApiKeyCreated]:
    """Issues a key for the caller, or (owners) for another agent, with at most the caller's
    scopes. A key never makes a key that outlives it: from a key that expires, `expires_at`
    defaults to that key's expiry and a later one is `422`. The answer alone carries the
    full secret in `key`; only a keyed hash of it is stored."""
    record = await service.create_api_key(actor, data)
    return created(record, f"/v1/api-keys/{record.id}")


@get(
    "/api-keys/{key_id:str}",
    operation_id="getApiKey",
    summary="Get an API key",
    responses=READ_ONE,
)
async def get_api_key(actor: CurrentActor, key_id: FromPath[str]) -> ApiKey:
    """Returns one API key's record (never its secret)."""
    return await service.get_api_key(actor, key_id)


@delete(
    "/api-keys/{key_id:str}",
    operation_id="revokeApiKey",
    summary="Revoke an API key",
    responses=DELETE,
)
async def revoke_api_key(actor: CurrentActor, key_id: FromPath[str]) -> None:
    """Revokes a key: from then on, every server process answers 401 to it."""
    await service.revoke_api_key(actor, key_id)


ROUTES = [list_api_keys, create_api_key, get_api_key, revoke_api_key]
