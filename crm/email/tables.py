from piccolo.columns import UUID, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class EmailTemplateTable(Table, tablename="email_templates"):
    """A template of an email: subject, HTML and text with `{{ name }}` placeholders."""

    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    name = Varchar(length=200)
    subject = Varchar(length=998)
    html = Text(default="")
    text = Text(default="")
    is_active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class EmailSuppressionTable(Table, tablename="email_suppressions"):
    """An address the company never sends to (per company, case-insensitive)."""

    id = UUID(primary_key=True)
    company_id = UUID(default=None)
    email = Varchar(length=320)
    reason = Varchar(length=20)
    created_at = Timestamptz()
