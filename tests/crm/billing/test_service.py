"""Billing: what a payment event does to its company, applied by the service."""

from __future__ import annotations

import time

import httpx

from crm import db
from crm.billing.schemas import Event, EventData
from crm.billing.service import apply_event
from crm.companies.schemas import Plan, SubscriptionStatus
from crm.companies.service import get_company
from tests.factories import make_company, unique


async def test_an_unknown_subscription_status_sets_the_plan_and_keeps_the_status(
    client: httpx.AsyncClient,
) -> None:
    customer = unique("cus")
    tenant = await make_company(client, plan="free", billing_customer_id=customer)
    event = Event(
        id=unique("evt"),
        type="customer.subscription.updated",
        created=int(time.time()),
        data=EventData(
            object={
                "customer": customer,
                "status": "paused",
                "items": {"data": [{"price": {"lookup_key": "pro"}}]},
            }
        ),
    )
    async with db.transaction():
        receipt = await apply_event(event)
        company = await get_company(tenant.owner.actor)
    assert (receipt.outcome, receipt.reason) == (
        "applied",
        "subscription status 'paused' left as it was",
    )
    assert (company.plan, company.subscription_status) == (Plan.PRO, SubscriptionStatus.ACTIVE)
