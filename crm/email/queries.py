"""The SQL of the email service: named queries of its tables, each inside one company."""

from __future__ import annotations

from datetime import datetime

from crm import db
from crm.email import render
from crm.email.schemas import (
    EmailSuppression,
    EmailSuppressionPage,
    EmailTemplate,
    EmailTemplatePage,
)
from crm.ids import new_id
from crm.pagination import Sort, check_limit
from crm.policy import Actor, Permission
from crm.query import TenantSelect, update_row
from crm.sql import Columns

TEMPLATE = Columns(
    EmailTemplate,
    "et",
    derived=["variables"],
    computed={"variables": (("subject", "html", "text"), render.variables)},
)
TEMPLATE_SORTS = {
    "-created_at": Sort("-created_at", "et.created_at", datetime),
    "created_at": Sort("created_at", "et.created_at", datetime),
}
TEMPLATE_CONFLICTS = {
    "email_templates_company_name_key": "Another email template of the company has this name."
}


def visible_templates(actor: Actor) -> TenantSelect:
    return TenantSelect(
        actor,
        Permission.EMAIL_TEMPLATES_VIEW,
        table="email_templates",
        alias="et",
        columns=TEMPLATE.sql,
    )


async def list_templates(
    actor: Actor, *, sort: Sort, limit: int, cursor: str | None
) -> EmailTemplatePage:
    return await visible_templates(actor).page(
        sort=sort,
        limit=check_limit(limit),
        cursor=cursor,
        build=TEMPLATE.build,
        page=EmailTemplatePage,
    )


async def get_template(actor: Actor, template_id: str, *, lock: bool = False) -> EmailTemplate:
    """The template if the actor may see it; 404 when missing or hidden alike."""
    row = await visible_templates(actor).get(template_id, noun="email template", lock=lock)
    return TEMPLATE.build(row)


async def insert_template(
    company_id: str, *, name: str, subject: str, html: str, text: str, is_active: bool
) -> EmailTemplate:
    async with db.conflicts(TEMPLATE_CONFLICTS):
        row = await db.connection().fetchrow(
            f"""INSERT INTO email_templates
                    (id, company_id, name, subject, html, text, is_active,
                     created_at, updated_at, version)
                VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now(), 1)
                RETURNING {TEMPLATE.returning}""",
            new_id(),
            company_id,
            name,
            subject,
            html,
            text,
            is_active,
        )
    assert row is not None  # INSERT ... RETURNING returns the row it wrote
    return TEMPLATE.build(row)


async def update_template(
    company_id: str, template_id: str, changes: dict[str, object]
) -> EmailTemplate:
    async with db.conflicts(TEMPLATE_CONFLICTS):
        row = await update_row(
            "email_templates", company_id, template_id, changes, returning=TEMPLATE.returning
        )
    return TEMPLATE.build(row)


async def delete_template(company_id: str, template_id: str) -> None:
    await db.connection().execute(
        "DELETE FROM email_templates WHERE company_id = $1 AND id = $2", company_id, template_id
    )


SUPPRESSION = Columns(EmailSuppression, "es")
SUPPRESSION_SORTS = {
    "-created_at": Sort("-created_at", "es.created_at", datetime),
    "created_at": Sort("created_at", "es.created_at", datetime),
}


async def list_suppressions(
    actor: Actor, *, sort: Sort, limit: int, cursor: str | None
) -> EmailSuppressionPage:
    select = TenantSelect(
        actor,
        Permission.EMAIL_SUPPRESSIONS_VIEW,
        table="email_suppressions",
        alias="es",
        # The id is not part of the record; it breaks ties in the page's keyset.
        columns=f"{SUPPRESSION.sql}, es.id",
    )
    return await select.page(
        sort=sort,
        limit=check_limit(limit),
        cursor=cursor,
        build=SUPPRESSION.build,
        page=EmailSuppressionPage,
    )


async def insert_suppression(company_id: str, email: str, reason: str) -> EmailSuppression | None:
    """Suppress `email` (kept in lower case); None when it already was."""
    row = await db.connection().fetchrow(
        f"""INSERT INTO email_suppressions (id, company_id, email, reason, created_at)
            VALUES ($1, $2, lower($3), $4, now())
            ON CONFLICT (company_id, email) DO NOTHING
            RETURNING {SUPPRESSION.returning}""",
        new_id(),
        company_id,
        email,
        reason,
    )
    return None if row is None else SUPPRESSION.build(row)


async def delete_suppression(company_id: str, email: str) -> bool:
    """Whether `email` (in any case) was suppressed and no longer is."""
    status: str = await db.connection().execute(
        "DELETE FROM email_suppressions WHERE company_id = $1 AND email = lower($2)",
        company_id,
        email,
    )
    return status != "DELETE 0"
