"""Teams: groups of agents. Everyone in the company sees them; owners manage them."""

from __future__ import annotations

from crm.errors import Conflict, Forbidden, ValidationFailed
from crm.ids import parse_id
from crm.pagination import pick_sort
from crm.policy import Actor, Permission, Scope
from crm.query import check_version
from crm.teams import queries
from crm.teams.queries import SORTS
from crm.teams.schemas import Team, TeamCreate, TeamPage, TeamUpdate


def _require_manage(actor: Actor) -> None:
    if actor.scope_for(Permission.TEAMS_MANAGE) is Scope.NONE:
        raise Forbidden("Only an owner may manage teams.")


async def list_teams(
    actor: Actor, *, sort: str | None = None, limit: int = 50, cursor: str | None = None
) -> TeamPage:
    return await queries.list_visible(
        actor,
        sort=pick_sort(SORTS, sort, "-created_at"),
        limit=limit,
        cursor=cursor,
    )


async def get_team(actor: Actor, team_id: str, *, for_update: bool = False) -> Team:
    return await queries.get_visible(actor, team_id, lock=for_update)


async def require_team(company_id: str, team_id: str | None) -> None:
    """422 on `team_id` unless it is None or a team of the company (teams are company-wide)."""
    if team_id is None:
        return
    canonical = parse_id(team_id)
    if canonical is None or not await queries.exists(company_id, canonical):
        raise ValidationFailed.one("team_id", "No such team.")


async def create_team(actor: Actor, data: TeamCreate) -> Team:
    _require_manage(actor)
    return await queries.insert(actor.company_id, name=data.name.strip())


async def update_team(
    actor: Actor, team_id: str, changes: TeamUpdate, *, expected_version: int | None = None
) -> Team:
    current = await get_team(actor, team_id, for_update=True)
    _require_manage(actor)
    check_version(current.version, expected_version)
    values = changes.given()
    values = {k: v for k, v in values.items() if getattr(current, k) != v}
    if not values:
        return current
    return await queries.update(actor.company_id, current.id, values)


async def delete_team(actor: Actor, team_id: str) -> None:
    current = await get_team(actor, team_id, for_update=True)
    _require_manage(actor)
    members = await queries.count_members(actor.company_id, current.id)
    if members:
        raise Conflict(f"The team still has {members} agent(s); move them out first.")
    await queries.delete(actor.company_id, current.id)
