"""Giving a record, a key or an endpoint to an agent: the agent must exist, be active, be in scope.

Kept apart from `crm.agents.service` so that the domains that assign things to
agents (contacts, deals, tasks, API keys) can call it without importing the
agents' service, which itself reads keys and companies.
"""

from __future__ import annotations

from crm.agents.queries import agent_in_scope
from crm.errors import Forbidden, ValidationFailed
from crm.ids import parse_id
from crm.policy import Actor, Scope


async def require_agent_in_scope(
    actor: Actor, agent_id: str, field: str, scope: Scope, noun: str
) -> str:
    """`agent_id`'s canonical id if it is an active agent of the company within `scope`.

    Missing or foreign: 422 naming `field`; outside the scope: 403; deactivated: 422.
    """
    found = await agent_in_scope(actor, agent_id, scope)
    if found is None:
        raise ValidationFailed.one(field, "No such agent.")
    is_active, allowed = found
    if not allowed:
        raise Forbidden(f"You may not give a {noun} to that agent: it is outside your scope.")
    if not is_active:
        raise ValidationFailed.one(field, "The agent is deactivated.")
    return str(parse_id(agent_id))
