"""The operator API: companies and payment events. Bearer `CRM_ADMIN_TOKEN`; 404 without one."""

from __future__ import annotations

from typing import Any, cast

import msgspec
from litestar import Request, Router, get, patch, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody

from crm.agents.schemas import Agent
from crm.billing import service as billing
from crm.billing.schemas import BillingEventPage
from crm.bootstrap import bootstrap_company
from crm.companies import service as companies
from crm.companies.schemas import Company, CompanyBillingLink, CompanyBootstrap
from crm.errors import NotFound
from gateway.credential import check_admin_token
from gateway.problems import MEDIA_TYPE
from gateway.responses import Cursor, Limit, Problem, problems
from gateway.text_checks import refuse_nul
from gateway.transaction import TransactionMiddleware

# Failed admin authentications are limited per address, as API keys' are.
TOO_MANY_FAILURES = {
    429: ResponseSpec(
        data_container=Problem,
        description="Too many failed authentications from this address (`rate_limited`)",
        media_type=MEDIA_TYPE,
        generate_examples=False,
    )
}


class BootstrapResult(msgspec.Struct):
    company: Company
    owner: Agent
    api_key: str


async def require_admin(request: Request[Any, Any, State]) -> None:
    token: str | None = request.app.state.settings.admin_token
    if token is None:
        # An operator API with no token configured does not exist.
        raise NotFound("No such route.")
    gateway = request.app.state.gateway
    address = gateway.client_address(cast(dict[str, Any], request.scope))
    await check_admin_token(token, gateway.limiter, cast(dict[str, Any], request.scope), address)
    await refuse_nul(request)  # this hook replaces the app's, which would check it


@post(
    "/companies",
    operation_id="adminCreateCompany",
    summary="Create a company",
    security=[{"adminToken": []}],
    responses={**problems(400, 401, 409, 413, 422), **TOO_MANY_FAILURES},
)
async def create_company(data: JSONBody[CompanyBootstrap]) -> BootstrapResult:
    """Creates a company, its first owner and the owner's first API key (shown once)."""
    result = await bootstrap_company(data)
    return BootstrapResult(company=result.company, owner=result.owner, api_key=result.api_key)


@patch(
    "/companies/{company_id:str}",
    operation_id="adminUpdateCompany",
    summary="Link a company to its billing customer",
    security=[{"adminToken": []}],
    responses={**problems(400, 401, 404, 409, 413, 422), **TOO_MANY_FAILURES},
)
async def update_company(company_id: FromPath[str], data: JSONBody[CompanyBillingLink]) -> Company:
    """Sets the company's `billing_customer_id`, which decides the company that payment
    events change; `null` unlinks it (to move a customer linked by mistake), leaving its plan
    and subscription status as they are. Tenants cannot set it. `404` for an unknown company,
    `409` (naming that company) when another company has this customer."""
    return await companies.link_billing_customer(company_id, data)


@get(
    "/billing-events",
    operation_id="adminListBillingEvents",
    summary="List payment events",
    security=[{"adminToken": []}],
    responses={**problems(400, 401, 422), **TOO_MANY_FAILURES},
)
async def list_billing_events(
    company_id: FromQuery[str | None] = None, limit: Limit = 50, cursor: Cursor = None
) -> BillingEventPage:
    """Lists received payment events, newest first, with what was done about each
    (applied, stale or ignored, and why) and how often each was delivered."""
    return await billing.list_events(company_id=company_id, limit=limit, cursor=cursor)


def router() -> Router:
    return Router(
        path="/admin/v1",
        route_handlers=[create_company, update_company, list_billing_events],
        before_request=require_admin,
        middleware=[TransactionMiddleware],
        tags=["operator"],
    )
