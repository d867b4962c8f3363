"""The email service over HTTP.

`/v1/email-templates`: everyone reads, owners write. `/v1/email-suppressions`:
the addresses never sent to, owners only.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from crm.email import service
from crm.email.schemas import (
    EmailSuppression,
    EmailSuppressionCreate,
    EmailSuppressionPage,
    EmailTemplate,
    EmailTemplateCreate,
    EmailTemplatePage,
    EmailTemplateUpdate,
)
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

TemplateSort = Annotated[str | None, sort_parameter(list(service.TEMPLATE_SORTS), "-created_at")]


@get(
    "/email-templates",
    operation_id="listEmailTemplates",
    summary="List email templates",
    responses=LIST,
)
async def list_email_templates(
    actor: CurrentActor, sort: TemplateSort = None, limit: Limit = 50, cursor: Cursor = None
) -> EmailTemplatePage:
    """Lists the company's email templates."""
    return await service.list_templates(actor, sort=sort, limit=limit, cursor=cursor)


@post(
    "/email-templates",
    operation_id="createEmailTemplate",
    summary="Create an email template",
    responses=CREATE,
    response_headers=[LOCATION, ETAG],
)
async def create_email_template(
    actor: CurrentActor, data: JSONBody[EmailTemplateCreate]
) -> Response[EmailTemplate]:
    """Creates an email template (owners only). `subject`, `html` and `text` take
    `{{ name }}` placeholders; `variables` lists the names they use."""
    template = await service.create_template(actor, data)
    return created(template, f"/v1/email-templates/{template.id}")


@get(
    "/email-templates/{template_id:str}",
    operation_id="getEmailTemplate",
    summary="Get an email template",
    responses=READ_ONE,
    response_headers=[ETAG],
)
async def get_email_template(
    actor: CurrentActor, template_id: FromPath[str]
) -> Response[EmailTemplate]:
    """Returns one email template."""
    return with_etag(await service.get_template(actor, template_id))


@patch(
    "/email-templates/{template_id:str}",
    operation_id="updateEmailTemplate",
    summary="Update an email template",
    responses=UPDATE,
    response_headers=[ETAG],
)
async def update_email_template(
    actor: CurrentActor,
    template_id: FromPath[str],
    data: JSONBody[EmailTemplateUpdate],
    if_match: IfMatch = None,
) -> Response[EmailTemplate]:
    """Changes an email template (owners only)."""
    template = await service.update_template(
        actor, template_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(template)


@delete(
    "/email-templates/{template_id:str}",
    operation_id="deleteEmailTemplate",
    summary="Delete an email template",
    responses=DELETE,
)
async def delete_email_template(actor: CurrentActor, template_id: FromPath[str]) -> None:
    """Deletes an email template (owners only)."""
    await service.delete_template(actor, template_id)


SuppressionSort = Annotated[
    str | None, sort_parameter(list(service.SUPPRESSION_SORTS), "-created_at")
]


@get(
    "/email-suppressions",
    operation_id="listEmailSuppressions",
    summary="List suppressed addresses",
    responses=LIST,
)
async def list_email_suppressions(
    actor: CurrentActor, sort: SuppressionSort = None, limit: Limit = 50, cursor: Cursor = None
) -> EmailSuppressionPage:
    """Lists the addresses the company never sends to (owners only)."""
    return await service.list_suppressions(actor, sort=sort, limit=limit, cursor=cursor)


@post(
    "/email-suppressions",
    operation_id="createEmailSuppression",
    summary="Suppress an address",
    responses=CREATE,
)
async def create_email_suppression(
    actor: CurrentActor, data: JSONBody[EmailSuppressionCreate]
) -> Response[EmailSuppression]:
    """Suppresses an address by hand (`manual`; owners only). Addresses are compared
    case-insensitively; one already suppressed answers 409."""
    return Response(await service.suppress(actor, data), status_code=201)


@delete(
    "/email-suppressions/{email:str}",
    operation_id="deleteEmailSuppression",
    summary="Remove a suppressed address",
    responses=DELETE,
)
async def delete_email_suppression(actor: CurrentActor, email: FromPath[str]) -> None:
    """Lets email go to an address again (owners only); one not suppressed answers 404."""
    await service.delete_suppression(actor, email)


ROUTES = [
    list_email_templates,
    create_email_template,
    get_email_template,
    update_email_template,
    delete_email_template,
    list_email_suppressions,
    create_email_suppression,
    delete_email_suppression,
]
