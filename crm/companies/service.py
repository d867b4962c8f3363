"""The company: the tenant itself, its settings, and what payment events change of it."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime

from crm.auth_changes import auth_changed
from crm.companies import queries
from crm.companies.schemas import Company, CompanyUpdate, Plan, SubscriptionStatus
from crm.contacts.phones import is_region
from crm.errors import Forbidden, NotFound, ValidationFailed
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


async def billing_state(customer_id: str, *, lock: bool) -> tuple[str, datetime | None] | None:
    """`(id, billing_event_at)` of the company paying as `customer_id`, or None.

    `billing_event_at` is when the newest payment event applied to it happened;
    `lock` holds the company's row until the transaction ends, so events that
    may change it apply in turn.
    """
    return await queries.billing_state(customer_id, lock=lock)


async def apply_billing_change(
    company_id: str,
    *,
    plan: Plan | None,
    status: SubscriptionStatus | None,
    event_at: datetime,
) -> None:
    """Apply a payment event's change (None: left as it is) that happened at `event_at`.

    Every process hears of it, so the new plan's rate limit holds from the next request.
    """
    await queries.set_billing(company_id, plan=plan, status=status, event_at=event_at)
    await auth_changed("company", company_id)
