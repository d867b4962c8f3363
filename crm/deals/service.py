"""Deals: opportunities moving through pipeline stages, under the owned-record policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm import db
from crm.contacts.service import CONTACTS
from crm.deals.schemas import Deal, DealCreate, DealPage, DealUpdate
from crm.errors import FieldError, ValidationFailed
from crm.ids import new_id, parse_id
from crm.money import InvalidMoney, check_currency, format_amount, parse_amount
from crm.pagination import Sort, check_limit, pick_sort
from crm.policy import Actor, Permission
from crm.query import check_version, update_row
from crm.records import Owned, filter_id, require_visible

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
FIELDS = (
    "id, title, contact_id, owner_id, stage, amount, currency, expected_close_date, "
    "closed_at, created_at, updated_at, version"
)
COLUMNS = ", ".join(f"d.{name.strip()}" for name in FIELDS.split(","))
SORTS = {
    "-created_at": Sort("-created_at", "d.created_at", datetime),
    "created_at": Sort("created_at", "d.created_at", datetime),
    "amount": Sort("amount", "d.amount", Decimal, nullable=True),
    "-amount": Sort("-amount", "d.amount", Decimal, nullable=True),
    "expected_close_date": Sort(
        "expected_close_date", "d.expected_close_date", date, nullable=True
    ),
}
CLOSED_STAGES = frozenset({"won", "lost"})


def _deal(row: Any) -> Deal:
    # By position (the order of FIELDS): cheaper than lookups by name, per row.
    (
        deal_id,
        title,
        contact_id,
        owner_id,
        stage,
        amount,
        currency,
        expected_close_date,
        closed_at,
        created_at,
        updated_at,
        version,
    ) = row[:12]
    return Deal(
        id=deal_id,
        title=title,
        contact_id=contact_id,
        owner_id=owner_id,
        stage=stage,
        amount=None if amount is None else format_amount(amount, currency),
        currency=currency,
        expected_close_date=expected_close_date,
        closed_at=closed_at,
        created_at=created_at,
        updated_at=updated_at,
        version=version,
    )


def _money(amount: str | Decimal | None, currency: str | None, at: str = "") -> Decimal | None:
    """The amount to store, checked against its currency; 422 naming the field at fault."""
    if currency is not None:
        try:
            check_currency(currency)
        except InvalidMoney as exc:
            raise ValidationFailed.one(f"{at}currency", str(exc)) from None
    if amount is None:
        return None
    if currency is None:
        raise ValidationFailed.one(f"{at}currency", "is required with an amount")
    try:
        return parse_amount(str(amount), currency)
    except InvalidMoney as exc:
        raise ValidationFailed.one(f"{at}amount", str(exc)) from None


async def list_deals(
    actor: Actor,
    *,
    stage: str | None = None,
    owner_id: str | None = None,
    contact_id: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DealPage:
    order = pick_sort(SORTS, sort, "-created_at")
    query = DEALS.select(actor, COLUMNS)
    if stage is not None:
        query.filter(f"d.stage = {query.placeholder(stage)}")
    filter_id(query, "d.owner_id", owner_id)
    filter_id(query, "d.contact_id", contact_id)
    return await query.page(
        sort=order, limit=check_limit(limit), cursor=cursor, build=_deal, page=DealPage
    )


async def get_deal(actor: Actor, deal_id: str) -> Deal:
    return _deal(await DEALS.fetch_visible(actor, deal_id, COLUMNS))


_INSERT_DEALS = f"""
    INSERT INTO deals (id, company_id, owner_id, contact_id, title, stage, amount, currency,
        expected_close_date, closed_at, created_at, updated_at, version)
    SELECT t.id, $1, t.owner_id, t.contact_id, t.title, t.stage, t.amount, t.currency,
        t.expected_close_date, CASE WHEN t.stage IN ('won', 'lost') THEN now() END,
        now(), now(), 1
    FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::numeric[],
                $8::text[], $9::date[])
        AS t(id, owner_id, contact_id, title, stage, amount, currency, expected_close_date)
    RETURNING {FIELDS}
"""


async def _create(actor: Actor, items: Sequence[DealCreate], prefix: str) -> list[Any]:
    """Check and insert deals: a fixed number of queries per distinct owner."""
    actor.require_key_scope(DEALS.create)
    owners: dict[str, str] = {}
    for index, item in enumerate(items):
        wanted = item.owner_id or actor.agent_id
        if wanted not in owners:
            field = f"{prefix.format(index=index)}owner_id"
            owners[wanted] = await DEALS.require_owner(actor, wanted, field, DEALS.create)
    contacts = await CONTACTS.visible_ids(actor, {i.contact_id for i in items if i.contact_id})
    errors = [
        FieldError(f"{prefix.format(index=index)}contact_id", "No such contact.")
        for index, item in enumerate(items)
        if item.contact_id is not None and parse_id(item.contact_id) not in contacts
    ]
    if errors:
        raise ValidationFailed(errors)
    amounts = [
        _money(item.amount, item.currency, prefix.format(index=index))
        for index, item in enumerate(items)
    ]
    rows = await db.connection().fetch(
        _INSERT_DEALS,
        actor.company_id,
        [new_id() for _ in items],
        [owners[i.owner_id or actor.agent_id] for i in items],
        [parse_id(i.contact_id) if i.contact_id else None for i in items],
        [i.title for i in items],
        [i.stage for i in items],
        amounts,
        [i.currency for i in items],
        [i.expected_close_date for i in items],
    )
    return list(rows)


async def create_deal(actor: Actor, data: DealCreate) -> Deal:
    [row] = await _create(actor, [data], prefix="")
    return _deal(row)


async def import_deals(actor: Actor, items: Sequence[DealCreate]) -> list[str]:
    """Create many deals at once, with the checks of `create_deal`; all or nothing."""
    return [row["id"] for row in await _create(actor, items, prefix="items[{index}].")]


async def update_deal(
    actor: Actor, deal_id: str, changes: DealUpdate, *, expected_version: int | None = None
) -> Deal:
    row = await DEALS.fetch_for_change(actor, deal_id, COLUMNS, DEALS.update)
    check_version(row["version"], expected_version)
    values = changes.given()
    await DEALS.check_reassignment(actor, row, values)
    if values.get("contact_id") is not None and values["contact_id"] != row["contact_id"]:
        values["contact_id"] = await require_visible(
            actor, CONTACTS, values["contact_id"], "contact_id"
        )
    if "amount" in values or "currency" in values:
        currency = values.get("currency", row["currency"])
        amount = values.get("amount", row["amount"])
        values["amount"] = _money(amount, currency)
    changed = {k: v for k, v in values.items() if row[k] != v}
    if "stage" in changed:
        # Moving into won or lost closes the deal now; moving anywhere else reopens it.
        closing = changed["stage"] in CLOSED_STAGES
        changed["closed_at"] = await db.connection().fetchval("SELECT now()") if closing else None
    if not changed:
        return _deal(row)
    updated = await update_row("deals", actor.company_id, row["id"], changed, returning=FIELDS)
    return _deal(updated)


async def delete_deal(actor: Actor, deal_id: str) -> None:
    """Delete a deal; its tasks stay, without a deal."""
    row = await DEALS.fetch_for_change(actor, deal_id, "d.id", DEALS.delete)
    conn = db.connection()
    await conn.execute(
        """UPDATE tasks SET deal_id = NULL, version = version + 1, updated_at = now()
           WHERE company_id = $1 AND deal_id = $2""",
        actor.company_id,
        row["id"],
    )
    await conn.execute(
        "DELETE FROM deals WHERE company_id = $1 AND id = $2", actor.company_id, row["id"]
    )
