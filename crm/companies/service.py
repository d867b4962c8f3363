"""The company: the tenant itself, its settings, and what payment events change of it."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime

from crm.auth_changes import auth_changed
from crm.companies import queries
from crm.companies.schemas import (
    BillingState,
    Company,
    CompanyBillingLink,
    CompanyUpdate,
    Plan,
    SubscriptionStatus,
)
from crm.contacts.phones import is_region
from crm.errors import Conflict, Forbidden, NotFound, ValidationFailed
from crm.policy import Actor, Permission, Scope
from crm.query import check_version


def _check_region(region: str | None) -> None:
    if region is not None and not is_region(region):
        raise ValidationFailed.one("default_region", "is not an ISO 3166 country code")


async def find_company(company_id: str) -> Company | None:
    """The company with this id, with no permission asked: for its own members' `/me`."""
    return await queries.find(company_id)


async def get_company(actor: Actor) -> Company:
    actor.require_key_scope(Permission.COMPANY_VIEW)
    company = await queries.find(actor.company_id)
    if company is None:
        raise NotFound("The company no longer exists.")
    return company


async def update_company(
    actor: Actor, changes: CompanyUpdate, *, expected_version: int | None = None
) -> Company:
    scope = actor.scope_for(Permission.COMPANY_UPDATE)
    version = await queries.lock_version(actor.company_id)
    if version is None:
        raise NotFound("The company no longer exists.")
    if scope is Scope.NONE:
        raise Forbidden("Only an owner may change the company.")
    check_version(version, expected_version)
    values = changes.given()
    _check_region(values.get("default_region"))
    if not values:
        return await get_company(actor)
    updated = await queries.update(actor.company_id, values)
    await auth_changed("company", actor.company_id)
    return updated


async def link_billing_customer(company_id: str, data: CompanyBillingLink) -> Company:
    """Link a company to its payment customer, or unlink it with null (operator only).

    The operator alone may do this (and a payment event that names the company in
    its metadata, for a company with no customer yet): it decides which company
    every later payment event changes. Unknown company: 404. A customer that
    another company has: 409 naming that company, which the operator may know.
    Unlinking is allowed so that a customer linked by mistake can be moved: the
    company then follows no payment event until it is linked again, and its
    plan and status stay as they are.
    """
    company = await queries.find_for_update(company_id)
    if company is None:
        raise NotFound("No company has this id.")
    customer_id = data.billing_customer_id
    if customer_id == company.billing_customer_id:
        return company
    if customer_id is not None:
        holder = await queries.claim_customer(customer_id)
        if holder is not None:
            raise Conflict(f"Company {holder} has billing customer {customer_id!r}.")
    return await queries.set_billing_customer(company.id, customer_id)


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60] or "company"


async def create_company(
    *, name: str, plan: Plan, billing_customer_id: str | None, default_region: str | None
) -> Company:
    """A new company with an active subscription and a slug of its own (operator only)."""
    _check_region(default_region)
    slug = slugify(name)
    if await queries.slug_taken(slug):
        slug = f"{slug}-{secrets.token_hex(3)}"
    return await queries.insert(
        name=name,
        slug=slug,
        plan=plan,
        billing_customer_id=billing_customer_id,
        default_region=default_region,
    )


def effective_plan(plan: str, subscription_status: str) -> Plan:
    """The plan whose limits apply: `free` once the subscription is cancelled.

    A plan this code does not know also gets the `free` limits.
    """
    if subscription_status == SubscriptionStatus.CANCELLED:
        return Plan.FREE
    try:
        return Plan(plan)
    except ValueError:
        return Plan.FREE


async def billing_state_of_customer(customer_id: str, *, lock: bool) -> BillingState | None:
    """The billing state of the company paying as `customer_id`, or None.

    `billing_event_at` is when the newest payment event applied to it happened;
    `lock` holds the company's row until the transaction ends, so events that
    may change it apply in turn.
    """
    return await queries.billing_state_of_customer(customer_id, lock=lock)


async def billing_state_of_company(company_id: str, *, lock: bool) -> BillingState | None:
    """The billing state of the company with id `company_id` (any text), or None; `lock` as above."""
    return await queries.billing_state_of_company(company_id, lock=lock)


async def claim_billing_customer(customer_id: str) -> str | None:
    """The id of the company linked to `customer_id`, or None if it is free.

    The customer id is held until the transaction ends, so whoever links it
    next finds this transaction's link instead of clashing with it.
    """
    return await queries.claim_customer(customer_id)


async def apply_billing_change(
    company_id: str,
    *,
    plan: Plan | None,
    status: SubscriptionStatus | None,
    event_at: datetime,
    customer_id: str | None = None,
) -> None:
    """Apply a payment event's change (None: left as it is) that happened at `event_at`.

    `customer_id` links a company with no payment customer yet to the event's;
    a company that has one keeps it. Every process hears of the change, so the
    new plan's rate limit holds from the next request.
    """
    await queries.set_billing(
        company_id, plan=plan, status=status, event_at=event_at, customer_id=customer_id
    )
    await auth_changed("company", company_id)
