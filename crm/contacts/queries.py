"""The contacts' queries: every statement that reads or writes `contacts` and `contact_phones`.

Each one is scoped to a company; those that start from the actor also apply
the policy (`CONTACTS`). The rules (what may change, what a change means) are
in `crm.contacts.service`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from crm import db
from crm.contacts.schemas import Contact, ContactPage, Phone
from crm.contacts.search import DOCUMENT_SQL, document_parts, in_tenant
from crm.ids import new_id
from crm.pagination import Sort
from crm.policy import Actor, Permission, Scope
from crm.query import TenantSelect
from crm.records import Locked, Owned, filter_id
from crm.sql import Columns, Params

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

_phones = msgspec.json.Decoder(list[Phone])
_tags_json = msgspec.json.Encoder()


def _full_name(first: str, last: str) -> str:
    return f"{first} {last}" if first and last else first or last


def _decode_phones(phones: str | None) -> list[Phone]:
    return _phones.decode(phones) if phones else []


# Phones ride along as one JSON array per row: a page is one query, whatever its length.
COLUMNS = Columns(
    Contact,
    "c",
    sql={
        "phones": "(SELECT json_agg(json_build_object('number', p.number, 'label', p.label) "
        "ORDER BY p.position) FROM contact_phones p "
        "WHERE p.company_id = c.company_id AND p.contact_id = c.id)"
    },
    derived={"full_name"},
    computed={
        "full_name": (("first_name", "last_name"), _full_name),
        "phones": (("phones",), _decode_phones),
    },
)
SORTS = {
    "-created_at": Sort("-created_at", "c.created_at", datetime),
    "created_at": Sort("created_at", "c.created_at", datetime),
    "-updated_at": Sort("-updated_at", "c.updated_at", datetime),
    "updated_at": Sort("updated_at", "c.updated_at", datetime),
    "next_task_due_at": Sort("next_task_due_at", "c.next_task_due_at", datetime, nullable=True),
}


@dataclass(frozen=True, slots=True)
class NewContact:
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


async def default_region(company_id: str) -> str | None:
    """The company's region, for phone numbers given without a country code."""
    region: str | None = await db.connection().fetchval(
        "SELECT default_region FROM companies WHERE id = $1", company_id
    )
    return region


async def list_page(
    actor: Actor,
    *,
    owner_id: str | None,
    tag: str | None,
    phone: str | None,
    tsquery: str | None,
    exact_name: str,
    sort: Sort | None,
    limit: int,
    cursor: str | None,
) -> ContactPage:
    """A page of the visible contacts matching every filter given.

    `phone` is in E.164; `tsquery` is a checked text query (`crm.contacts.search`).
    With a `tsquery` and no `sort`, the page is ranked by relevance, an exact
    full-name match (`exact_name`) first.
    """
    query = CONTACTS.select(actor, COLUMNS.sql)
    filter_id(query, "c.owner_id", owner_id)
    if tag is not None:
        query.filter(f"c.tags @> ARRAY[{query.placeholder(tag)}]::varchar[]")
    if phone is not None:
        query.filter(
            "c.id IN (SELECT p.contact_id FROM contact_phones p "
            f"WHERE p.company_id = {query.company} AND p.number = {query.placeholder(phone)})"
        )
    if tsquery is not None:
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
                query, query.placeholder(tsquery), query.placeholder(exact_name), limit, cursor
            )
    assert sort is not None
    return await query.page(
        sort=sort, limit=limit, cursor=cursor, build=COLUMNS.build, page=ContactPage
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
        build=COLUMNS.build,
        page=ContactPage,
        sort_key="relevance",
    )


async def get_visible(actor: Actor, contact_id: str) -> Contact:
    """The contact if the actor may view it, else 404."""
    return await CONTACTS.fetch_visible(actor, contact_id, COLUMNS)


async def lock_for_change(actor: Actor, contact_id: str, action: Permission) -> Locked[Contact]:
    """The contact, locked, if the actor may view it (else 404) and do `action` (else 403)."""
    return await CONTACTS.fetch_for_change(actor, contact_id, COLUMNS, action)


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


async def insert_many(company_id: str, contacts: Sequence[NewContact]) -> None:
    """Insert contacts and their phones: two statements, however many contacts."""
    parts = [document_parts(c.first_name, c.last_name, c.email, c.company_name) for c in contacts]
    # One array per column of the unnest in _INSERT_CONTACTS, in its order.
    columns: list[list[object]] = [[] for _ in range(11)]
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
    await db.connection().execute(_INSERT_CONTACTS, company_id, *columns)
    await _insert_phones(company_id, [(c.id, c.phones) for c in contacts])


async def _insert_phones(company_id: str, phones: Sequence[tuple[str, list[Phone]]]) -> None:
    columns: list[list[object]] = [[], [], [], [], []]
    for contact_id, numbers in phones:
        for position, phone in enumerate(numbers):
            for column, value in zip(
                columns, (new_id(), contact_id, position, phone.number, phone.label), strict=True
            ):
                column.append(value)
    if columns[0]:
        await db.connection().execute(_INSERT_PHONES, company_id, *columns)


async def replace_phones(company_id: str, contact_id: str, phones: list[Phone]) -> None:
    await db.connection().execute(
        "DELETE FROM contact_phones WHERE company_id = $1 AND contact_id = $2",
        company_id,
        contact_id,
    )
    await _insert_phones(company_id, [(contact_id, phones)])


async def update(
    company_id: str,
    contact_id: str,
    changes: dict[str, object],
    *,
    search: tuple[str, str, str] | None,
) -> None:
    """Write `changes` to a contact, with a new version; `search`: its new document's parts.

    `search` holds the folded names, email and company name (`document_parts`).
    """
    params = Params()
    company = params.placeholder(company_id)
    where = f"company_id = {company} AND id = {params.placeholder(contact_id)}"
    sets = [f"{column} = {params.placeholder(value)}" for column, value in changes.items()]
    if search is not None:
        names, email, company_words = (params.placeholder(part) for part in search)
        document = DOCUMENT_SQL.format(
            tenant=company, names=names, email=email, company=company_words
        )
        sets += [f"search = {document}", f"search_name = {names}"]
    sets += ["version = version + 1", "updated_at = now()"]
    await db.connection().execute(
        f"UPDATE contacts SET {', '.join(sets)} WHERE {where}", *params.values
    )


async def delete(company_id: str, contact_id: str) -> None:
    await db.connection().execute(
        "DELETE FROM contacts WHERE company_id = $1 AND id = $2", company_id, contact_id
    )


async def lock_in_id_order(company_id: str, contact_ids: set[str | None]) -> list[str]:
    """Lock the contacts of `contact_ids`, in id order (no deadlocks between two lockers)."""
    ids = sorted(i for i in contact_ids if i is not None)
    if ids:
        await db.connection().execute(
            "SELECT id FROM contacts WHERE company_id = $1 AND id = ANY($2::uuid[]) "
            "ORDER BY id FOR UPDATE",
            company_id,
            ids,
        )
    return ids


async def refresh_next_task_due(company_id: str, contact_ids: list[str]) -> None:
    """Set each contact's `next_task_due_at` to the earliest due date of its open tasks.

    One statement for any number of contacts; only contacts whose value changes
    are written (and get a new version).
    """
    if not contact_ids:
        return
    await db.connection().execute(
        """UPDATE contacts c
           SET next_task_due_at = s.due, version = c.version + 1, updated_at = now()
           FROM (SELECT ids.id,
                        (SELECT min(t.due_at) FROM tasks t
                         WHERE t.company_id = $1 AND t.contact_id = ids.id AND NOT t.done) AS due
                 FROM unnest($2::uuid[]) AS ids(id)) s
           WHERE c.company_id = $1 AND c.id = s.id
             AND c.next_task_due_at IS DISTINCT FROM s.due""",
        company_id,
        contact_ids,
    )
