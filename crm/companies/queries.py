"""The SQL of companies: named queries of the `companies` table, one company each."""

from __future__ import annotations

from datetime import datetime

from crm import db
from crm.companies.schemas import BillingState, Company, Plan, SubscriptionStatus
from crm.ids import new_id, parse_id
from crm.sql import Columns, Params

COMPANY = Columns(
    Company,
    "c",
    computed={
        "plan": (("plan",), Plan),
        "subscription_status": (("subscription_status",), SubscriptionStatus),
    },
)
BILLING_STATE = Columns(BillingState, "c")
CONFLICTS = {
    "companies_billing_customer_id_key": "Another company has this billing_customer_id.",
}


async def find(company_id: str) -> Company | None:
    row = await db.connection().fetchrow(
        f"SELECT {COMPANY.sql} FROM companies c WHERE c.id = $1", company_id
    )
    return None if row is None else COMPANY.build(row)


async def lock_version(company_id: str) -> int | None:
    """Lock the company's row for the transaction; its version, or None if it is gone."""
    version: int | None = await db.connection().fetchval(
        "SELECT version FROM companies WHERE id = $1 FOR UPDATE", company_id
    )
    return version


async def update(company_id: str, changes: dict[str, object]) -> Company:
    """Apply `changes`, bumping `version` and `updated_at`."""
    params = Params(company_id)
    sets = [f"{column} = {params.placeholder(value)}" for column, value in changes.items()]
    sets += ["version = version + 1", "updated_at = now()"]
    row = await db.connection().fetchrow(
        f"UPDATE companies SET {', '.join(sets)} WHERE id = $1 RETURNING {COMPANY.returning}",
        *params.values,
    )
    assert row is not None  # the caller holds the company's row locked
    return COMPANY.build(row)


async def find_for_update(company_id: str) -> Company | None:
    """The company, its row locked for the transaction; None for an id that is not one."""
    canonical = parse_id(company_id)
    if canonical is None:
        return None
    row = await db.connection().fetchrow(
        f"SELECT {COMPANY.sql} FROM companies c WHERE c.id = $1 FOR UPDATE", canonical
    )
    return None if row is None else COMPANY.build(row)


async def set_billing_customer(company_id: str, customer_id: str | None) -> Company:
    """Link the company to `customer_id` (None: unlink); 409 if another company has it."""
    async with db.conflicts(CONFLICTS):
        row = await db.connection().fetchrow(
            f"""UPDATE companies
                SET billing_customer_id = $2, version = version + 1, updated_at = now()
                WHERE id = $1 RETURNING {COMPANY.returning}""",
            company_id,
            customer_id,
        )
    assert row is not None  # the caller holds the company's row
    return COMPANY.build(row)


async def slug_taken(slug: str) -> bool:
    found = await db.connection().fetchval("SELECT 1 FROM companies WHERE slug = $1", slug)
    return found is not None


async def insert(
    *,
    name: str,
    slug: str,
    plan: Plan,
    billing_customer_id: str | None,
    default_region: str | None,
) -> Company:
    async with db.conflicts(CONFLICTS):
        row = await db.connection().fetchrow(
            f"""INSERT INTO companies (id, name, slug, plan, subscription_status,
                    billing_customer_id, default_region, created_at, updated_at, version)
                VALUES ($1, $2, $3, $4, 'active', $5, $6, now(), now(), 1)
                RETURNING {COMPANY.returning}""",
            new_id(),
            name,
            slug,
            str(plan),
            billing_customer_id,
            default_region,
        )
    assert row is not None  # INSERT ... RETURNING returns the row it wrote
    return COMPANY.build(row)


async def billing_state_of_customer(customer_id: str, *, lock: bool) -> BillingState | None:
    """The billing state of the company whose payment customer is `customer_id`, or None."""
    row = await db.connection().fetchrow(
        f"SELECT {BILLING_STATE.sql} FROM companies c WHERE c.billing_customer_id = $1"
        + (" FOR UPDATE" if lock else ""),
        customer_id,
    )
    return None if row is None else BILLING_STATE.build(row)


async def claim_customer(customer_id: str) -> str | None:
    """The id of the company linked to `customer_id`, or None.

    Holds the customer id until the transaction ends (a transaction-scoped
    advisory lock), so two transactions linking one customer to two companies
    apply in turn: the second finds the first's link rather than a clash.
    """
    await db.connection().execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('crm.billing_customer:' || $1, 0))",
        customer_id,
    )
    holder: str | None = await db.connection().fetchval(
        "SELECT id FROM companies WHERE billing_customer_id = $1", customer_id
    )
    return holder


async def billing_state_of_company(company_id: str, *, lock: bool) -> BillingState | None:
    """The billing state of the company with this id; None for an id that is not one."""
    canonical = parse_id(company_id)
    if canonical is None:
        return None
    row = await db.connection().fetchrow(
        f"SELECT {BILLING_STATE.sql} FROM companies c WHERE c.id = $1"
        + (" FOR UPDATE" if lock else ""),
        canonical,
    )
    return None if row is None else BILLING_STATE.build(row)


async def set_billing(
    company_id: str,
    *,
    plan: Plan | None,
    status: SubscriptionStatus | None,
    event_at: datetime,
    customer_id: str | None,
) -> None:
    """Set what a payment event changed (None: left as it is) and when that event happened.

    `customer_id` links a company that has no payment customer yet; one that has
    keeps its own.
    """
    async with db.conflicts(CONFLICTS):
        await db.connection().execute(
            """UPDATE companies
               SET plan = coalesce($2, plan),
                   subscription_status = coalesce($3, subscription_status),
                   billing_customer_id = coalesce(billing_customer_id, $5),
                   billing_event_at = $4, version = version + 1, updated_at = now()
               WHERE id = $1""",
            company_id,
            None if plan is None else str(plan),
            None if status is None else str(status),
            event_at,
            customer_id,
        )
