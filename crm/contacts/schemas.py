from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from crm.schemas import Email, Id, Input

ContactName = Annotated[str, msgspec.Meta(max_length=200)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Notes = Annotated[str, msgspec.Meta(max_length=20_000)]
CompanyName = Annotated[str, msgspec.Meta(max_length=200)]


class Phone(msgspec.Struct, kw_only=True):
    number: str
    label: str | None = None


class PhoneInput(Input):
    number: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=40,
            description="Any common format; read with the company's `default_region` when "
            "it has no country code. Stored in E.164.",
        ),
    ]
    label: Annotated[str, msgspec.Meta(max_length=40)] | None = None


Phones = Annotated[list[PhoneInput], msgspec.Meta(max_length=20)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=50)]


# Not keyword-only: `crm.sql.Columns` builds it from a row by position.
class Contact(msgspec.Struct):
    id: str
    first_name: str
    last_name: str
    full_name: str
    email: str | None
    phones: list[Phone]
    company_name: str | None
    owner_id: str
    tags: list[str]
    notes: str | None
    next_task_due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class ContactCreate(Input):
    """A new contact; it needs at least a name, an email or a company name."""

    first_name: ContactName = ""
    last_name: ContactName = ""
    email: Email | None = None
    phones: Phones = msgspec.field(default_factory=list)
    company_name: CompanyName | None = None
    owner_id: Id | None = None
    tags: Tags = msgspec.field(default_factory=list)
    notes: Notes | None = None


class ContactUpdate(Input):
    """Changes to a contact. `phones` and `tags`, when given, replace the whole list."""

    first_name: ContactName | msgspec.UnsetType = msgspec.UNSET
    last_name: ContactName | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    phones: Phones | msgspec.UnsetType = msgspec.UNSET
    company_name: CompanyName | msgspec.UnsetType | None = msgspec.UNSET
    owner_id: Id | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET
    notes: Notes | msgspec.UnsetType | None = msgspec.UNSET


class ContactPage(msgspec.Struct, kw_only=True):
    """One page of contacts; `next_cursor` is null on the last page."""

    data: list[Contact]
    next_cursor: str | None
