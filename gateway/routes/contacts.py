"""`/v1/contacts`: the people a company works with."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from crm.contacts import service
from crm.contacts.schemas import Contact, ContactCreate, ContactPage, ContactUpdate
from gateway.responses import (
    CREATE,
    DELETE,
    ETAG,
    LIST,
    LOCATION,
    READ_ONE,
    UPDATE,
    CurrentActor,
    Cursor,
    IfMatch,
    Limit,
    created,
    expected_version,
    sort_parameter,
    with_etag,
)

Sort = Annotated[str | None, sort_parameter(list(service.SORTS), "-created_at")]


@get("/contacts", operation_id="listContacts", summary="List contacts", responses=LIST)
async def list_contacts(
    actor: CurrentActor,
    owner_id: FromQuery[str | None] = None,
    tag: FromQuery[str | None] = None,
    phone: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    sort: Sort = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ContactPage:
    """Lists the contacts the caller may see. `q` searches names, email and company name
    (word prefixes, ranked by relevance unless `sort` is given); `phone` matches any format."""
    return await service.list_contacts(
        actor,
        owner_id=owner_id,
        tag=tag,
        phone=phone,
        q=q,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


@post(
    "/contacts",
    operation_id="createContact",
    summary="Create a contact",
    responses=CREATE,
    response_headers=[LOCATION, ETAG],
)
async def create_contact(actor: CurrentActor, data: JSONBody[ContactCreate]) -> Response[Contact]:
    """Creates a contact, owned by the caller unless `owner_id` names another agent."""
    contact = await service.create_contact(actor, data)
    return created(contact, f"/v1/contacts/{contact.id}")


@get(
    "/contacts/{contact_id:str}",
    operation_id="getContact",
    summary="Get a contact",
    responses=READ_ONE,
    response_headers=[ETAG],
)
async def get_contact(actor: CurrentActor, contact_id: FromPath[str]) -> Response[Contact]:
    """Returns one contact the caller may see."""
    return with_etag(await service.get_contact(actor, contact_id))


@patch(
    "/contacts/{contact_id:str}",
    operation_id="updateContact",
    summary="Update a contact",
    responses=UPDATE,
    response_headers=[ETAG],
)
async def update_contact(
    actor: CurrentActor,
    contact_id: FromPath[str],
    data: JSONBody[ContactUpdate],
    if_match: IfMatch = None,
) -> Response[Contact]:
    """Changes a contact; changing `owner_id` reassigns it."""
    contact = await service.update_contact(
        actor, contact_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(contact)


@delete(
    "/contacts/{contact_id:str}",
    operation_id="deleteContact",
    summary="Delete a contact",
    responses=DELETE,
)
async def delete_contact(actor: CurrentActor, contact_id: FromPath[str]) -> None:
    """Deletes a contact and its tasks; its deals stay, without a contact."""
    await service.delete_contact(actor, contact_id)


ROUTES = [list_contacts, create_contact, get_contact, update_contact, delete_contact]
