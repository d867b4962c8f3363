"""`/v1/deals`: deals moving through the pipeline."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from crm.deals import service
from crm.deals.schemas import Deal, DealCreate, DealPage, DealUpdate, Stage
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

DealStage = Annotated[Stage | None, QueryParameter(description="Only deals in this stage.")]
Sort = Annotated[str | None, sort_parameter(list(service.SORTS), "-created_at")]


@get("/deals", operation_id="listDeals", summary="List deals", responses=LIST)
async def list_deals(
    actor: CurrentActor,
    stage: DealStage = None,
    owner_id: FromQuery[str | None] = None,
    contact_id: FromQuery[str | None] = None,
    sort: Sort = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DealPage:
    """Lists the deals the caller may see, filtered by stage, owner or contact."""
    return await service.list_deals(
        actor,
        stage=stage,
        owner_id=owner_id,
        contact_id=contact_id,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


@post(
    "/deals",
    operation_id="createDeal",
    summary="Create a deal",
    responses=CREATE,
    response_headers=[LOCATION, ETAG],
)
async def create_deal(actor: CurrentActor, data: JSONBody[DealCreate]) -> Response[Deal]:
    """Creates a deal, owned by the caller unless `owner_id` names another agent."""
    deal = await service.create_deal(actor, data)
    return created(deal, f"/v1/deals/{deal.id}")


@get(
    "/deals/{deal_id:str}",
    operation_id="getDeal",
    summary="Get a deal",
    responses=READ_ONE,
    response_headers=[ETAG],
)
async def get_deal(actor: CurrentActor, deal_id: FromPath[str]) -> Response[Deal]:
    """Returns one deal the caller may see."""
    return with_etag(await service.get_deal(actor, deal_id))


@patch(
    "/deals/{deal_id:str}",
    operation_id="updateDeal",
    summary="Update a deal",
    responses=UPDATE,
    response_headers=[ETAG],
)
async def update_deal(
    actor: CurrentActor,
    deal_id: FromPath[str],
    data: JSONBody[DealUpdate],
    if_match: IfMatch = None,
) -> Response[Deal]:
    """Changes a deal; moving into `won` or `lost` sets `closed_at`, moving out clears it."""
    deal = await service.update_deal(
        actor, deal_id, data, expected_version=expected_version(if_match)
    )
    return with_etag(deal)


@delete(
    "/deals/{deal_id:str}",
    operation_id="deleteDeal",
    summary="Delete a deal",
    responses=DELETE,
)
async def delete_deal(actor: CurrentActor, deal_id: FromPath[str]) -> None:
    """Deletes a deal; its tasks stay, without a deal."""
    await service.delete_deal(actor, deal_id)


ROUTES = [list_deals, create_deal, get_deal, update_deal, delete_deal]
