"""The email service: templates, reached only through these functions.

Every role reads the company's templates; owners manage them.
"""

from __future__ import annotations

from crm.email import queries
from crm.email.queries import TEMPLATE_SORTS
from crm.email.schemas import (
    EmailTemplate,
    EmailTemplateCreate,
    EmailTemplatePage,
    EmailTemplateUpdate,
)
from crm.errors import Forbidden
from crm.pagination import pick_sort
from crm.policy import Actor, Permission, Scope
from crm.query import check_version

__all__ = [
    "TEMPLATE_SORTS",
    "create_template",
    "delete_template",
    "get_template",
    "list_templates",
    "update_template",
]


def _require_manage(actor: Actor) -> None:
    if actor.scope_for(Permission.EMAIL_TEMPLATES_MANAGE) is Scope.NONE:
        raise Forbidden("Only an owner may manage email templates.")


async def list_templates(
    actor: Actor, *, sort: str | None = None, limit: int = 50, cursor: str | None = None
) -> EmailTemplatePage:
    return await queries.list_templates(
        actor, sort=pick_sort(TEMPLATE_SORTS, sort, "-created_at"), limit=limit, cursor=cursor
    )


async def get_template(
    actor: Actor, template_id: str, *, for_update: bool = False
) -> EmailTemplate:
    return await queries.get_template(actor, template_id, lock=for_update)


async def create_template(actor: Actor, data: EmailTemplateCreate) -> EmailTemplate:
    _require_manage(actor)
    return await queries.insert_template(
        actor.company_id,
        name=data.name.strip(),
        subject=data.subject,
        html=data.html,
        text=data.text,
        is_active=data.is_active,
    )


async def update_template(
    actor: Actor,
    template_id: str,
    changes: EmailTemplateUpdate,
    *,
    expected_version: int | None = None,
) -> EmailTemplate:
    current = await get_template(actor, template_id, for_update=True)
    _require_manage(actor)
    check_version(current.version, expected_version)
    values = changes.given()
    if "name" in values:
        values["name"] = values["name"].strip()
    values = {k: v for k, v in values.items() if getattr(current, k) != v}
    if not values:
        return current
    return await queries.update_template(actor.company_id, current.id, values)


async def delete_template(actor: Actor, template_id: str) -> None:
    current = await get_template(actor, template_id, for_update=True)
    _require_manage(actor)
    await queries.delete_template(actor.company_id, current.id)
