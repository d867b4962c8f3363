"""`/v1/company`: the caller's company."""

from __future__ import annotations

from litestar import Response, get, patch
from litestar.params import JSONBody

from crm.companies import service
from crm.companies.schemas import Company, CompanyUpdate
from gateway.responses import (
    ETAG,
    READ_ONE,
    UPDATE,
    CurrentActor,
    IfMatch,
    expected_version,
    with_etag,
)


@get(
    "/company",
    operation_id="getCompany",
    summary="Get the company",
    responses=READ_ONE,
    response_headers=[ETAG],
)
async def get_company(actor: CurrentActor) -> Response[Company]:
    """Returns the caller's company."""
    return with_etag(await service.get_company(actor))


@patch(
    "/company",
    operation_id="updateCompany",
    summary="Update the company",
    responses=UPDATE,
    response_headers=[ETAG],
)
async def update_company(
    actor: CurrentActor, data: JSONBody[CompanyUpdate], if_match: IfMatch = None
) -> Response[Company]:
    """Changes the company's `name`, `billing_email` and `default_region` (owners only).
    `plan`, `subscription_status` and `billing_customer_id` are set only by payment webhooks
    and the operator: a body naming one is `422` naming that field."""
    company = await service.update_company(actor, data, expected_version=expected_version(if_match))
    return with_etag(company)


ROUTES = [get_company, update_company]
