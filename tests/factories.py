"""Test factories: plain async functions that make records through the services."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from crm import db
from crm.agents.schemas import AgentCreate
from crm.agents.service import create_agent
from crm.api_keys.service import issue_key
from crm.policy import Actor, Role
from crm.teams.schemas import TeamCreate
from tests.conftest import ADMIN_TOKEN


@dataclass(frozen=True)
class Member:
    """An agent of a test company, with an API key and the actor it acts as."""

    actor: Actor
    key: str

    @property
    def id(self) -> str:
        return self.actor.agent_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class Tenant:
    company: dict[str, Any]
    owner: Member

    @property
    def id(self) -> str:
        return str(self.company["id"])


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def make_company(
    client: httpx.AsyncClient, *, plan: str = "free", **fields: object
) -> Tenant:
    body = {
        "name": unique("Company"),
        "owner_email": f"{unique('owner')}@example.com",
        "owner_name": "Olive Owner",
        "plan": plan,
        **fields,
    }
    response = await client.post(
        "/admin/v1/companies", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 201, response.text
    result = response.json()
    owner = result["owner"]
    actor = Actor(
        agent_id=owner["id"], company_id=result["company"]["id"], role=Role.OWNER, team_id=None
    )
    return Tenant(company=result["company"], owner=Member(actor=actor, key=result["api_key"]))


async def make_team(tenant: Tenant, name: str | None = None) -> str:
    from crm.teams.service import create_team

    async with db.transaction():
        team = await create_team(tenant.owner.actor, TeamCreate(name=name or unique("Team")))
    return team.id


async def make_agent(
    tenant: Tenant,
    *,
    role: str = "agent",
    team_id: str | None = None,
    scopes: list[str] | None = None,
) -> Member:
    async with db.transaction():
        agent = await create_agent(
            tenant.owner.actor,
            AgentCreate(
                email=f"{unique('agent')}@example.com",
                name="Avery Agent",
                role=Role(role),
                team_id=team_id,
            ),
        )
        _, key = await issue_key(tenant.id, agent.id, name="test key", scopes=scopes)
    actor = Actor(agent_id=agent.id, company_id=tenant.id, role=Role(role), team_id=team_id)
    return Member(actor=actor, key=key)


# Records made through the services, each in its own transaction (so each gets its
# own `created_at`), answered as the JSON the API would show.


async def make_contact(member: Member, **fields: object) -> dict[str, Any]:
    import msgspec

    from crm.contacts.schemas import ContactCreate
    from crm.contacts.service import create_contact

    data = msgspec.convert({"first_name": "Casey", **fields}, ContactCreate)
    async with db.transaction():
        return msgspec.to_builtins(await create_contact(member.actor, data))


async def make_deal(member: Member, **fields: object) -> dict[str, Any]:
    import msgspec

    from crm.deals.schemas import DealCreate
    from crm.deals.service import create_deal

    data = msgspec.convert({"title": unique("Deal"), **fields}, DealCreate, strict=False)
    async with db.transaction():
        return msgspec.to_builtins(await create_deal(member.actor, data))


async def make_task(member: Member, **fields: object) -> dict[str, Any]:
    """`due_at` may be RFC 3339 text, as in a request body."""
    import msgspec

    from crm.tasks.schemas import TaskCreate
    from crm.tasks.service import create_task

    data = msgspec.convert({"title": unique("Task"), **fields}, TaskCreate, strict=False)
    async with db.transaction():
        return msgspec.to_builtins(await create_task(member.actor, data))
