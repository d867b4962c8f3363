from __future__ import annotations

from datetime import datetime

import msgspec

from crm.schemas import Input, Name


class Team(msgspec.Struct):
    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    version: int


class TeamCreate(Input):
    name: Name


class TeamUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET


class TeamPage(msgspec.Struct, kw_only=True):
    """One page of teams; `next_cursor` is null on the last page."""

    data: list[Team]
    next_cursor: str | None
