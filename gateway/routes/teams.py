"""`/v1/teams`: groups of agents. Everyone reads; owners write."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from crm.teams import service
from crm.teams.schemas import Team, TeamCreate, TeamPage, TeamUpdate
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
    created,
    expected_version,
    sort_parameter,
    with_etag,
)

Sort = Annotated[str | None, sort_parameter(list(service.SORTS), "-created_at")]


@get("/teams", operation_id="listTeams", summary="List teams", responses=LIST)
async def list_teams(
    actor: CurrentActor, sort: Sort = None, limit: Limit = 50, cursor: Cursor = None
) -> TeamPage:
    """Lists the company's teams."""
    return await service.list_teams(actor, sort=sort, limit=limit, cursor=cursor)


@post(
    "/teams",
    operation_id="createTeam",
    summary="Create a team",
    responses=CREATE,
    response_headers=[LOCATION, ETAG],
)
async def create_team(actor: CurrentActor, data: JSONBody[TeamCreate]) -> Response[Team]:
    """Creates a team (owners only). Team names are unique within the company."""
    team = await service.create_team(actor, data)
    return created(team, f"/v1/teams/{team.id}")


@get(
    "/teams/{team_id:str}",
    operation_id="getTeam",
    summary="Get a team",
    responses=READ_ONE,
    response_headers=[ETAG],
)
async def get_team(actor: CurrentActor, team_id: FromPath[str]) -> Response[Team]:
    """Returns one team."""
    return with_etag(await service.get_team(actor, team_id))


@patch(
    "/teams/{team_id:str}",
    operation_id="updateTeam",
    summary="Update a team",
    responses=UPDATE,
    response_headers=[ETAG],
)
async def update_team(
    actor: CurrentActor,
    team_id: FromPath[str],
    data: JSONBody[TeamUpdate],
    if_match: IfMatch = None,
) -> Response[Team]:
    """Renames a team (owners only)."""
    team = await service.update_team(
        actor, team_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(team)


@delete(
    "/teams/{team_id:str}",
    operation_id="deleteTeam",
    summary="Delete a team",
    responses=DELETE,
)
async def delete_team(actor: CurrentActor, team_id: FromPath[str]) -> None:
    """Deletes an empty team (owners only); a team with agents in it answers 409."""
    await service.delete_team(actor, team_id)


ROUTES = [list_teams, create_team, get_team, update_team, delete_team]
