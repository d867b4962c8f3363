"""The SQL of teams: named queries of the `teams` table, each inside one company."""

from __future__ import annotations

from datetime import datetime

from crm import db
from crm.ids import new_id
from crm.pagination import Sort, check_limit
from crm.policy import Actor, Permission
from crm.query import TenantSelect, update_row
from crm.sql import Columns
from crm.teams.schemas import Team, TeamPage

TEAM = Columns(Team, "tm")
SORTS = {
    "-created_at": Sort("-created_at", "tm.created_at", datetime),
    "created_at": Sort("created_at", "tm.created_at", datetime),
}
CONFLICTS = {"teams_company_name_key": "Another team of the company has this name."}


def visible(actor: Actor) -> TenantSelect:
    return TenantSelect(actor, Permission.TEAMS_VIEW, table="teams", alias="tm", columns=TEAM.sql)


async def list_visible(actor: Actor, *, sort: Sort, limit: int, cursor: str | None) -> TeamPage:
    return await visible(actor).page(
        sort=sort, limit=check_limit(limit), cursor=cursor, build=TEAM.build, page=TeamPage
    )


async def get_visible(actor: Actor, team_id: str, *, lock: bool = False) -> Team:
    """The team if the actor may see it; 404 when missing or hidden alike."""
    return TEAM.build(await visible(actor).get(team_id, noun="team", lock=lock))


async def exists(company_id: str, team_id: str) -> bool:
    """Whether `team_id` (a canonical id) is a team of the company."""
    found = await db.connection().fetchval(
        "SELECT 1 FROM teams WHERE company_id = $1 AND id = $2", company_id, team_id
    )
    return found is not None


async def insert(company_id: str, *, name: str) -> Team:
    async with db.conflicts(CONFLICTS):
        row = await db.connection().fetchrow(
            f"""INSERT INTO teams (id, company_id, name, created_at, updated_at, version)
                VALUES ($1, $2, $3, now(), now(), 1) RETURNING {TEAM.returning}""",
            new_id(),
            company_id,
            name,
        )
    assert row is not None  # INSERT ... RETURNING returns the row it wrote
    return TEAM.build(row)


async def update(company_id: str, team_id: str, changes: dict[str, object]) -> Team:
    async with db.conflicts(CONFLICTS):
        row = await update_row("teams", company_id, team_id, changes, returning=TEAM.returning)
    return TEAM.build(row)


async def count_members(company_id: str, team_id: str) -> int:
    count: int = await db.connection().fetchval(
        "SELECT count(*) FROM agents WHERE company_id = $1 AND team_id = $2", company_id, team_id
    )
    return count


async def delete(company_id: str, team_id: str) -> None:
    await db.connection().execute(
        "DELETE FROM teams WHERE company_id = $1 AND id = $2", company_id, team_id
    )
