"""Contacts: the people a company works with, under the owned-record policy."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from crm.contacts import queries
from crm.contacts.phones import InvalidPhone, to_e164
from crm.contacts.queries import CONTACTS, SORTS, NewContact
from crm.contacts.schemas import (
    Contact,
    ContactCreate,
    ContactPage,
    ContactUpdate,
    Phone,
    PhoneInput,
)
from crm.contacts.search import document_parts, to_tsquery, words
from crm.errors import FieldError, ValidationFailed
from crm.ids import new_id
from crm.pagination import check_limit, pick_sort
from crm.policy import Actor
from crm.query import check_version
from crm.records import require_visible


def _to_e164(
    phones: list[PhoneInput], region: str | None, at: str
) -> tuple[list[Phone], list[FieldError]]:
    """Phones in E.164, and an error naming each one that is not a phone number."""
    result, errors = [], []
    for index, phone in enumerate(phones):
        try:
            result.append(Phone(number=to_e164(phone.number, region), label=phone.label))
        except InvalidPhone as exc:
            errors.append(FieldError(f"{at}phones[{index}].number", str(exc)))
    return result, errors


async def _normalise_phones(actor: Actor, phones: list[PhoneInput]) -> list[Phone]:
    region = await queries.default_region(actor.company_id) if phones else None
    result, errors = _to_e164(phones, region, "")
    if errors:
        raise ValidationFailed(errors)
    return result


def _clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))


async def list_contacts(
    actor: Actor,
    *,
    owner_id: str | None = None,
    tag: str | None = None,
    phone: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ContactPage:
    """Visible contacts, filtered; with `q`, ranked by relevance unless `sort` is given."""
    check_limit(limit)
    number = None
    if phone is not None:
        try:
            number = to_e164(phone, await queries.default_region(actor.company_id))
        except InvalidPhone as exc:
            raise ValidationFailed.one("phone", str(exc)) from None
    tsquery = None
    if q is not None:
        tsquery = to_tsquery(q)
        if tsquery is None:
            raise ValidationFailed.one("q", "must contain at least one letter or digit")
    ranked = tsquery is not None and sort is None
    return await queries.list_page(
        actor,
        owner_id=owner_id,
        tag=tag,
        phone=number,
        tsquery=tsquery,
        exact_name=words(q),
        sort=None if ranked else pick_sort(SORTS, sort, "-created_at"),
        limit=limit,
        cursor=cursor,
    )


async def get_contact(actor: Actor, contact_id: str) -> Contact:
    return await queries.get_visible(actor, contact_id)


def _require_identity(
    first: str, last: str, email: str | None, company: str | None, field: str = "first_name"
) -> None:
    if not (first.strip() or last.strip() or email or (company or "").strip()):
        raise ValidationFailed.one(field, "a contact needs a name, an email or a company name")


async def _prepare(actor: Actor, items: Sequence[ContactCreate], prefix: str) -> list[NewContact]:
    """Check and normalise new contacts: owners in scope, phones in E.164, tags cleaned.

    One query per distinct owner and one for the company's region, whatever the
    number of contacts. Field names carry `prefix` (`items[3].` in an import).
    """
    actor.require_key_scope(CONTACTS.create)
    owners: dict[str, str] = {}
    errors: list[FieldError] = []
    region = (
        await queries.default_region(actor.company_id)
        if any(item.phones for item in items)
        else None
    )
    prepared = []
    for index, item in enumerate(items):
        at = prefix.format(index=index)
        wanted = item.owner_id or actor.agent_id
        if wanted not in owners:
            owners[wanted] = await CONTACTS.require_owner(
                actor, wanted, f"{at}owner_id", CONTACTS.create
            )
        try:
            _require_identity(
                item.first_name, item.last_name, item.email, item.company_name, f"{at}first_name"
            )
        except ValidationFailed as refused:
            errors += refused.errors
        phones, wrong = _to_e164(item.phones, region, at)
        errors += wrong
        prepared.append(
            NewContact(
                id=new_id(),
                owner_id=owners[wanted],
                first_name=item.first_name.strip(),
                last_name=item.last_name.strip(),
                email=item.email,
                company_name=item.company_name,
                tags=_clean_tags(item.tags),
                notes=item.notes,
                phones=phones,
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return prepared


async def create_contact(actor: Actor, data: ContactCreate) -> Contact:
    [contact] = await _prepare(actor, [data], prefix="")
    await queries.insert_many(actor.company_id, [contact])
    return await queries.get_visible(actor, contact.id)


async def import_contacts(actor: Actor, items: Sequence[ContactCreate]) -> list[str]:
    """Create many contacts at once, with the checks and normalisation of `create_contact`.

    All or nothing: one refused item refuses the import, naming `items[i].<field>`.
    Returns the new ids, in order.
    """
    prepared = await _prepare(actor, items, prefix="items[{index}].")
    await queries.insert_many(actor.company_id, prepared)
    return [contact.id for contact in prepared]


async def update_contact(
    actor: Actor, contact_id: str, changes: ContactUpdate, *, expected_version: int | None = None
) -> Contact:
    locked = await queries.lock_for_change(actor, contact_id, CONTACTS.update)
    current = locked.record
    check_version(current.version, expected_version)
    values = changes.given()
    phones = values.pop("phones", None)
    await CONTACTS.check_reassignment(actor, locked, values)
    for name in ("first_name", "last_name"):
        if name in values:
            values[name] = values[name].strip()
    if "tags" in values:
        values["tags"] = _clean_tags(values["tags"])
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    merged = msgspec.structs.replace(current, **values)
    _require_identity(merged.first_name, merged.last_name, merged.email, merged.company_name)
    normalised = await _normalise_phones(actor, phones) if phones is not None else None
    if not changed and (normalised is None or normalised == current.phones):
        return current
    search = None
    if {"first_name", "last_name", "email", "company_name"} & set(changed):
        search = document_parts(
            merged.first_name, merged.last_name, merged.email, merged.company_name
        )
    await queries.update(actor.company_id, current.id, changed, search=search)
    if normalised is not None:
        await queries.replace_phones(actor.company_id, current.id, normalised)
    return await queries.get_visible(actor, current.id)


async def delete_contact(actor: Actor, contact_id: str) -> None:
    """Delete a contact with its tasks; its deals stay, without a contact."""
    # Imported here: deals and tasks name contacts, so they import this module.
    from crm.deals import service as deals
    from crm.tasks import service as tasks

    locked = await queries.lock_for_change(actor, contact_id, CONTACTS.delete)
    canonical = locked.record.id
    await deals.unlink_contact(actor, canonical)
    await tasks.delete_for_contact(actor, canonical)
    await queries.delete(actor.company_id, canonical)


async def visible_contact_ids(actor: Actor, ids: set[str]) -> set[str]:
    """Which of `ids` name contacts the actor may view (canonical ids); one query."""
    return await CONTACTS.visible_ids(actor, ids)


async def require_visible_contact(actor: Actor, contact_id: str, field: str) -> str:
    """A contact named in a body: its canonical id if visible, else 422 naming `field`."""
    return await require_visible(actor, CONTACTS, contact_id, field)


async def lock_for_next_task_due(actor: Actor, contact_ids: set[str | None]) -> list[str]:
    """Lock the contacts whose next task may change, in id order; returns their ids.

    Called by a task change before it writes, so two concurrent changes on one
    contact apply one after the other (see `refresh_next_task_due`).
    """
    return await queries.lock_in_id_order(actor.company_id, contact_ids)


async def refresh_next_task_due(actor: Actor, contact_ids: list[str]) -> None:
    """Make the locked contacts' `next_task_due_at` exact after their tasks changed."""
    await queries.refresh_next_task_due(actor.company_id, contact_ids)
