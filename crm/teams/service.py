"""Teams: groups of agents. Everyone in the company sees them; owners manage them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm import db
from crm.errors import Conflict, Forbidden
from crm.ids import new_id
from crm.pagination import Sort, check_limit, pick_sort
from crm.policy import Actor, Permission, Scope
from crm.query import TenantSelect, check_version, update_row
from crm.teams.schemas import Team, TeamCreate, TeamPage, TeamUpdate

COLUMNS = "tm.id, tm.name, tm.created_at, tm.updated_at, tm.version"
RETURNING = COLUMNS.replace("tm.", "")
SORTS = {
    "-created_at": Sort("-created_at", "tm.created_at", datetime),
    "created_at": Sort("created_at", "tm.created_at", datetime),
}
CONFLICTS = {"teams_company_name_key": "Another team of the company has this name."}


def _team(row: Any) -> Team:
    return Team(**{name: row[name] for name in Team.__struct_fields__})


def _visible(actor: Actor) -> TenantSelect:
    return TenantSelect(actor, Permission.TEAMS_VIEW, table="teams", alias="tm", columns=COLUMNS)


def _require_manage(actor: Actor) -> None:
    if actor.scope_for(Permission.TEAMS_MANAGE) is Scope.NONE:
        raise Forbidden("Only an owner may manage teams.")


async def list_teams(
    actor: Actor, *, sort: str | None = None, limit: int = 50, cursor: str | None = None
) -> TeamPage:
    order = pick_sort(SORTS, sort, "-created_at")
    return await _visible(actor).page(
        sort=order, limit=check_limit(limit), cursor=cursor, build=_team, page=TeamPage
    )


async def get_team(actor: Actor, team_id: str, *, for_update: bool = False) -> Team:
    row = await _visible(actor).get(team_id, noun="team", lock=for_update)
    return _team(row)


async def create_team(actor: Actor, data: TeamCreate) -> Team:
    _require_manage(actor)
    async with db.conflicts(CONFLICTS):
        row = await db.connection().fetchrow(
            f"""INSERT INTO teams (id, company_id, name, created_at, updated_at, version)
                VALUES ($1, $2, $3, now(), now(), 1) RETURNING {RETURNING}""",
            new_id(),
            actor.company_id,
            data.name.strip(),
        )
    return _team(row)


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
    async with db.conflicts(CONFLICTS):
        row = await update_row("teams", actor.company_id, current.id, values, returning=RETURNING)
    return _team(row)


async def delete_team(actor: Actor, team_id: str) -> None:
    current = await get_team(actor, team_id, for_update=True)
    _require_manage(actor)
    conn = db.connection()
    members = await conn.fetchval(
        "SELECT count(*) FROM agents WHERE company_id = $1 AND team_id = $2",
        actor.company_id,
        current.id,
    )
    if members:
        raise Conflict(f"The team still has {members} agent(s); move them out first.")
    await conn.execute(
        "DELETE FROM teams WHERE company_id = $1 AND id = $2", actor.company_id, current.id
    )
