"""Billing: payment events drive each company's `plan` and `subscription_status`.

Deliveries are at least once and out of order; the effect is exactly once:

- the event is recorded under its id in the same transaction as its effect, so
  a redelivery (even a concurrent one, which waits on the first's row) finds it
  and changes nothing but the delivery count;
- the company row is locked and its `billing_event_at` (the `created` of the
  newest applied event) compared: an older event is recorded as stale;
- unknown types and unknown customers are recorded as ignored, and answered
  like the rest, so the provider stops retrying.

Every applied change notifies the gateway, so the new plan's rate limit holds
from the next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from crm import db
from crm.auth_changes import auth_changed
from crm.billing.schemas import BillingEvent, BillingEventPage, Event, Outcome, Receipt
from crm.ids import parse_id
from crm.pagination import Sort, check_limit, decode_cursor, encode_cursor
from crm.sql import Params

PLANS = frozenset({"free", "pro", "enterprise"})
STATUSES = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "canceled": "cancelled",
    "incomplete_expired": "cancelled",
}
SUBSCRIPTION_CHANGES = frozenset({"customer.subscription.created", "customer.subscription.updated"})
HANDLED = SUBSCRIPTION_CHANGES | {
    "customer.subscription.deleted",
    "invoice.payment_failed",
    "invoice.paid",
}


@dataclass(frozen=True, slots=True)
class Effect:
    plan: str | None = None
    status: str | None = None
    note: str | None = None


def _get(obj: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or len(obj) <= step:
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[step] if isinstance(step, int) else obj.get(step)
    return obj


def effect_of(event: Event) -> Effect | str:
    """What `event` does to its company, or why it does nothing (a string)."""
    obj = event.data.object
    if event.type == "customer.subscription.deleted":
        return Effect(plan="free", status="cancelled")
    if event.type == "invoice.payment_failed":
        return Effect(status="past_due")
    if event.type == "invoice.paid":
        return Effect(status="active")
    # customer.subscription.created / updated
    plan = _get(obj, "items", "data", 0, "price", "lookup_key") or _get(obj, "metadata", "plan")
    if plan not in PLANS:
        return f"no known plan in the subscription (got {plan!r})"
    raw_status = obj.get("status")
    status = STATUSES.get(raw_status) if isinstance(raw_status, str) else None
    note = None if status else f"subscription status {raw_status!r} left as it was"
    return Effect(plan=plan, status=status, note=note)


async def apply_event(event: Event) -> Receipt:
    """Record a verified event and apply it once; runs in the caller's transaction."""
    conn = db.connection()
    created = datetime.fromtimestamp(event.created, UTC)
    customer = _get(event.data.object, "customer")
    customer = customer if isinstance(customer, str) else None
    payload = msgspec.json.encode(msgspec.structs.asdict(event)).decode()
    inserted = await conn.fetchval(
        """INSERT INTO billing_events (id, type, created, customer, outcome, payload,
                received_at, deliveries, last_delivered_at)
           VALUES ($1, $2, $3, $4, 'ignored', $5, now(), 1, now())
           ON CONFLICT (id) DO UPDATE
               SET deliveries = billing_events.deliveries + 1, last_delivered_at = now()
           RETURNING deliveries = 1""",
        event.id,
        event.type,
        created,
        customer,
        payload,
    )
    if not inserted:
        row = await conn.fetchrow(
            "SELECT outcome, reason FROM billing_events WHERE id = $1", event.id
        )
        return Receipt(id=event.id, outcome=row["outcome"], duplicate=True, reason=row["reason"])

    outcome, reason, company_id = await _decide(event, created, customer)
    await conn.execute(
        "UPDATE billing_events SET outcome = $2, reason = $3, company_id = $4 WHERE id = $1",
        event.id,
        outcome,
        reason,
        company_id,
    )
    return Receipt(id=event.id, outcome=outcome, duplicate=False, reason=reason)


async def _decide(
    event: Event, created: datetime, customer: str | None
) -> tuple[Outcome, str | None, str | None]:
    handled = event.type in HANDLED
    company = None
    if customer is not None:
        # Locked only when the event may change it: concurrent events apply in turn.
        company = await db.connection().fetchrow(
            "SELECT id, billing_event_at FROM companies WHERE billing_customer_id = $1"
            + (" FOR UPDATE" if handled else ""),
            customer,
        )
    company_id = company["id"] if company is not None else None
    if not handled:
        return "ignored", f"event type {event.type!r} is not one we act on", company_id
    if company is None:
        reason = f"no company has billing customer {customer!r}" if customer else None
        return "ignored", reason or "the event names no customer", None
    effect = effect_of(event)
    if isinstance(effect, str):
        return "ignored", effect, company["id"]
    newest = company["billing_event_at"]
    if newest is not None and created < newest:
        return "stale", f"older than the event applied at {newest.isoformat()}", company["id"]
    await db.connection().execute(
        """UPDATE companies
           SET plan = coalesce($2, plan), subscription_status = coalesce($3, subscription_status),
               billing_event_at = $4, version = version + 1, updated_at = now()
           WHERE id = $1""",
        company["id"],
        effect.plan,
        effect.status,
        created,
    )
    await auth_changed("company", company["id"])
    return "applied", effect.note, company["id"]


SORT = Sort("-received_at", "e.received_at", datetime)


def _event_id(text: str) -> str | None:
    return text if 0 < len(text) <= 255 else None


COLUMNS = (
    "e.id, e.type, e.created, e.customer, e.company_id, e.outcome, e.reason, e.received_at, "
    "e.deliveries, e.last_delivered_at"
)


async def list_events(
    *, company_id: str | None = None, limit: int = 50, cursor: str | None = None
) -> BillingEventPage:
    """The operator's view of received events, newest first. Never exposed to tenants."""
    check_limit(limit)
    args = Params()
    where = ["TRUE"]
    if company_id is not None:
        canonical = parse_id(company_id)
        where.append(
            "FALSE" if canonical is None else f"e.company_id = {args.placeholder(canonical)}"
        )
    if cursor:
        where.append(SORT.after(decode_cursor(cursor, SORT, _event_id), "e.id", args))
    rows = await db.connection().fetch(
        f"SELECT {COLUMNS} FROM billing_events e WHERE {' AND '.join(where)} "
        f"ORDER BY {SORT.order_by('e.id')} LIMIT {limit + 1}",
        *args.values,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    data = [BillingEvent(**dict(row)) for row in rows]
    next_cursor = encode_cursor(SORT, rows[-1]["received_at"], rows[-1]["id"]) if more else None
    return BillingEventPage(data=data, next_cursor=next_cursor)
