from typing import Any

from piccolo.columns import UUID, Array, Column, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.table import Table


class TSVector(Column):
    """PostgreSQL's `tsvector`, which Piccolo has no column for."""

    value_type = str

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)

    @property
    def column_type(self) -> str:
        return "TSVECTOR"


class ContactTable(Table, tablename="contacts"):
    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    owner_id = UUID(default=None)
    first_name = Varchar(length=200, default="")
    last_name = Varchar(length=200, default="")
    email = Varchar(length=320, null=True, default=None)
    company_name = Varchar(length=200, null=True, default=None)
    tags = Array(base_column=Varchar(length=100))
    notes = Text(null=True, default=None)
    # Earliest due date among the contact's open tasks; kept by the task service.
    next_task_due_at = Timestamptz(null=True, default=None)
    # Full-text document over names, email and company name (accents folded).
    search = TSVector()
    # The folded full name ("zoe angstrom"): an exact match ranks first.
    search_name = Varchar(length=401, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class ContactPhoneTable(Table, tablename="contact_phones"):
    """A contact's phone number in E.164, indexed by `(company_id, number)`."""

    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    contact_id = UUID(default=None)
    position = SmallInt()
    number = Varchar(length=20)
    label = Varchar(length=40, null=True, default=None)
