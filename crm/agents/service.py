"""Agents: a company's employees. Owners manage them; an agent may rename itself."""

from __future__ import annotations

from crm.agents import queries
from crm.agents.queries import SORTS
from crm.agents.schemas import Agent, AgentCreate, AgentPage, AgentUpdate, Me
from crm.api_keys.service import current_key
from crm.auth_changes import auth_changed
from crm.companies.service import find_company
from crm.errors import Conflict, Forbidden, NotFound
from crm.ids import parse_id
from crm.pagination import pick_sort
from crm.policy import KEY_SCOPE, Actor, Permission, Role, Scope
from crm.query import check_version
from crm.security import hash_password
from crm.teams.service import require_team


async def list_agents(
    actor: Actor,
    *,
    team_id: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> AgentPage:
    return await queries.list_visible(
        actor,
        team_id=team_id,
        role=role,
        is_active=is_active,
        sort=pick_sort(SORTS, sort, "-created_at"),
        limit=limit,
        cursor=cursor,
    )


async def get_agent(actor: Actor, agent_id: str, *, for_update: bool = False) -> Agent:
    return await queries.get_visible(actor, agent_id, lock=for_update)


async def create_owner(company_id: str, *, email: str, name: str) -> Agent:
    """The first owner of a new company, made while bootstrapping it (no actor yet)."""
    return await queries.insert(
        company_id, email=email, name=name, role=Role.OWNER, team_id=None, password_hash=None
    )


async def create_agent(actor: Actor, data: AgentCreate) -> Agent:
    if actor.scope_for(Permission.AGENTS_MANAGE) is Scope.NONE:
        raise Forbidden("Only an owner may add agents.")
    await require_team(actor.company_id, data.team_id)
    password_hash = await hash_password(data.password) if data.password else None
    return await queries.insert(
        actor.company_id,
        email=data.email,
        name=data.name,
        role=data.role,
        team_id=parse_id(data.team_id) if data.team_id else None,
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
        current.role == Role.OWNER
        and current.is_active
        and (values.get("role", Role.OWNER) != Role.OWNER or values.get("is_active", True) is False)
    )
    if loses_owner:
        await _keep_an_owner(actor.company_id, current.id)
    updated = await queries.update(actor.company_id, current.id, values)
    if {"role", "team_id", "is_active"} & set(values):
        # Every process drops this agent's cached keys: the next request sees the change.
        await auth_changed("agent", current.id)
    return updated


async def _keep_an_owner(company_id: str, leaving_id: str) -> None:
    await queries.lock_owners(company_id)
    if not await queries.count_other_active_owners(company_id, leaving_id):
        raise Conflict("The last active owner cannot be demoted or deactivated.")


async def get_me(actor: Actor) -> Me:
    """The caller's own agent and key, always visible to itself, and its company, which
    only a credential with `company:read` may read (`None` otherwise)."""
    agent = await queries.get_own(actor)
    if agent is None:
        raise NotFound("The caller's agent no longer exists.")
    company = None
    if KEY_SCOPE[Permission.COMPANY_VIEW] in actor.key_scopes:
        company = await find_company(actor.company_id)
        if company is None:
            raise NotFound("The caller's company no longer exists.")
    return Me(agent=agent, company=company, api_key=await current_key(actor))
