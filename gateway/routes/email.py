"""`/v1/email-templates`: the email service's templates. Everyone reads; owners write."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from crm.email import service
from crm.email.schemas import (
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


ROUTES = [
    list_email_templates,
    create_email_template,
    get_email_template,
    update_email_template,
    delete_email_template,
]
