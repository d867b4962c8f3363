from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from crm.policy import KeyScope
from crm.schemas import Id, Input, Name, Timestamp


class ApiKey(msgspec.Struct):
    id: str
    name: str
    agent_id: str
    prefix: str
    scopes: list[KeyScope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey, kw_only=True):
    """The new key's record and, this once only, its full secret in `key`.

    An idempotent replay of the creation (`Idempotent-Replayed: true`) answers
    without `key`: secrets are never stored, so they cannot be answered twice.
    """

    key: str | msgspec.UnsetType = msgspec.UNSET


class ApiKeyCreate(Input):
    name: Name
    agent_id: Id | None = None
    scopes: Annotated[list[KeyScope], msgspec.Meta(min_length=1)] | None = None
    expires_at: Timestamp | None = None


# The key a request was made with, as `/v1/me` shows it.
class KeySummary(msgspec.Struct):
    id: str
    name: str
    scopes: list[str]
    expires_at: datetime | None


class ApiKeyPage(msgspec.Struct, kw_only=True):
    """One page of API keys; `next_cursor` is null on the last page."""

    data: list[ApiKey]
    next_cursor: str | None
