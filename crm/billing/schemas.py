from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

# The last second a timestamp can name (9999-12-31T23:59:59Z): an event claiming a
# later (or a negative) `created` is not one we can read.
LAST_UNIX_SECOND = 253_402_300_799


class EventData(msgspec.Struct):
    object: dict[str, Any]


class Event(msgspec.Struct):
    """A payment provider's event, as delivered (Stripe's shape)."""

    id: str
    type: str
    created: Annotated[int, msgspec.Meta(ge=0, le=LAST_UNIX_SECOND)]
    data: EventData


Outcome = Literal["applied", "stale", "ignored"]


class BillingEvent(msgspec.Struct):
    """A received event and what was done about it (operator's view)."""

    id: str
    type: str
    created: datetime
    customer: str | None
    company_id: str | None
    outcome: Outcome
    reason: str | None
    received_at: datetime
    deliveries: int
    last_delivered_at: datetime


class Receipt(msgspec.Struct, kw_only=True):
    """The answer to a delivery."""

    id: str
    outcome: Outcome
    duplicate: bool
    reason: str | None = None


class BillingEventPage(msgspec.Struct, kw_only=True):
    """One page of payment events; `next_cursor` is null on the last page."""

    data: list[BillingEvent]
    next_cursor: str | None
