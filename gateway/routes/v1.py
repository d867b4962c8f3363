"""The `/v1` router: every route behind the gateway's front door (`gateway.pipeline`)."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide

from gateway.pipeline import GatewayMiddleware
from gateway.responses import actor_of
from gateway.routes import agents, api_keys, company, contacts, deals, email, me, tasks, teams


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
            *email.ROUTES,
        ],
        middleware=[GatewayMiddleware],  # type: ignore[list-item]
        dependencies={"actor": Provide(actor_of, sync_to_thread=False)},
        security=[{"apiKey": []}],
    )
