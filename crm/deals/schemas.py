from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from crm.schemas import END, Id, Input, Name

Stage = Literal["lead", "qualified", "proposal", "negotiation", "won", "lost"]
Amount = Annotated[
    str,
    msgspec.Meta(
        # [0-9], not \d: Python's \d also matches other scripts' digits (`١٢٣`).
        pattern=rf"^[0-9]{{1,15}}(\.[0-9]{{1,4}})?{END}",
        description='A decimal string in the currency\'s units, e.g. "1250.00"; never a float.',
    ),
]
Currency = Annotated[
    str, msgspec.Meta(pattern=rf"^[A-Z]{{3}}{END}", description="ISO 4217 code, e.g. `EUR`.")
]


# Not keyword-only: `crm.sql.Columns` builds it from a row by position.
class Deal(msgspec.Struct):
    id: str
    title: str
    contact_id: str | None
    owner_id: str
    stage: Stage
    amount: str | None
    currency: str | None
    expected_close_date: date | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class DealCreate(Input):
    """A new deal. `amount` needs a `currency`; moving into `won`/`lost` sets `closed_at`."""

    title: Name
    contact_id: Id | None = None
    owner_id: Id | None = None
    stage: Stage = "lead"
    amount: Amount | None = None
    currency: Currency | None = None
    expected_close_date: date | None = None


class DealUpdate(Input):
    title: Name | msgspec.UnsetType = msgspec.UNSET
    contact_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    owner_id: Id | msgspec.UnsetType = msgspec.UNSET
    stage: Stage | msgspec.UnsetType = msgspec.UNSET
    amount: Amount | msgspec.UnsetType | None = msgspec.UNSET
    currency: Currency | msgspec.UnsetType | None = msgspec.UNSET
    expected_close_date: date | msgspec.UnsetType | None = msgspec.UNSET


class DealPage(msgspec.Struct, kw_only=True):
    """One page of deals; `next_cursor` is null on the last page."""

    data: list[Deal]
    next_cursor: str | None
