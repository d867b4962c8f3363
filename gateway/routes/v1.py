"""The `/v1` router: authentication first, then one transaction around the handler."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.di import Provide

from gateway.auth import provide_actor
from gateway.responses import actor_of
from gateway.routes import agents, api_keys, company, contacts, deals, me, tasks, teams
from gateway.transaction import TransactionMiddleware


async def authenticate_request(request: Request[Any, Any, Any]) -> None:
    # Before the body is read: a caller without a valid key learns nothing else.
    request.state["actor"] = await provide_actor(request)


def router() -> Router:
    return Router(
        path="/v1",
        route_handlers=[
            *me.ROUTES,
            *company.ROUTES,
            *teams.ROUTES,
            *agents.ROUTES,
            *api_keys.ROUTES,
            *contacts.ROUTES,
            *deals.ROUTES,
            *tasks.ROUTES,
        ],
        before_request=authenticate_request,
        middleware=[TransactionMiddleware],
        dependencies={"actor": Provide(actor_of, sync_to_thread=False)},
        security=[{"apiKey": []}],
    )
