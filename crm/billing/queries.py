"""The SQL of payment events: the `billing_events` table (the operator's, not a tenant's)."""

from __future__ import annotations

from datetime import datetime

from crm import db
from crm.billing.schemas import BillingEvent, BillingEventPage, Outcome
from crm.ids import parse_id
from crm.pagination import Sort, decode_cursor, encode_cursor
from crm.sql import Columns, Params

BILLING_EVENT = Columns(BillingEvent, "e")
SORT = Sort("-received_at", "e.received_at", datetime)


async def record_delivery(
    event_id: str, *, type: str, created: datetime, customer: str | None, payload: str
) -> bool:
    """Record a delivery of the event: True for its first, False for a redelivery.

    A first delivery is recorded as ignored until its outcome is set; a
    concurrent redelivery waits on the first's row.
    """
    first: bool = await db.connection().fetchval(
        """INSERT INTO billing_events (id, type, created, customer, outcome, payload,
                received_at, deliveries, last_delivered_at)
           VALUES ($1, $2, $3, $4, 'ignored', $5, now(), 1, now())
           ON CONFLICT (id) DO UPDATE
               SET deliveries = billing_events.deliveries + 1, last_delivered_at = now()
           RETURNING deliveries = 1""",
        event_id,
        type,
        created,
        customer,
        payload,
    )
    return first


async def outcome_of(event_id: str) -> tuple[Outcome, str | None]:
    """`(outcome, reason)` of a recorded event."""
    row = await db.connection().fetchrow(
        "SELECT outcome, reason FROM billing_events WHERE id = $1", event_id
    )
    assert row is not None  # `record_delivery` has just written it
    return row["outcome"], row["reason"]


async def set_outcome(
    event_id: str, outcome: Outcome, reason: str | None, company_id: str | None
) -> None:
    await db.connection().execute(
        "UPDATE billing_events SET outcome = $2, reason = $3, company_id = $4 WHERE id = $1",
        event_id,
        outcome,
        reason,
        company_id,
    )


def _event_id(text: str) -> str | None:
    return text if 0 < len(text) <= 255 else None


async def page(*, company_id: str | None, limit: int, cursor: str | None) -> BillingEventPage:
    """Events newest first, of one company or of all, resuming after `cursor`."""
    params = Params()
    where = ["TRUE"]
    if company_id is not None:
        canonical = parse_id(company_id)
        where.append(
            "FALSE" if canonical is None else f"e.company_id = {params.placeholder(canonical)}"
        )
    if cursor:
        where.append(SORT.after(decode_cursor(cursor, SORT, _event_id), "e.id", params))
    rows = await db.connection().fetch(
        f"SELECT {BILLING_EVENT.sql} FROM billing_events e WHERE {' AND '.join(where)} "
        f"ORDER BY {SORT.order_by('e.id')} LIMIT {int(limit) + 1}",
        *params.values,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(SORT, rows[-1]["received_at"], rows[-1]["id"]) if more else None
    return BillingEventPage(
        data=[BILLING_EVENT.build(row) for row in rows], next_cursor=next_cursor
    )
