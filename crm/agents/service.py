"""Agents: a company's employees. Owners manage them; an agent may rename itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm import db
from crm.agents.schemas import Agent, AgentCreate, AgentPage, AgentUpdate, KeySummary, Me
from crm.auth_changes import auth_changed
from crm.companies.schemas import Company
from crm.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm.ids import new_id, parse_id
from crm.pagination import Sort, check_limit, pick_sort
from crm.policy import Actor, Permission, Role, Scope
from crm.query import TenantSelect, check_version, update_row
from crm.security import hash_password

COLUMNS = (
    "a.id, a.email, a.name, a.role, a.team_id, a.is_active, a.created_at, a.updated_at, a.version"
)
RETURNING = COLUMNS.replace("a.", "")
SORTS = {
    "-created_at": Sort("-created_at", "a.created_at", datetime),
    "created_at": Sort("created_at", "a.created_at", datetime),
}
CONFLICTS = {"agents_company_email_key": "Another agent of the company has this email."}


def _agent(row: Any) -> Agent:
    return Agent(**dict(row))


def _visible(actor: Actor) -> TenantSelect:
    # An agent record is "owned" by the agent itself: team scope is the team's
    # members, own scope the actor alone.
    return TenantSelect(
        actor, Permission.AGENTS_VIEW, table="agents", alias="a", columns=COLUMNS, owner_column="id"
    )


async def list_agents(
    actor: Actor,
    *,
    team_id: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> AgentPage:
    order = pick_sort(SORTS, sort, "-created_at")
    query = _visible(actor)
    if team_id is not None:
        query.filter(f"a.team_id = {query.placeholder(parse_id(team_id))}")
    if role is not None:
        query.filter(f"a.role = {query.placeholder(role)}")
    if is_active is not None:
        query.filter(f"a.is_active = {query.placeholder(is_active)}")
    return await query.page(
        sort=order, limit=check_limit(limit), cursor=cursor, build=_agent, page=AgentPage
    )


async def get_agent(actor: Actor, agent_id: str, *, for_update: bool = False) -> Agent:
    row = await _visible(actor).get(agent_id, noun="agent", lock=for_update)
    return _agent(row)


async def require_team(company_id: str, team_id: str | None, field: str = "team_id") -> None:
    """422 naming `field` unless `team_id` is a team of the company (teams are company-wide)."""
    if team_id is None:
        return
    canonical = parse_id(team_id)
    if canonical is None or not await db.connection().fetchval(
        "SELECT 1 FROM teams WHERE company_id = $1 AND id = $2", company_id, canonical
    ):
        raise ValidationFailed.one(field, "No such team.")


async def insert_agent(
    company_id: str,
    *,
    email: str,
    name: str,
    role: Role | str,
    team_id: str | None,
    password_hash: str | None = None,
) -> Agent:
    async with db.conflicts(CONFLICTS):
        row = await db.connection().fetchrow(
            f"""INSERT INTO agents (id, company_id, team_id, email, name, role, is_active,
                    password_hash, created_at, updated_at, version)
                VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, now(), now(), 1)
                RETURNING {RETURNING}""",
            new_id(),
            company_id,
            parse_id(team_id) if team_id else None,
            email,
            name,
            str(role),
            password_hash,
        )
    return _agent(row)


async def create_agent(actor: Actor, data: AgentCreate) -> Agent:
    if actor.scope_for(Permission.AGENTS_MANAGE) is Scope.NONE:
        raise Forbidden("Only an owner may add agents.")
    await require_team(actor.company_id, data.team_id)
    password_hash = await hash_password(data.password) if data.password else None
    return await insert_agent(
        actor.company_id,
        email=data.email,
        name=data.name,
        role=data.role,
        team_id=data.team_id,
        password_hash=password_hash,
    )


async def update_agent(
    actor: Actor, agent_id: str, changes: AgentUpdate, *, expected_version: int | None = None
) -> Agent:
    manage = actor.scope_for(Permission.AGENTS_MANAGE)
    current = await get_agent(actor, agent_id, for_update=True)
    values = changes.given()
    if manage is Scope.NONE and not (current.id == actor.agent_id and set(values) <= {"name"}):
        raise Forbidden("Only an owner may change agents; an agent may change its own name.")
    check_version(current.version, expected_version)
    if "team_id" in values:
        await require_team(actor.company_id, values["team_id"])
        values["team_id"] = parse_id(values["team_id"]) if values["team_id"] else None
    values = {k: v for k, v in values.items() if getattr(current, k) != v}
    if not values:
        return current
    loses_owner = (
        current.role == "owner"
        and current.is_active
        and (values.get("role", "owner") != "owner" or values.get("is_active", True) is False)
    )
    if loses_owner:
        await _keep_an_owner(actor.company_id, current.id)
    async with db.conflicts(CONFLICTS):
        row = await update_row("agents", actor.company_id, current.id, values, returning=RETURNING)
    if {"role", "team_id", "is_active"} & set(values):
        # Every process drops this agent's cached keys: the next request sees the change.
        await auth_changed("agent", current.id)
    return _agent(row)


async def _keep_an_owner(company_id: str, leaving_id: str) -> None:
    # Demotions are serialised per company by a transaction-scoped advisory
    # lock, so two owners demoting each other at once cannot both succeed; each
    # count then reads what the other committed.
    conn = db.connection()
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm.owners:' || $1, 0))", company_id
    )
    others = await conn.fetchval(
        """SELECT count(*) FROM agents
           WHERE company_id = $1 AND role = 'owner' AND is_active AND id <> $2""",
        company_id,
        leaving_id,
    )
    if not others:
        raise Conflict("The last active owner cannot be demoted or deactivated.")


async def get_me(actor: Actor) -> Me:
    """The caller's own agent, company and key: always visible to itself."""
    from crm.companies.service import COLUMNS as COMPANY_COLUMNS

    conn = db.connection()
    agent = await conn.fetchrow(
        f"SELECT {RETURNING} FROM agents WHERE company_id = $1 AND id = $2",
        actor.company_id,
        actor.agent_id,
    )
    company = await conn.fetchrow(
        f"SELECT {COMPANY_COLUMNS} FROM companies WHERE id = $1", actor.company_id
    )
    key = None
    if actor.api_key_id is not None:
        row = await conn.fetchrow(
            "SELECT id, name, scopes, expires_at FROM api_keys WHERE company_id = $1 AND id = $2",
            actor.company_id,
            actor.api_key_id,
        )
        key = KeySummary(**dict(row)) if row else None
    if agent is None or company is None:
        raise NotFound("The caller's agent no longer exists.")
    return Me(agent=_agent(agent), company=Company(**dict(company)), api_key=key)
