"""Deals: opportunities moving through pipeline stages, under the owned-record policy."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from crm.contacts import service as contacts
from crm.deals import queries
from crm.deals.queries import DEALS, SORTS, NewDeal
from crm.deals.schemas import Deal, DealCreate, DealPage, DealUpdate
from crm.errors import FieldError, ValidationFailed
from crm.ids import new_id, parse_id
from crm.money import InvalidMoney, check_currency, parse_amount
from crm.pagination import check_limit, pick_sort
from crm.policy import Actor
from crm.query import check_version, transaction_time
from crm.records import require_visible

CLOSED_STAGES = frozenset({"won", "lost"})


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
    return await queries.list_page(
        actor,
        stage=stage,
        owner_id=owner_id,
        contact_id=contact_id,
        sort=pick_sort(SORTS, sort, "-created_at"),
        limit=check_limit(limit),
        cursor=cursor,
    )


async def get_deal(actor: Actor, deal_id: str) -> Deal:
    return await queries.get_visible(actor, deal_id)


async def _create(actor: Actor, items: Sequence[DealCreate], prefix: str) -> list[Deal]:
    """Check and insert deals: a fixed number of queries per distinct owner."""
    actor.require_key_scope(DEALS.create)
    owners: dict[str, str] = {}
    for index, item in enumerate(items):
        wanted = item.owner_id or actor.agent_id
        if wanted not in owners:
            field = f"{prefix.format(index=index)}owner_id"
            owners[wanted] = await DEALS.require_owner(actor, wanted, field, DEALS.create)
    visible = await contacts.visible_contact_ids(
        actor, {i.contact_id for i in items if i.contact_id}
    )
    errors = [
        FieldError(f"{prefix.format(index=index)}contact_id", "No such contact.")
        for index, item in enumerate(items)
        if item.contact_id is not None and parse_id(item.contact_id) not in visible
    ]
    if errors:
        raise ValidationFailed(errors)
    amounts = [
        _money(item.amount, item.currency, prefix.format(index=index))
        for index, item in enumerate(items)
    ]
    return await queries.insert_many(
        actor.company_id,
        [
            NewDeal(
                id=new_id(),
                owner_id=owners[item.owner_id or actor.agent_id],
                contact_id=parse_id(item.contact_id) if item.contact_id else None,
                title=item.title,
                stage=item.stage,
                amount=amount,
                currency=item.currency,
                expected_close_date=item.expected_close_date,
            )
            for item, amount in zip(items, amounts, strict=True)
        ],
    )


async def create_deal(actor: Actor, data: DealCreate) -> Deal:
    [deal] = await _create(actor, [data], prefix="")
    return deal


async def import_deals(actor: Actor, items: Sequence[DealCreate]) -> list[str]:
    """Create many deals at once, with the checks of `create_deal`; all or nothing."""
    return [deal.id for deal in await _create(actor, items, prefix="items[{index}].")]


def _stored(deal: Deal, field: str) -> object:
    """A field of `deal` as the table holds it: the amount is a number there."""
    value = getattr(deal, field)
    return Decimal(value) if field == "amount" and value is not None else value


async def update_deal(
    actor: Actor, deal_id: str, changes: DealUpdate, *, expected_version: int | None = None
) -> Deal:
    locked = await queries.lock_for_change(actor, deal_id, DEALS.update)
    current = locked.record
    check_version(current.version, expected_version)
    values = changes.given()
    await DEALS.check_reassignment(actor, locked, values)
    if values.get("contact_id") is not None and values["contact_id"] != current.contact_id:
        values["contact_id"] = await contacts.require_visible_contact(
            actor, values["contact_id"], "contact_id"
        )
    if "amount" in values or "currency" in values:
        currency = values.get("currency", current.currency)
        amount = values.get("amount", current.amount)
        values["amount"] = _money(amount, currency)
    changed = {k: v for k, v in values.items() if _stored(current, k) != v}
    if "stage" in changed:
        # Moving into won or lost closes the deal now; moving anywhere else reopens it.
        closing = changed["stage"] in CLOSED_STAGES
        changed["closed_at"] = await transaction_time() if closing else None
    if not changed:
        return current
    return await queries.update(actor.company_id, current.id, changed)


async def delete_deal(actor: Actor, deal_id: str) -> None:
    """Delete a deal; its tasks stay, without a deal."""
    # Imported here: tasks name deals, so they import this module.
    from crm.tasks import service as tasks

    locked = await queries.lock_for_change(actor, deal_id, DEALS.delete)
    await tasks.unlink_deal(actor, locked.record.id)
    await queries.delete(actor.company_id, locked.record.id)


async def unlink_contact(actor: Actor, contact_id: str) -> None:
    """A contact is being deleted: its deals stay, without a contact."""
    await queries.unlink_contact(actor.company_id, contact_id)


async def visible_deal_ids(actor: Actor, ids: set[str]) -> set[str]:
    """Which of `ids` name deals the actor may view (canonical ids); one query."""
    return await DEALS.visible_ids(actor, ids)


async def require_visible_deal(actor: Actor, deal_id: str, field: str) -> str:
    """A deal named in a body: its canonical id if visible, else 422 naming `field`."""
    return await require_visible(actor, DEALS, deal_id, field)
