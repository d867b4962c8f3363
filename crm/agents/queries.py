"""The SQL of agents: named queries of the `agents` table, each inside one company."""

from __future__ import annotations

from datetime import datetime

from crm import db
from crm.agents.schemas import Agent, AgentPage
from crm.ids import new_id, parse_id
from crm.pagination import Sort, check_limit
from crm.policy import Actor, Permission, Role, Scope
from crm.query import TenantSelect, update_row
from crm.sql import Columns, Params, scope_predicate

AGENT = Columns(Agent, "a", computed={"role": (("role",), Role)})
SORTS = {
    "-created_at": Sort("-created_at", "a.created_at", datetime),
    "created_at": Sort("created_at", "a.created_at", datetime),
}
CONFLICTS = {"agents_company_email_key": "Another agent of the company has this email."}


def visible(actor: Actor) -> TenantSelect:
    # An agent record is "owned" by the agent itself: team scope is the team's
    # members, own scope the actor alone.
    return TenantSelect(
        actor,
        Permission.AGENTS_VIEW,
        table="agents",
        alias="a",
        columns=AGENT.sql,
        owner_column="id",
    )


async def list_visible(
    actor: Actor,
    *,
    team_id: str | None,
    role: Role | None,
    is_active: bool | None,
    sort: Sort,
    limit: int,
    cursor: str | None,
) -> AgentPage:
    query = visible(actor)
    if team_id is not None:
        query.filter(f"a.team_id = {query.placeholder(parse_id(team_id))}")
    if role is not None:
        query.filter(f"a.role = {query.placeholder(role)}")
    if is_active is not None:
        query.filter(f"a.is_active = {query.placeholder(is_active)}")
    return await query.page(
        sort=sort, limit=check_limit(limit), cursor=cursor, build=AGENT.build, page=AgentPage
    )


async def get_visible(actor: Actor, agent_id: str, *, lock: bool = False) -> Agent:
    """The agent if the actor may see it; 404 when missing or hidden alike."""
    return AGENT.build(await visible(actor).get(agent_id, noun="agent", lock=lock))


async def get_own(actor: Actor) -> Agent | None:
    """The actor's own agent, whatever its scope (None once it no longer exists)."""
    row = await db.connection().fetchrow(
        f"SELECT {AGENT.sql} FROM agents a WHERE a.company_id = $1 AND a.id = $2",
        actor.company_id,
        actor.agent_id,
    )
    return None if row is None else AGENT.build(row)


async def agent_in_scope(actor: Actor, agent_id: str, scope: Scope) -> tuple[bool, bool] | None:
    """`(is_active, allowed)` of an agent of the actor's company, or None if there is none.

    `allowed` tells whether the agent lies in `scope` (an action's scope of the
    actor); an id that cannot exist is simply not found.
    """
    canonical = parse_id(agent_id)
    if canonical is None:
        return None
    params = Params(actor.company_id, canonical)
    allowed = scope_predicate(actor, scope, "a.id", params)
    row = await db.connection().fetchrow(
        f"SELECT a.is_active, ({allowed}) AS allowed FROM agents a "
        "WHERE a.company_id = $1 AND a.id = $2",
        *params.values,
    )
    return None if row is None else (row["is_active"], row["allowed"])


async def insert(
    company_id: str,
    *,
    email: str,
    name: str,
    role: Role,
    team_id: str | None,
    password_hash: str | None,
) -> Agent:
    async with db.conflicts(CONFLICTS):
        row = await db.connection().fetchrow(
            f"""INSERT INTO agents (id, company_id, team_id, email, name, role, is_active,
                    password_hash, created_at, updated_at, version)
                VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, now(), now(), 1)
                RETURNING {AGENT.returning}""",
            new_id(),
            company_id,
            team_id,
            email,
            name,
            str(role),
            password_hash,
        )
    assert row is not None  # INSERT ... RETURNING returns the row it wrote
    return AGENT.build(row)


async def update(company_id: str, agent_id: str, changes: dict[str, object]) -> Agent:
    async with db.conflicts(CONFLICTS):
        row = await update_row("agents", company_id, agent_id, changes, returning=AGENT.returning)
    return AGENT.build(row)


async def lock_owners(company_id: str) -> None:
    """Serialise, until the transaction ends, the changes that may remove an owner.

    A transaction-scoped advisory lock per company, so two owners demoting each
    other at once cannot both succeed: each count then reads what the other
    committed.
    """
    await db.connection().execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm.owners:' || $1, 0))", company_id
    )


async def count_other_active_owners(company_id: str, agent_id: str) -> int:
    count: int = await db.connection().fetchval(
        """SELECT count(*) FROM agents
           WHERE company_id = $1 AND role = 'owner' AND is_active AND id <> $2""",
        company_id,
        agent_id,
    )
    return count
