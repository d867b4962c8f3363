"""Contacts: the people a company works with, under the owned-record policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from crm.contacts.search import DOCUMENT_SQL, document_parts, in_tenant, to_tsquery, words
from crm.errors import FieldError, ValidationFailed
from crm.ids import new_id
from crm.pagination import Sort, check_limit, pick_sort
from crm.policy import Actor, Permission, Scope
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
_tags_json = msgspec.json.Encoder()


def _contact(row: Any) -> Contact:
    # Unpacked by position (the order of COLUMNS): a list page builds fifty of
    # these, and lookups by name cost more than the rest of the work together.
    (
        contact_id,
        first,
        last,
        email,
        company_name,
        owner_id,
        tags,
        notes,
        next_task_due_at,
        created_at,
        updated_at,
        version,
        phones,
    ) = row[:13]
    return Contact(
        id=contact_id,
        first_name=first,
        last_name=last,
        full_name=f"{first} {last}" if first and last else first or last,
        email=email,
        phones=_phones.decode(phones) if phones else [],
        company_name=company_name,
        owner_id=owner_id,
        tags=tags,
        notes=notes,
        next_task_due_at=next_task_due_at,
        created_at=created_at,
        updated_at=updated_at,
        version=version,
    )


async def _default_region(actor: Actor) -> str | None:
    region: str | None = await db.connection().fetchval(
        "SELECT default_region FROM companies WHERE id = $1", actor.company_id
    )
    return region


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
    region = await _default_region(actor) if phones else None
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
    query = CONTACTS.select(actor, COLUMNS)
    filter_id(query, "c.owner_id", owner_id)
    if tag is not None:
        query.filter(f"c.tags @> ARRAY[{query.placeholder(tag)}]::varchar[]")
    if phone is not None:
        try:
            number = to_e164(phone, await _default_region(actor))
        except InvalidPhone as exc:
            raise ValidationFailed.one("phone", str(exc)) from None
        query.filter(
            "c.id IN (SELECT p.contact_id FROM contact_phones p "
            f"WHERE p.company_id = $1 AND p.number = {query.placeholder(number)})"
        )
    if q is not None:
        tsquery = to_tsquery(q)
        if tsquery is None:
            raise ValidationFailed.one("q", "must contain at least one letter or digit")
        matches = f"c.search @@ {query.placeholder(in_tenant(tsquery, actor.company_id))}::tsquery"
        if query.scope is Scope.ALL:
            # The whole company: candidates from the GIN index alone (the tenant
            # lexeme keeps them in the company), not intersected with the bitmap of
            # every record of the company, which for a large one costs more than
            # the search. The company filter still applies to what comes out.
            query.from_source(f"SELECT * FROM contacts c WHERE {matches} OFFSET 0")
        query.filter(matches)
        if sort is None:
            return await _ranked(
                query, query.placeholder(tsquery), query.placeholder(words(q)), limit, cursor
            )
    order = pick_sort(SORTS, sort, "-created_at")
    return await query.page(
        sort=order, limit=limit, cursor=cursor, build=_contact, page=ContactPage
    )


async def _ranked(
    query: TenantSelect, tsquery: str, exact: str, limit: int, cursor: str | None
) -> ContactPage:
    # An exact full-name match outranks everything (ts_rank stays below 1).
    rank = f"((c.search_name = {exact})::int + ts_rank(c.search, {tsquery}::tsquery))"
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


def _require_identity(
    first: str, last: str, email: str | None, company: str | None, field: str = "first_name"
) -> None:
    if not (first.strip() or last.strip() or email or (company or "").strip()):
        raise ValidationFailed.one(field, "a contact needs a name, an email or a company name")


@dataclass(frozen=True, slots=True)
class _NewContact:
    """A contact checked and normalised, ready to insert."""

    id: str
    owner_id: str
    first_name: str
    last_name: str
    email: str | None
    company_name: str | None
    tags: list[str]
    notes: str | None
    phones: list[Phone]


async def _prepare(actor: Actor, items: Sequence[ContactCreate], prefix: str) -> list[_NewContact]:
    """Check and normalise new contacts: owners in scope, phones in E.164, tags cleaned.

    One query per distinct owner and one for the company's region, whatever the
    number of contacts. Field names carry `prefix` (`items[3].` in an import).
    """
    actor.require_key_scope(CONTACTS.create)
    owners: dict[str, str] = {}
    errors: list[FieldError] = []
    region = await _default_region(actor) if any(item.phones for item in items) else None
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
            _NewContact(
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


_INSERT_CONTACTS = f"""
    INSERT INTO contacts (id, company_id, owner_id, first_name, last_name, email, company_name,
        tags, notes, search, search_name, created_at, updated_at, version)
    SELECT t.id, $1, t.owner_id, t.first_name, t.last_name, t.email, t.company_name,
        ARRAY(SELECT jsonb_array_elements_text(t.tags::jsonb)), t.notes,
        {DOCUMENT_SQL.format(names="t.names", email="t.email_words", company="t.company_words", tenant="$1")},
        t.names, now(), now(), 1
    FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
        AS t(id, owner_id, first_name, last_name, email, company_name, tags, notes,
             names, email_words, company_words)
"""
_INSERT_PHONES = """
    INSERT INTO contact_phones (id, company_id, contact_id, position, number, label)
    SELECT t.id, $1, t.contact_id, t.position, t.number, t.label
    FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[])
        AS t(id, contact_id, position, number, label)
"""


async def _insert(company_id: str, contacts: Sequence[_NewContact]) -> None:
    """Insert contacts and their phones: two statements, however many contacts."""
    conn = db.connection()
    parts = [document_parts(c.first_name, c.last_name, c.email, c.company_name) for c in contacts]
    columns: list[list[Any]] = [[] for _ in range(11)]
    for contact, (names, email_words, company_words) in zip(contacts, parts, strict=True):
        row = (
            contact.id,
            contact.owner_id,
            contact.first_name,
            contact.last_name,
            contact.email,
            contact.company_name,
            _tags_json.encode(contact.tags).decode(),
            contact.notes,
            names,
            email_words,
            company_words,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    await conn.execute(_INSERT_CONTACTS, company_id, *columns)
    await _insert_phones(company_id, [(c.id, c.phones) for c in contacts])


async def _insert_phones(company_id: str, phones: Sequence[tuple[str, list[Phone]]]) -> None:
    columns: list[list[Any]] = [[], [], [], [], []]
    for contact_id, numbers in phones:
        for position, phone in enumerate(numbers):
            for column, value in zip(
                columns, (new_id(), contact_id, position, phone.number, phone.label), strict=True
            ):
                column.append(value)
    if columns[0]:
        await db.connection().execute(_INSERT_PHONES, company_id, *columns)


async def create_contact(actor: Actor, data: ContactCreate) -> Contact:
    [contact] = await _prepare(actor, [data], prefix="")
    await _insert(actor.company_id, [contact])
    return _contact(await CONTACTS.fetch_visible(actor, contact.id, COLUMNS))


async def import_contacts(actor: Actor, items: Sequence[ContactCreate]) -> list[str]:
    """Create many contacts at once, with the checks and normalisation of `create_contact`.

    All or nothing: one refused item refuses the import, naming `items[i].<field>`.
    Returns the new ids, in order.
    """
    prepared = await _prepare(actor, items, prefix="items[{index}].")
    await _insert(actor.company_id, prepared)
    return [contact.id for contact in prepared]


async def _write_phones(company_id: str, contact_id: str, phones: list[Phone]) -> None:
    """Replace a contact's phones."""
    await db.connection().execute(
        "DELETE FROM contact_phones WHERE company_id = $1 AND contact_id = $2",
        company_id,
        contact_id,
    )
    await _insert_phones(company_id, [(contact_id, phones)])


async def update_contact(
    actor: Actor, contact_id: str, changes: ContactUpdate, *, expected_version: int | None = None
) -> Contact:
    row = await CONTACTS.fetch_for_change(actor, contact_id, COLUMNS, CONTACTS.update)
    check_version(row["version"], expected_version)
    values = changes.given()
    phones = values.pop("phones", None)
    await CONTACTS.check_reassignment(actor, row, values)
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
            tenant="$1", names=f"${base + 1}", email=f"${base + 2}", company=f"${base + 3}"
        )
        assignments.append(f"search = {document}")
        assignments.append(f"search_name = ${base + 1}")
        params.extend(parts)
    assignments += ["version = version + 1", "updated_at = now()"]
    await conn.execute(
        f"UPDATE contacts SET {', '.join(assignments)} WHERE company_id = $1 AND id = $2",
        *params,
    )
    if normalised is not None:
        await _write_phones(actor.company_id, row["id"], normalised)
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
