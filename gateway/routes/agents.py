"""`/v1/agents`: a company's employees. There is no DELETE: deactivate instead."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from crm.agents import service
from crm.agents.schemas import Agent, AgentCreate, AgentPage, AgentUpdate
from crm.policy import Role
from gateway.responses import (
    CREATE,
    ETAG,
    LIST,
    LOCATION,
    READ_ONE,
    UPDATE,
    CurrentActor,
    Cursor,
    IfMatch,
    Limit,
    created,
    expected_version,
    sort_parameter,
    with_etag,
)

Sort = Annotated[str | None, sort_parameter(list(service.SORTS), "-created_at")]
RoleFilter = Annotated[Role | None, QueryParameter(description="Only agents with this role.")]


@get("/agents", operation_id="listAgents", summary="List agents", responses=LIST)
async def list_agents(
    actor: CurrentActor,
    team_id: FromQuery[str | None] = None,
    role: RoleFilter = None,
    is_active: FromQuery[bool | None] = None,
    sort: Sort = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AgentPage:
    """Lists the agents the caller may see: all (owner), the team (team leader), itself (agent)."""
    return await service.list_agents(
        actor,
        team_id=team_id,
        role=role,
        is_active=is_active,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


@post(
    "/agents",
    operation_id="createAgent",
    summary="Create an agent",
    responses=CREATE,
    response_headers=[LOCATION, ETAG],
)
async def create_agent(actor: CurrentActor, data: JSONBody[AgentCreate]) -> Response[Agent]:
    """Adds an agent (owners only). Emails are unique within the company."""
    agent = await service.create_agent(actor, data)
    return created(agent, f"/v1/agents/{agent.id}")


@get(
    "/agents/{agent_id:str}",
    operation_id="getAgent",
    summary="Get an agent",
    responses=READ_ONE,
    response_headers=[ETAG],
)
async def get_agent(actor: CurrentActor, agent_id: FromPath[str]) -> Response[Agent]:
    """Returns one agent the caller may see."""
    return with_etag(await service.get_agent(actor, agent_id))


@patch(
    "/agents/{agent_id:str}",
    operation_id="updateAgent",
    summary="Update an agent",
    responses=UPDATE,
    response_headers=[ETAG],
)
async def update_agent(
    actor: CurrentActor,
    agent_id: FromPath[str],
    data: JSONBody[AgentUpdate],
    if_match: IfMatch = None,
) -> Response[Agent]:
    """Changes an agent (owners); an agent may change its own `name`. The last active owner
    cannot be demoted or deactivated (409)."""
    agent = await service.update_agent(
        actor, agent_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(agent)


ROUTES = [list_agents, create_agent, get_agent, update_agent]
