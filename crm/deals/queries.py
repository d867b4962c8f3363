"""The deals' queries: every statement that reads or writes `deals`.

Each one is scoped to a company; those that start from the actor also apply
the policy (`DEALS`). The rules are in `crm.deals.service`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from crm import db
from crm.deals.schemas import Deal, DealPage
from crm.money import format_amount
from crm.pagination import Sort
from crm.policy import Actor, Permission
from crm.query import update_row
from crm.records import Locked, Owned, filter_id
from crm.sql import Columns

DEALS = Owned(
    table="deals",
    alias="d",
    owner_column="owner_id",
    noun="deal",
    view=Permission.DEALS_VIEW,
    create=Permission.DEALS_CREATE,
    update=Permission.DEALS_UPDATE,
    delete=Permission.DEALS_DELETE,
    reassign=Permission.DEALS_REASSIGN,
)


def _amount(amount: Decimal | None, currency: str | None) -> str | None:
    return None if amount is None else format_amount(amount, currency)


# The record's amount is a decimal string in the currency's units; stored, it is numeric.
COLUMNS = Columns(Deal, "d", computed={"amount": (("amount", "currency"), _amount)})
SORTS = {
    "-created_at": Sort("-created_at", "d.created_at", datetime),
    "created_at": Sort("created_at", "d.created_at", datetime),
    "amount": Sort("amount", "d.amount", Decimal, nullable=True),
    "-amount": Sort("-amount", "d.amount", Decimal, nullable=True),
    "expected_close_date": Sort(
        "expected_close_date", "d.expected_close_date", date, nullable=True
    ),
}


@dataclass(frozen=True, slots=True)
class NewDeal:
    """A deal checked and normalised, ready to insert."""

    id: str
    owner_id: str
    contact_id: str | None
    title: str
    stage: str
    amount: Decimal | None
    currency: str | None
    expected_close_date: date | None


async def list_page(
    actor: Actor,
    *,
    stage: str | None,
    owner_id: str | None,
    contact_id: str | None,
    sort: Sort,
    limit: int,
    cursor: str | None,
) -> DealPage:
    """A page of the visible deals matching every filter given."""
    query = DEALS.select(actor, COLUMNS.sql)
    if stage is not None:
        query.filter(f"d.stage = {query.placeholder(stage)}")
    filter_id(query, "d.owner_id", owner_id)
    filter_id(query, "d.contact_id", contact_id)
    return await query.page(
        sort=sort, limit=limit, cursor=cursor, build=COLUMNS.build, page=DealPage
    )


async def get_visible(actor: Actor, deal_id: str) -> Deal:
    """The deal if the actor may view it, else 404."""
    return await DEALS.fetch_visible(actor, deal_id, COLUMNS)


async def lock_for_change(actor: Actor, deal_id: str, action: Permission) -> Locked[Deal]:
    """The deal, locked, if the actor may view it (else 404) and do `action` (else 403)."""
    return await DEALS.fetch_for_change(actor, deal_id, COLUMNS, action)


_INSERT_DEALS = f"""
    INSERT INTO deals (id, company_id, owner_id, contact_id, title, stage, amount, currency,
        expected_close_date, closed_at, created_at, updated_at, version)
    SELECT t.id, $1, t.owner_id, t.contact_id, t.title, t.stage, t.amount, t.currency,
        t.expected_close_date, CASE WHEN t.stage IN ('won', 'lost') THEN now() END,
        now(), now(), 1
    FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::numeric[],
                $8::text[], $9::date[])
        AS t(id, owner_id, contact_id, title, stage, amount, currency, expected_close_date)
    RETURNING {COLUMNS.returning}
"""


async def insert_many(company_id: str, deals: Sequence[NewDeal]) -> list[Deal]:
    """Insert deals, closed now if their stage is won or lost: one statement."""
    rows = await db.connection().fetch(
        _INSERT_DEALS,
        company_id,
        [d.id for d in deals],
        [d.owner_id for d in deals],
        [d.contact_id for d in deals],
        [d.title for d in deals],
        [d.stage for d in deals],
        [d.amount for d in deals],
        [d.currency for d in deals],
        [d.expected_close_date for d in deals],
    )
    return [COLUMNS.build(row) for row in rows]


async def update(company_id: str, deal_id: str, changes: dict[str, object]) -> Deal:
    """Write `changes` (stored values: a numeric amount) to a deal, with a new version."""
    row = await update_row("deals", company_id, deal_id, changes, returning=COLUMNS.returning)
    return COLUMNS.build(row)


async def delete(company_id: str, deal_id: str) -> None:
    await db.connection().execute(
        "DELETE FROM deals WHERE company_id = $1 AND id = $2", company_id, deal_id
    )


async def unlink_contact(company_id: str, contact_id: str) -> None:
    """The contact's deals stay, without a contact (and with a new version)."""
    await db.connection().execute(
        """UPDATE deals SET contact_id = NULL, version = version + 1, updated_at = now()
           WHERE company_id = $1 AND contact_id = $2""",
        company_id,
        contact_id,
    )
