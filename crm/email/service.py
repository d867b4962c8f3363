"""The email service: templates and suppressions, reached only through these functions.

Every role reads the company's templates; owners manage them, and own the list of
suppressed addresses (per company, case-insensitive).
"""

from __future__ import annotations

from crm.email import queries
from crm.email.queries import SUPPRESSION_SORTS, TEMPLATE_SORTS
from crm.email.schemas import (
    EmailSuppression,
    EmailSuppressionCreate,
    EmailSuppressionPage,
    EmailTemplate,
    EmailTemplateCreate,
    EmailTemplatePage,
    EmailTemplateUpdate,
)
from crm.errors import Conflict, Forbidden, NotFound
from crm.pagination import pick_sort
from crm.policy import Actor, Permission, Scope
from crm.query import check_version

__all__ = [
    "SUPPRESSION_SORTS",
    "TEMPLATE_SORTS",
    "create_template",
    "delete_suppression",
    "delete_template",
    "get_template",
    "list_suppressions",
    "list_templates",
    "suppress",
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


async def list_suppressions(
    actor: Actor, *, sort: str | None = None, limit: int = 50, cursor: str | None = None
) -> EmailSuppressionPage:
    if actor.scope_for(Permission.EMAIL_SUPPRESSIONS_VIEW) is Scope.NONE:
        raise Forbidden("Only an owner may see the suppressed addresses.")
    return await queries.list_suppressions(
        actor, sort=pick_sort(SUPPRESSION_SORTS, sort, "-created_at"), limit=limit, cursor=cursor
    )


async def suppress(actor: Actor, data: EmailSuppressionCreate) -> EmailSuppression:
    """Suppress an address by hand (`manual`); 409 when it already is."""
    if actor.scope_for(Permission.EMAIL_SUPPRESSIONS_MANAGE) is Scope.NONE:
        raise Forbidden("Only an owner may manage the suppressed addresses.")
    suppression = await queries.insert_suppression(actor.company_id, data.email, "manual")
    if suppression is None:
        raise Conflict("The address is already suppressed.")
    return suppression


async def delete_suppression(actor: Actor, email: str) -> None:
    """Send to `email` again; 404 when it was not suppressed."""
    if actor.scope_for(Permission.EMAIL_SUPPRESSIONS_MANAGE) is Scope.NONE:
        raise Forbidden("Only an owner may manage the suppressed addresses.")
    if not await queries.delete_suppression(actor.company_id, email):
        raise NotFound("The address is not suppressed.")
