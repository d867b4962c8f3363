from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from crm.api_keys.schemas import KeySummary
from crm.companies.schemas import Company
from crm.policy import Role
from crm.schemas import Email, Id, Input, Name

Password = Annotated[str, msgspec.Meta(min_length=10, max_length=1024)]


class Agent(msgspec.Struct):
    id: str
    email: str
    name: str
    role: Role
    team_id: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class AgentCreate(Input):
    email: Email
    name: Name
    role: Role
    team_id: Id | None = None
    password: Password | None = None


class AgentUpdate(Input):
    """Owners may change every field; an agent may change its own `name`."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    team_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class Me(msgspec.Struct, kw_only=True):
    """Who the caller is: its agent, its company and the key it used."""

    agent: Agent
    company: Company | None  # null for a key without `company:read`
    api_key: KeySummary | None  # null for a session


class AgentPage(msgspec.Struct, kw_only=True):
    """One page of agents; `next_cursor` is null on the last page."""

    data: list[Agent]
    next_cursor: str | None
