"""Billing: payment events drive each company's `plan` and `subscription_status`.

Deliveries are at least once and out of order; the effect is exactly once:

- the event is recorded under its id in the same transaction as its effect, so
  a redelivery (even a concurrent one, which waits on the first's row) finds it
  and changes nothing but the delivery count;
- the company row is locked and its `billing_event_at` (the `created` of the
  newest applied event) compared: an older event is recorded as stale;
- unknown types and unknown customers are recorded as ignored, and answered
  like the rest, so the provider stops retrying.

The event's company is the one its `data.object.metadata.company_id` names when
present, else the one whose `billing_customer_id` is `data.object.customer`. A
named company with no customer yet is linked to the event's when the event
applies; one linked to another customer ignores the event. Only these signed
events and the operator ever set a company's customer: a tenant cannot detach
itself from a downgrade or claim another's upgrade.

Every applied change notifies the gateway, so the new plan's rate limit holds
from the next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from crm.billing import queries
from crm.billing.schemas import BillingEventPage, Event, Outcome, Receipt
from crm.companies.schemas import BillingState, Plan, SubscriptionStatus
from crm.companies.service import (
    apply_billing_change,
    billing_state_of_company,
    billing_state_of_customer,
    claim_billing_customer,
)
from crm.pagination import check_limit

PLANS = frozenset(Plan)  # what a subscription's plan name is checked against
# The provider's subscription statuses, as ours.
STATUSES = {
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELLED,
    "incomplete_expired": SubscriptionStatus.CANCELLED,
}
SUBSCRIPTION_CHANGES = frozenset({"customer.subscription.created", "customer.subscription.updated"})
HANDLED = SUBSCRIPTION_CHANGES | {
    "customer.subscription.deleted",
    "invoice.payment_failed",
    "invoice.paid",
}


@dataclass(frozen=True, slots=True)
class Effect:
    plan: Plan | None = None
    status: SubscriptionStatus | None = None
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
        return Effect(plan=Plan.FREE, status=SubscriptionStatus.CANCELLED)
    if event.type == "invoice.payment_failed":
        return Effect(status=SubscriptionStatus.PAST_DUE)
    if event.type == "invoice.paid":
        return Effect(status=SubscriptionStatus.ACTIVE)
    # customer.subscription.created / updated
    named = _get(obj, "items", "data", 0, "price", "lookup_key") or _get(obj, "metadata", "plan")
    if named not in PLANS:
        return f"no known plan in the subscription (got {named!r})"
    plan = Plan(named)
    raw_status = obj.get("status")
    status = STATUSES.get(raw_status) if isinstance(raw_status, str) else None
    note = None if status else f"subscription status {raw_status!r} left as it was"
    return Effect(plan=plan, status=status, note=note)


async def apply_event(event: Event) -> Receipt:
    """Record a verified event and apply it once; runs in the caller's transaction."""
    created = datetime.fromtimestamp(event.created, UTC)
    customer = _get(event.data.object, "customer")
    customer = customer if isinstance(customer, str) else None
    payload = msgspec.json.encode(msgspec.structs.asdict(event)).decode()
    first = await queries.record_delivery(
        event.id, type=event.type, created=created, customer=customer, payload=payload
    )
    if not first:
        outcome, reason = await queries.outcome_of(event.id)
        return Receipt(id=event.id, outcome=outcome, duplicate=True, reason=reason)

    outcome, reason, company_id = await _decide(event, created, customer)
    await queries.set_outcome(event.id, outcome, reason, company_id)
    return Receipt(id=event.id, outcome=outcome, duplicate=False, reason=reason)


def _shown(value: Any) -> str:
    """`value` as a reason quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


async def _company_of(
    named: Any, customer: str | None, *, lock: bool
) -> tuple[BillingState | None, str]:
    """The event's company (locked if `lock`) or None, with what it was sought by."""
    if named is not None:
        found = await billing_state_of_company(named, lock=lock) if isinstance(named, str) else None
        return found, f"metadata.company_id {_shown(named)} is not one of our companies"
    if customer is not None:
        found = await billing_state_of_customer(customer, lock=lock)
        return found, f"no company has billing customer {_shown(customer)}"
    return None, "the event names no customer"


async def _decide(
    event: Event, created: datetime, customer: str | None
) -> tuple[Outcome, str | None, str | None]:
    handled = event.type in HANDLED
    named = _get(event.data.object, "metadata", "company_id")
    # Locked only when the event may change it: concurrent events apply in turn.
    company, not_found = await _company_of(named, customer, lock=handled)
    company_id = company.id if company is not None else None
    if not handled:
        return "ignored", f"event type {_shown(event.type)} is not one we act on", company_id
    if company is None:
        return "ignored", not_found, None
    if customer is None:
        return "ignored", "the event names no customer", company.id
    link = None
    if company.billing_customer_id is None:
        link = customer  # only a company named by metadata can have none
    elif company.billing_customer_id != customer:
        reason = (
            "the company named by metadata.company_id has another billing customer than "
            f"{_shown(customer)}"
        )
        return "ignored", reason, company.id
    effect = effect_of(event)
    if isinstance(effect, str):
        return "ignored", effect, company.id
    newest = company.billing_event_at
    if newest is not None and created < newest:
        return "stale", f"older than the event applied at {newest.isoformat()}", company.id
    if link is not None and await claim_billing_customer(link) is not None:
        reason = (
            f"billing customer {_shown(link)} is linked to another company than the one "
            "metadata.company_id names"
        )
        return "ignored", reason, company.id
    await apply_billing_change(
        company.id, plan=effect.plan, status=effect.status, event_at=created, customer_id=link
    )
    if link is None:
        return "applied", effect.note, company.id
    linked = f"the company is now linked to billing customer {_shown(link)}"
    return "applied", linked if effect.note is None else f"{effect.note}; {linked}", company.id


async def list_events(
    *, company_id: str | None = None, limit: int = 50, cursor: str | None = None
) -> BillingEventPage:
    """The operator's view of received events, newest first. Never exposed to tenants."""
    return await queries.page(company_id=company_id, limit=check_limit(limit), cursor=cursor)
