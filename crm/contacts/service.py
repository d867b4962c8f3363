"""Contacts: the people a company works with, under the owned-record policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from crm import db
from crm.contacts.phones import InvalidPhone, to_e164
from crm.contacts.schemas import (
    Contact,
    ContactCreate,
    ContactPage,
    ContactUpdate,
    Phone,
    PhoneInput,
)
from crm.contacts.search import DOCUMENT_SQL, document_parts, to_tsquery
from crm.errors import FieldError, Forbidden, ValidationFailed
from crm.ids import new_id
from crm.pagination import Sort, check_limit, pick_sort
from crm.policy import Actor, Permission
from crm.query import TenantSelect, check_version
from crm.records import Owned, filter_id

CONTACTS = Owned(
    table="contacts",
    alias="c",
    owner_column="owner_id",
    noun="contact",
    view=Permission.CONTACTS_VIEW,
    create=Permission.CONTACTS_CREATE,
    update=Permission.CONTACTS_UPDATE,
    delete=Permission.CONTACTS_DELETE,
    reassign=Permission.CONTACTS_REASSIGN,
)

# Phones ride along as one JSON array per row: a page is one query, whatever its length.
COLUMNS = (
    "c.id, c.first_name, c.last_name, c.email, c.company_name, c.owner_id, c.tags, c.notes, "
    "c.next_task_due_at, c.created_at, c.updated_at, c.version, "
    "(SELECT json_agg(json_build_object('number', p.number, 'label', p.label) "
    "ORDER BY p.position) FROM contact_phones p "
    "WHERE p.company_id = c.company_id AND p.contact_id = c.id) AS phones"
)
SORTS = {
    "-created_at": Sort("-created_at", "c.created_at", datetime),
    "created_at": Sort("created_at", "c.created_at", datetime),
    "-updated_at": Sort("-updated_at", "c.updated_at", datetime),
    "updated_at": Sort("updated_at", "c.updated_at", datetime),
    "next_task_due_at": Sort("next_task_due_at", "c.next_task_due_at", datetime, nullable=True),
}
_phones = msgspec.json.Decoder(list[Phone])


def _contact(row: Any) -> Contact:
    first, last = row["first_name"], row["last_name"]
    phones = row["phones"]
    return Contact(
        id=row["id"],
        first_name=first,
        last_name=last,
        full_name=f"{first} {last}" if first and last else first or last,
        email=row["email"],
        phones=_phones.decode(phones) if phones else [],
        company_name=row["company_name"],
        owner_id=row["owner_id"],
        tags=row["tags"],
        notes=row["notes"],
        next_task_due_at=row["next_task_due_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


async def _default_region(actor: Actor) -> str | None:
    region: str | None = await db.connection().fetchval(
        "SELECT default_region FROM companies WHERE id = $1", actor.company_id
    )
    return region


async def _normalise_phones(actor: Actor, phones: list[PhoneInput]) -> list[Phone]:
    region = await _default_region(actor) if phones else None
    result, errors = [], []
    for index, phone in enumerate(phones):
        try:
            result.append(Phone(number=to_e164(phone.number, region), label=phone.label))
        except InvalidPhone as exc:
            errors.append(FieldError(f"phones[{index}].number", str(exc)))
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
    query = CONTACTS.select(actor, COLUMNS)
    filter_id(query, "c.owner_id", owner_id)
    if tag is not None:
        query.filter(f"c.tags @> ARRAY[{query.add(tag)}]::varchar[]")
    if phone is not None:
        try:
            number = to_e164(phone, await _default_region(actor))
        except InvalidPhone as exc:
            raise ValidationFailed.one("phone", str(exc)) from None
        query.filter(
            "c.id IN (SELECT p.contact_id FROM contact_phones p "
            f"WHERE p.company_id = $1 AND p.number = {query.add(number)})"
        )
    if q is not None:
        tsquery = to_tsquery(q)
        if tsquery is None:
            raise ValidationFailed.one("q", "must contain at least one letter or digit")
        placeholder = query.add(tsquery)
        query.filter(f"c.search @@ to_tsquery('simple', {placeholder})")
        if sort is None:
            return await _ranked(query, placeholder, limit, cursor)
    order = pick_sort(SORTS, sort, "-created_at")
    return await query.page(
        sort=order, limit=limit, cursor=cursor, build=_contact, page=ContactPage
    )


async def _ranked(query: TenantSelect, tsquery: str, limit: int, cursor: str | None) -> ContactPage:
    rank = f"ts_rank(c.search, to_tsquery('simple', {tsquery}))"
    query.columns += f", {rank} AS relevance"
    relevance = Sort("-relevance", rank, float)
    return await query.page(
        sort=relevance,
        limit=limit,
        cursor=cursor,
        build=_contact,
        page=ContactPage,
        sort_key="relevance",
    )


async def get_contact(actor: Actor, contact_id: str) -> Contact:
    return _contact(await CONTACTS.fetch_visible(actor, contact_id, COLUMNS))


def _require_identity(first: str, last: str, email: str | None, company: str | None) -> None:
    if not (first.strip() or last.strip() or email or (company or "").strip()):
        raise ValidationFailed.one(
            "first_name", "a contact needs a name, an email or a company name"
        )


async def create_contact(actor: Actor, data: ContactCreate) -> Contact:
    actor.scope(CONTACTS.create)
    owner_id = await CONTACTS.require_owner(
        actor, data.owner_id or actor.agent_id, "owner_id", CONTACTS.create
    )
    _require_identity(data.first_name, data.last_name, data.email, data.company_name)
    phones = await _normalise_phones(actor, data.phones)
    contact_id = new_id()
    names, email, company = document_parts(
        data.first_name, data.last_name, data.email, data.company_name
    )
    document = DOCUMENT_SQL.format(names="$10", email="$11", company="$12")
    await db.connection().execute(
        f"""INSERT INTO contacts (id, company_id, owner_id, first_name, last_name, email,
                company_name, tags, notes, search, created_at, updated_at, version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {document}, now(), now(), 1)""",
        contact_id,
        actor.company_id,
        owner_id,
        data.first_name.strip(),
        data.last_name.strip(),
        data.email,
        data.company_name,
        _clean_tags(data.tags),
        data.notes,
        names,
        email,
        company,
    )
    await _write_phones(actor.company_id, contact_id, phones, replace=False)
    return _contact(await CONTACTS.fetch_visible(actor, contact_id, COLUMNS))


async def _write_phones(
    company_id: str, contact_id: str, phones: list[Phone], *, replace: bool
) -> None:
    conn = db.connection()
    if replace:
        await conn.execute(
            "DELETE FROM contact_phones WHERE company_id = $1 AND contact_id = $2",
            company_id,
            contact_id,
        )
    if phones:
        await conn.executemany(
            """INSERT INTO contact_phones (id, company_id, contact_id, position, number, label)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            [
                (new_id(), company_id, contact_id, position, phone.number, phone.label)
                for position, phone in enumerate(phones)
            ],
        )


async def update_contact(
    actor: Actor, contact_id: str, changes: ContactUpdate, *, expected_version: int | None = None
) -> Contact:
    row = await CONTACTS.fetch_for_change(actor, contact_id, COLUMNS, CONTACTS.update)
    check_version(row["version"], expected_version)
    values = {k: v for k, v in msgspec.structs.asdict(changes).items() if v is not msgspec.UNSET}
    phones = values.pop("phones", None)
    if "owner_id" in values and values["owner_id"] != row["owner_id"]:
        if not row["can_reassign"]:
            raise Forbidden("You may not reassign this contact.")
        values["owner_id"] = await CONTACTS.require_owner(
            actor, values["owner_id"], "owner_id", CONTACTS.reassign
        )
    for name in ("first_name", "last_name"):
        if name in values:
            values[name] = values[name].strip()
    if "tags" in values:
        values["tags"] = _clean_tags(values["tags"])
    merged = {**dict(row), **values}
    _require_identity(
        merged["first_name"], merged["last_name"], merged["email"], merged["company_name"]
    )
    changed = {k: v for k, v in values.items() if row[k] != v}
    normalised = await _normalise_phones(actor, phones) if phones is not None else None
    current_phones = _phones.decode(row["phones"]) if row["phones"] else []
    if not changed and (normalised is None or normalised == current_phones):
        return _contact(row)
    conn = db.connection()
    assignments = [f"{column} = ${i + 3}" for i, column in enumerate(changed)]
    params: list[object] = [actor.company_id, row["id"], *changed.values()]
    if {"first_name", "last_name", "email", "company_name"} & set(changed):
        parts = document_parts(
            merged["first_name"], merged["last_name"], merged["email"], merged["company_name"]
        )
        base = len(params)
        document = DOCUMENT_SQL.format(
            names=f"${base + 1}", email=f"${base + 2}", company=f"${base + 3}"
        )
        assignments.append(f"search = {document}")
        params.extend(parts)
    assignments += ["version = version + 1", "updated_at = now()"]
    await conn.execute(
        f"UPDATE contacts SET {', '.join(assignments)} WHERE company_id = $1 AND id = $2",
        *params,
    )
    if normalised is not None:
        await _write_phones(actor.company_id, row["id"], normalised, replace=True)
    return _contact(await CONTACTS.fetch_visible(actor, row["id"], COLUMNS))


async def delete_contact(actor: Actor, contact_id: str) -> None:
    """Delete a contact with its tasks; its deals stay, without a contact."""
    row = await CONTACTS.fetch_for_change(actor, contact_id, "c.id", CONTACTS.delete)
    conn = db.connection()
    await conn.execute(
        """UPDATE deals SET contact_id = NULL, version = version + 1, updated_at = now()
           WHERE company_id = $1 AND contact_id = $2""",
        actor.company_id,
        row["id"],
    )
    await conn.execute(
        "DELETE FROM tasks WHERE company_id = $1 AND contact_id = $2", actor.company_id, row["id"]
    )
    await conn.execute(
        "DELETE FROM contacts WHERE company_id = $1 AND id = $2", actor.company_id, row["id"]
    )
